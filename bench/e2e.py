"""End-to-end runs: the fake Bot API server, a bot and the load generator, each its own process.

* :func:`closed_loop` — N users each finish the dialog, pressing the next button as soon as
  the reply is done; run against our bot (``python bot.py``) and against the floor.
* :func:`open_loop` — updates offered at a fixed rate, whatever the latency.
* :func:`memory` — the bot with 10,000 stored sessions, each of those users sending ``/start``;
  the bot's RSS, then the bytes per session in SQLite.
* :func:`closed_loop_instances` — the closed loop against several of ours in webhook mode on
  one PostgreSQL schema, the fake balancing its webhook deliveries over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp

from advisor import Knowledge

from . import storage
from .load import Driver, OpenLoopPlan, SimUser, figures, run_closed, run_open
from .pg import BackendMeter, Database
from .processes import (
    Child,
    Children,
    aiogram_floor_argv,
    baseline_bot_argv,
    floor_bot_argv,
    our_bot_argv,
    pg_probe_argv,
    raw_floor_argv,
    wait_until_polling,
)

FIRST_USER_ID = 700_000_001
DROPPED_KEYBOARD_NOT_FOUND = "editMessageReplyMarkup 400 Bad Request: message to edit not found"
LOG_ERROR_RE = re.compile(r"\b(ERROR|CRITICAL)\b|^Traceback", re.MULTILINE)


@dataclass
class Setup:
    """A running fake and bot, and a driver reading the bot's calls from its first poll on."""

    fake: Child
    bot: Child
    url: str
    http: aiohttp.ClientSession
    driver: Driver
    state_db: Path


#: Bots with our logic, whose results can be checked against the advisor core.
LOGIC = frozenset({"ours", "baseline"})


@asynccontextmanager
async def running(
    kind: str,
    knowledge: Knowledge,
    work: Path,
    state_db: Path | None = None,
    latency_ms: float = 0.0,
    database: Database | None = None,
    **env: str,
) -> AsyncIterator[Setup]:
    """Start the fake and a bot (``ours``, ``baseline``, ``floor``, ``aiogram`` or ``raw``).

    Both are stopped at the end.

    ``env`` adds settings for the bot (``ADMIN_IDS=...``); ``latency_ms`` is the fake's
    simulated round trip; ``database`` runs ours on PostgreSQL, under bench/pg_probe.py.
    """
    state_db = state_db or work / "state.sqlite3"
    async with Children(work) as children, _control_client() as http:
        fake, url = await children.fake(latency_ms=latency_ms)
        if kind == "ours" and database is not None:
            argv = pg_probe_argv(work)
            env = {**env, **database.environment()}
        elif kind == "ours":
            argv = our_bot_argv(work)
        elif kind == "baseline":
            argv = baseline_bot_argv()
        elif kind == "aiogram":
            argv = aiogram_floor_argv()
        elif kind == "raw":
            argv = raw_floor_argv()
        else:
            argv = floor_bot_argv()
        bot = await children.bot(kind, argv, url, STATE_DB=str(state_db), **env)
        since = await wait_until_polling(http, url, bot)
        yield Setup(fake, bot, url, http, Driver(http, url, knowledge, since=since), state_db)


def _control_client() -> aiohttp.ClientSession:
    """The load generator's client of the fake's control API."""
    timeout = aiohttp.ClientTimeout(total=60)
    return aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=8))


class Meter:
    """CPU seconds the bot, the fake and this process spend during a run."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.bot0 = setup.bot.usage().cpu_seconds or 0.0
        self.fake0 = setup.fake.usage().cpu_seconds or 0.0
        self.own0 = time.process_time()
        self.wall0 = time.perf_counter()

    def read(self, updates: int) -> dict[str, Any]:
        bot = (self.setup.bot.usage().cpu_seconds or 0.0) - self.bot0
        fake = (self.setup.fake.usage().cpu_seconds or 0.0) - self.fake0
        own = time.process_time() - self.own0
        wall = time.perf_counter() - self.wall0
        per_update = (lambda s: round(s / updates * 1000, 3)) if updates else (lambda s: None)
        return {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": {"bot": round(bot, 2), "fake": round(fake, 2), "load": round(own, 2)},
            "cpu_ms_per_update": {"bot": per_update(bot), "fake": per_update(fake)},
            "bot_cpu_utilisation": round(bot / wall, 2) if wall else None,
        }


async def finish(setup: Setup, fig: dict[str, Any], check: bool) -> dict[str, Any]:
    """Stop the bot; add its memory, exit code and every error seen to the figures."""
    summary = await setup.driver.summary()
    code = await setup.bot.stop()
    log = setup.bot.log_text()
    log_errors = LOG_ERROR_RE.findall(log)
    fig["bot"] = {**setup.bot.final_usage.as_dict(), "exit_code": code}
    _errors(fig, summary, setup.driver, log_errors=len(log_errors), bad_exits=int(code != 0))
    if log_errors or code != 0:
        fig["bot_log_tail"] = log[-4000:]
    if not check:
        fig["misordered"] = None
    return fig


def _errors(
    fig: dict[str, Any], summary: dict[str, Any], driver: Driver, *, log_errors: int, bad_exits: int
) -> None:
    """Every error seen in a run, by kind (``error_parts``) and in all (``errors``)."""
    fig["fake_summary"] = {k: v for k, v in summary.items() if k != "now"}
    tolerated = driver.tolerated
    error_parts = {
        "failed_calls": sum(v for k, v in summary["failed_calls"].items() if k not in tolerated),
        "fake_internal_errors": summary["internal_errors"],
        "unanswered_callback_queries": summary["unanswered_callback_queries"],
        "stray_calls": fig["stray_calls"],
        "user_problems": fig["protocol_errors"],
        "bot_log_errors": log_errors,
        "bot_exit_code": bad_exits,
    }
    fig["error_parts"] = error_parts
    fig["errors"] = sum(error_parts.values())


async def closed_loop(
    kind: str,
    knowledge: Knowledge,
    work: Path,
    users: int,
    seed: int,
    time_limit: float,
    latency_ms: float = 0.0,
    database: Database | None = None,
    **env: str,
) -> dict[str, Any]:
    """``users`` users at once, each finishing the dialog as fast as the bot lets them.

    ``env`` configures the bot (``MAX_CONCURRENT_UPDATES``, ``FLOOR_CONCURRENT_UPDATES``);
    ``database``: ours on PostgreSQL, with the per-update database cost in ``database``.
    """
    check = kind in LOGIC
    async with running(
        kind, knowledge, work, latency_ms=latency_ms, database=database, **env
    ) as setup:
        sims = [SimUser(FIRST_USER_ID + i, seed * 1_000_003 + i) for i in range(users)]
        meter = Meter(setup)
        db_meter = BackendMeter(database, setup.bot) if database is not None else None
        await run_closed(setup.driver, sims, concurrency=users, time_limit=time_limit)
        fig = figures(setup.driver, check_results=check)
        fig["resources"] = meter.read(fig["updates"])
        fig["bot_api_calls_per_update"] = calls_per_update(fig)
        if db_meter is not None:
            db_meter.stop()
        fig = await finish(setup, fig, check=check)
    if db_meter is not None:
        fig["database"] = await db_meter.read(fig["updates"])
    elif check:
        fig["storage_after"] = storage.measure(setup.state_db)
    fig["kind"] = kind
    fig["latency_ms_simulated"] = latency_ms
    fig["env"] = env
    return fig


def calls_per_update(fig: dict[str, Any]) -> float | None:
    """Bot API calls the bot made per update (getUpdates and getMe left out)."""
    updates = fig["updates"]
    return round(fig["reply_calls"] / updates, 2) if updates else None


async def open_loop(
    kind: str,
    knowledge: Knowledge,
    work: Path,
    plan: OpenLoopPlan,
    seed: int,
    database: Database | None = None,
) -> dict[str, Any]:
    """Updates offered to a bot (``ours`` or ``floor``) at a fixed rate for a fixed time."""
    check = kind in LOGIC
    async with running(
        kind, knowledge, work, latency_ms=plan.latency_ms, database=database
    ) as setup:
        ids = itertools.count(FIRST_USER_ID)

        def make_user() -> SimUser:
            user_id = next(ids)
            return SimUser(user_id, seed * 1_000_003 + user_id)

        meter = Meter(setup)
        db_meter = BackendMeter(database, setup.bot) if database is not None else None
        offered = await run_open(setup.driver, make_user, plan)
        fig = figures(setup.driver, check_results=check)
        fig["resources"] = meter.read(fig["updates"])
        if db_meter is not None:
            db_meter.stop()
        fig["offered"] = offered
        fig["plan"] = {
            "rate": plan.rate,
            "duration": plan.duration,
            "active_users": plan.active_users,
        }
        fig = await finish(setup, fig, check=check)
    if db_meter is not None:
        fig["database"] = await db_meter.read(fig["updates"])
    fig["kind"] = kind
    return fig


async def memory(
    knowledge: Knowledge, work: Path, sessions: int, concurrency: int, time_limit: float
) -> dict[str, Any]:
    """The bot with ``sessions`` stored sessions, every one of those users sending /start.

    Each stored session names the message with its live buttons, as the bot's do; the bot
    takes those buttons away when it sends a new question. That message lives in the real
    Telegram, not in this fresh fake, so the fake answers "message to edit not found", which
    the bot tolerates (it logs it at DEBUG); those calls are counted apart, not as errors.
    """
    state_db = work / "state.sqlite3"
    started = time.perf_counter()
    filled = await storage.prefill(state_db, knowledge, sessions)
    filled_in = time.perf_counter() - started
    before = storage.measure(state_db)
    async with running("ours", knowledge, work, state_db) as setup:
        setup.driver.tolerated[DROPPED_KEYBOARD_NOT_FOUND] = 0
        idle = setup.bot.usage()
        sims = [SimUser(uid, uid, max_presses=0) for uid in storage.user_ids(sessions)]
        meter = Meter(setup)
        await run_closed(setup.driver, sims, concurrency=concurrency, time_limit=time_limit)
        fig = figures(setup.driver, check_results=False)
        fig["resources"] = meter.read(fig["updates"])
        served = setup.bot.usage()
        fig = await finish(setup, fig, check=False)
    fig["prefill"] = {**filled, "seconds": round(filled_in, 2)}
    fig["rss_mb_idle_before_traffic"] = idle.as_dict()["rss_mb"]
    fig["rss_mb_after_serving_all"] = served.as_dict()["rss_mb"]
    fig["peak_rss_mb"] = served.as_dict()["peak_rss_mb"]
    fig["storage_prefilled"] = before
    fig["storage"] = storage.measure(state_db)
    return fig


# -- several instances in webhook mode, behind the fake's balancer ------------------------------

#: The secret the fake sends with each webhook delivery (X-Telegram-Bot-Api-Secret-Token).
WEBHOOK_SECRET = "bench-webhook-secret"


@dataclass
class Instances:
    """A running fake and ``len(bots)`` bots in webhook mode on one PostgreSQL schema."""

    fake: Child
    bots: list[Child]
    databases: list[Database]
    url: str
    http: aiohttp.ClientSession
    driver: Driver


@asynccontextmanager
async def running_instances(
    knowledge: Knowledge, work: Path, database: Database, instances: int, latency_ms: float
) -> AsyncIterator[Instances]:
    """The fake, and ``instances`` of ours in webhook mode (each under bench/pg_probe.py, with
    probe files of its own) on one schema; the fake balances its webhook deliveries over
    them round-robin. Started one at a time (the first applies the schema); all stopped at
    the end."""
    async with Children(work) as children, _control_client() as http:
        fake, url = await children.fake(latency_ms=latency_ms)
        hook = f"http://127.0.0.1:{free_port()}/hook"  # the balancer's address: nothing listens
        bots: list[Child] = []
        databases: list[Database] = []
        targets: list[str] = []
        for n in range(instances):
            own = replace(database, work=database.work / f"instance-{n}")
            own.work.mkdir(parents=True, exist_ok=True)
            port = free_port()
            env = {
                **own.environment(),
                "MODE": "webhook",
                "WEBHOOK_URL": hook,
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "LISTEN": "127.0.0.1",
                "PORT": str(port),
            }
            bot = await children.bot(f"ours-{n}", pg_probe_argv(work), url, **env)
            await wait_until_ready(http, port, bot)
            bots.append(bot)
            databases.append(own)
            targets.append(f"http://127.0.0.1:{port}/hook")
        async with http.post(f"{url}/_fake/balance", json={"urls": targets}) as response:
            response.raise_for_status()
        async with http.get(f"{url}/_fake/summary") as response:
            since = int((await response.json())["result"]["calls"])
        yield Instances(fake, bots, databases, url, http, Driver(http, url, knowledge, since=since))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_ready(
    http: aiohttp.ClientSession, port: int, child: Child, time_limit: float = 30.0
) -> None:
    """Wait until a bot in webhook mode answers its readiness check (its database too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    while loop.time() < deadline:
        if child.process.returncode is not None:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_text()[-3000:]}")
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} did not get ready:\n{child.log_text()[-3000:]}")


async def closed_loop_instances(
    knowledge: Knowledge,
    work: Path,
    database: Database,
    *,
    instances: int,
    users: int,
    seed: int,
    time_limit: float,
    latency_ms: float = 0.0,
) -> dict[str, Any]:
    """The closed loop against ``instances`` of ours in webhook mode on one PostgreSQL schema:
    throughput, latencies, correctness as for one instance; CPU per update of all the bots
    together, and the database cost per update of all of them (``database``)."""
    async with running_instances(knowledge, work, database, instances, latency_ms) as setup:
        sims = [SimUser(FIRST_USER_ID + i, seed * 1_000_003 + i) for i in range(users)]
        cpu0 = [bot.usage().cpu_seconds or 0.0 for bot in setup.bots]
        fake0 = setup.fake.usage().cpu_seconds or 0.0
        wall0 = time.perf_counter()
        pairs = zip(setup.databases, setup.bots, strict=True)
        meters = [BackendMeter(db, bot) for db, bot in pairs]
        await run_closed(setup.driver, sims, concurrency=users, time_limit=time_limit)
        fig = figures(setup.driver, check_results=True)
        wall = time.perf_counter() - wall0
        bots_cpu = [
            (bot.usage().cpu_seconds or 0.0) - before
            for bot, before in zip(setup.bots, cpu0, strict=True)
        ]
        fake_cpu = (setup.fake.usage().cpu_seconds or 0.0) - fake0
        updates = fig["updates"]
        per = (lambda s: round(s / updates * 1000, 3)) if updates else (lambda s: None)
        fig["resources"] = {
            "wall_seconds": round(wall, 2),
            "cpu_seconds": {"bots": [round(c, 2) for c in bots_cpu], "fake": round(fake_cpu, 2)},
            "cpu_ms_per_update": {"bot": per(sum(bots_cpu)), "fake": per(fake_cpu)},
            "bot_cpu_utilisation": round(sum(bots_cpu) / wall, 2) if wall else None,
        }
        fig["bot_api_calls_per_update"] = calls_per_update(fig)
        for meter in meters:
            meter.stop()
        fig = await finish_instances(setup, fig)
    each = [await meter.read(updates) for meter in meters]
    fig["database"] = _database_total(each, updates)
    fig["database_per_instance"] = each
    fig["kind"] = "ours"
    fig["instances"] = instances
    fig["mode"] = "webhook"
    fig["latency_ms_simulated"] = latency_ms
    return fig


async def finish_instances(setup: Instances, fig: dict[str, Any]) -> dict[str, Any]:
    """As :func:`finish`, for every instance: stopped, their logs and exit codes checked."""
    summary = await setup.driver.summary()
    codes = [await bot.stop() for bot in setup.bots]
    logs = [bot.log_text() for bot in setup.bots]
    log_errors = [found for log in logs for found in LOG_ERROR_RE.findall(log)]
    fig["bots"] = [
        {**bot.final_usage.as_dict(), "exit_code": code}
        for bot, code in zip(setup.bots, codes, strict=True)
    ]
    bad_exits = sum(int(code != 0) for code in codes)
    _errors(fig, summary, setup.driver, log_errors=len(log_errors), bad_exits=bad_exits)
    if log_errors or any(codes):
        fig["bot_log_tails"] = [log[-2000:] for log in logs]
    return fig


def _database_total(each: list[dict[str, Any]], updates: int) -> dict[str, Any]:
    """The probes' counts of every instance added up, per update."""

    def total(key: str) -> float:
        return float(sum(found.get(key) or 0 for found in each))

    def per(value: float, scale: float = 1.0) -> float | None:
        return round(value / updates * scale, 3) if updates else None

    statements, units, singles = total("statements"), total("units"), total("single_statements")
    server_cpu = total("server_cpu_seconds")
    mean_ms = [
        (found["statement_ms_mean"], found["statements"])
        for found in each
        if found.get("statement_ms_mean") is not None
    ]
    weight = sum(n for _, n in mean_ms)
    return {
        "statements": int(statements),
        "statements_per_update": per(statements),
        "statement_ms_mean": round(sum(m * n for m, n in mean_ms) / weight, 3) if weight else None,
        "units": int(units),
        "units_per_update": per(units),
        "single_statements": int(singles),
        "transactions_per_update": per(units + singles),
        "server_backends": int(total("server_backends")),
        "server_cpu_seconds": round(server_cpu, 2),
        "server_cpu_ms_per_update": per(server_cpu, 1000),
    }
