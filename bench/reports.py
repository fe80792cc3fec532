"""Reports at size: ``/stats`` and ``/export`` on a big database while users go through the dialog.

The state database is pre-filled (100,000 sessions and 500,000 events by default, see
:func:`bench.storage.prefill`), then the fake and ``python bot.py`` start with ``ADMIN_IDS``
naming one admin. N simulated users press through the dialog in a closed loop (a user who
finishes is replaced by a new one) for the whole run:

1. a warm-up, not counted;
2. the **baseline**: users alone, for a few seconds;
3. the **reports**: the admin sends ``/stats`` K times, then ``/export`` K times, one after
   another in its private chat, each time waiting for the reply (for ``/stats`` its funnel
   picture, sent after the text, for ``/export`` the ``sendDocument``).

A user's update counts **during** a report when the span from its being queued to its first
reply overlaps the span from the report's command being queued to its reply. The figure of
merit is the **added delay**: the users' p99 latency during a kind of report minus their p99
in the baseline. A report's **time** is from its command being queued to the reply call (both
on the fake's clock). After the run the last export is downloaded from the fake and checked to
hold every pre-filled session and lead, and the last ``/stats`` to count at least the
pre-filled dialogs started in the last 30 days.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import os
import re
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from advisor import Knowledge
from dialogs import stats
from fake_telegram import TgChat, TgUser
from fake_telegram import updates as u

from . import storage
from .e2e import Meter, finish, running
from .load import IGNORED_METHODS, JSON, Driver, SimUser, Step, figures, latency_ms
from .processes import TOKEN

ADMIN_ID = 600_000_001
FIRST_USER_ID = 710_000_001
STATS, EXPORT = "stats", "export"
#: The admin's command menu, set at start-up for a chat that does not exist yet.
ADMIN_MENU_NO_CHAT = "setMyCommands 400 Bad Request: chat not found"
#: How long the admin waits for one report's reply before counting it lost.
REPORT_TIMEOUT = 120.0
#: How long in-flight user updates may take to finish after the last report.
DRAIN = 60.0


@dataclass
class ReportPlan:
    sessions: int
    events: int
    users: int
    repeats: int
    warmup: float
    baseline: float
    #: The pre-filled sessions were saved over this many days (under the 30-day session TTL).
    spread_days: float = 29.0


@dataclass
class Report:
    """One admin command and its reply."""

    command: str
    posted_at: float = 0.0
    queued_at: float | None = None
    first_reply: float | None = None
    done_at: float | None = None
    texts: list[str] = field(default_factory=list)
    document: JSON | None = None
    problems: list[str] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seconds(self) -> float | None:
        if self.queued_at is None or self.done_at is None:
            return None
        return self.done_at - self.queued_at

    def as_dict(self) -> dict[str, Any]:
        seconds = self.seconds
        return {
            "command": self.command,
            "ms": None if seconds is None else round(seconds * 1000, 1),
            "first_reply_ms": _ms_between(self.queued_at, self.first_reply),
            "messages": len(self.texts),
            "document_bytes": (self.document or {}).get("file_size"),
            "problems": self.problems,
        }


class Admin:
    """The admin in a private chat with the bot: sends a command, waits for its reply."""

    def __init__(self, http: aiohttp.ClientSession, api_url: str, knowledge: Knowledge) -> None:
        self.http = http
        self.api_url = api_url
        self.user = TgUser(ADMIN_ID, "Admin", username="bench_admin")
        self.chat = TgChat.private(self.user)
        self.last_window = knowledge.text("admin.stats_window", count=max(stats.WINDOWS))
        self.pending: Report | None = None
        self.reports: list[Report] = []
        self.stray: list[str] = []
        self._message_ids = itertools.count(1)

    async def ask(self, command: str, timeout: float = REPORT_TIMEOUT) -> Report:  # noqa: ASYNC109
        report = Report(command, posted_at=asyncio.get_running_loop().time())
        self.pending = report
        self.reports.append(report)
        message = u.text_message(next(self._message_ids), self.user, self.chat, f"/{command}")
        async with self.http.post(
            f"{self.api_url}/_fake/updates", json=[u.message_update(message)]
        ) as response:
            body = await response.json()
        report.queued_at = float(body["queued_at"][0])
        try:
            await asyncio.wait_for(report.finished.wait(), timeout)
        except TimeoutError:
            report.problems.append(f"no reply to /{command} within {timeout:g} s")
        self.pending = None
        return report

    def handle(self, call: JSON) -> None:
        """A Bot API call to the admin's chat."""
        method, status = call["method"], call["status"]
        if method in IGNORED_METHODS and status == 200:
            return
        report = self.pending
        if report is None or report.finished.is_set():
            self.stray.append(f"{method} {status} to the admin, who waited for nothing")
            return
        if report.first_reply is None:
            report.first_reply = float(call["time"])
        if status != 200:
            report.problems.append(f"{method} {status} {call.get('description')}")
            report.finished.set()
            return
        message = call.get("message") or {}
        if report.command == STATS and method == "sendMessage":
            report.texts.append(str(message.get("text", "")))
        elif report.command == STATS and method == "sendPhoto" and "photo" in message:
            self._done(report, call)  # the funnel picture, after the text's last window
        elif report.command == EXPORT and method == "sendDocument" and "document" in message:
            report.document = message["document"]
            self._done(report, call)
        else:
            text = str(message.get("text", message.get("caption", "")))
            report.problems.append(f"unexpected {method} to /{report.command}: {text[:80]!r}")
            report.finished.set()

    @staticmethod
    def _done(report: Report, call: JSON) -> None:
        report.done_at = float(call["time"])
        report.finished.set()


class ReportsDriver(Driver):
    """The users' driver, handing the admin's calls to :class:`Admin`."""

    admin: Admin

    def handle(self, call: JSON) -> None:
        if call.get("chat_id") == ADMIN_ID:
            self.admin.handle(call)
        else:
            super().handle(call)


async def drive_users(
    driver: Driver, make_user: Callable[[], SimUser], users: int, stop: asyncio.Event
) -> None:
    """Closed loop until ``stop``: ``users`` in a dialog at once, a finished one replaced."""

    def on_done(user: SimUser) -> None:
        if stop.is_set() or driver.enqueue_next(user):
            return
        driver.enqueue_start(make_user())

    driver.on_done = on_done
    for _ in range(users):
        driver.enqueue_start(make_user())
    await driver.flush()
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    while True:
        if stop.is_set():
            deadline = deadline or loop.time() + DRAIN
            if driver.in_flight <= 0 or loop.time() > deadline:
                break
        await driver.pump(0.2)
        driver.expire(loop.time())
        await driver.flush()
    driver.on_done = lambda user: None
    driver.expire(loop.time(), timeout=0.0)


async def run(knowledge: Knowledge, work: Path, plan: ReportPlan, seed: int) -> dict[str, Any]:
    """Pre-fill, start the fake and the bot, and time the reports against the users' replies."""
    state_db = work / "state.sqlite3"
    started = time.perf_counter()
    filled: dict[str, Any] = dict(
        await storage.prefill(
            state_db, knowledge, plan.sessions, events=plan.events, spread_days=plan.spread_days
        )
    )
    filled["seconds"] = round(time.perf_counter() - started, 2)
    before = storage.measure(state_db)
    expected = _expected(state_db)
    load_before = os.getloadavg()
    async with running("ours", knowledge, work, state_db, ADMIN_IDS=str(ADMIN_ID)) as setup:
        admin = Admin(setup.http, setup.url, knowledge)
        driver = ReportsDriver(setup.http, setup.url, knowledge, since=setup.driver.since)
        # The benchmark's admin never opened a chat with the bot, so Telegram (and the fake)
        # refuse the admin's own command menu at start-up; the bot logs it and goes on.
        driver.tolerated[ADMIN_MENU_NO_CHAT] = 0
        driver.admin = admin
        setup.driver = driver
        ids = itertools.count(FIRST_USER_ID)

        def make_user() -> SimUser:
            user_id = next(ids)
            return SimUser(user_id, seed * 1_000_003 + user_id)

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        users = asyncio.create_task(drive_users(driver, make_user, plan.users, stop))
        marks: dict[str, float] = {}
        cpu: dict[str, float | None] = {}
        try:
            await _sleep_or_fail(plan.warmup, users)
            marks["baseline_from"] = await _fake_now(driver)
            meter = Meter(setup)
            await _sleep_or_fail(plan.baseline, users)
            marks["baseline_to"] = await _fake_now(driver)
            cpu["bot_baseline"] = meter.read(1)["bot_cpu_utilisation"]
            meter = Meter(setup)
            for command in (STATS, EXPORT):
                for _ in range(plan.repeats):
                    if users.done():
                        break
                    report = await admin.ask(command)
                    if report.problems:
                        break
            cpu["bot_reports"] = meter.read(1)["bot_cpu_utilisation"]
            cpu["fake_reports"] = _utilisation(meter.read(1), "fake")
        finally:
            stop.set()
            await users
        wall = round(loop.time(), 3)
        fig = figures(driver, check_results=True)
        fig["resources"] = {"cpu_utilisation": cpu}
        checks = await _check_reports(setup.http, setup.url, knowledge, admin, expected)
        fig = await finish(setup, fig, check=True)
    fig.update(_segments(driver, admin, marks))
    fig["reports"] = [r.as_dict() for r in admin.reports]
    fig["report_checks"] = checks
    fig["stats_text"] = next((r.texts for r in admin.reports if r.command == STATS), [])
    admin_problems = sum(len(r.problems) for r in admin.reports) + len(admin.stray)
    admin_problems += len(checks["problems"])
    fig["error_parts"]["admin_problems"] = admin_problems
    fig["errors"] += admin_problems
    fig["admin_stray"] = admin.stray[:5]
    fig["lost_reports"] = sum(1 for r in admin.reports if r.done_at is None)
    fig["lost"] += fig["lost_reports"]
    fig["prefill"] = filled
    fig["expected"] = expected
    fig["storage_prefilled"] = before
    fig["plan"] = vars(plan) | {"ended_at": wall}
    # Other work on the machine skews latencies: the load average before and after the run.
    fig["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return fig


async def _sleep_or_fail(seconds: float, users: asyncio.Task[None]) -> None:
    """Sleep; if the users' loop died meanwhile, raise its error."""
    done, _ = await asyncio.wait({users}, timeout=seconds)
    if done:
        users.result()
        raise RuntimeError("the users' loop ended early")


async def _fake_now(driver: Driver) -> float:
    return float((await driver.summary())["now"])


def _utilisation(read: dict[str, Any], name: str) -> float | None:
    wall = read["wall_seconds"]
    return round(read["cpu_seconds"][name] / wall, 2) if wall else None


def _expected(state_db: Path) -> dict[str, int]:
    """What the reports must at least show: pre-filled sessions, leads, recent starts."""
    since = int(time.time() - max(stats.WINDOWS) * stats.DAY)
    db = sqlite3.connect(str(state_db))
    try:
        sessions = int(db.execute("SELECT count(*) FROM sessions").fetchone()[0])
        leads = int(db.execute("SELECT count(*) FROM leads").fetchone()[0])
        started = db.execute(
            "SELECT count(*) FROM events WHERE kind = 'started' AND at >= ?", (since,)
        ).fetchone()
    finally:
        db.close()
    return {"sessions": sessions, "leads": leads, "started_30_days": int(started[0])}


async def _check_reports(
    http: aiohttp.ClientSession,
    api_url: str,
    knowledge: Knowledge,
    admin: Admin,
    expected: dict[str, int],
) -> dict[str, Any]:
    """The last /stats counts the pre-filled starts; the last export holds every row."""
    problems: list[str] = []
    found: dict[str, Any] = {"problems": problems}
    stats_reports = [r for r in admin.reports if r.command == STATS and r.done_at is not None]
    if stats_reports:
        text = "\n".join(stats_reports[-1].texts)
        window = text[text.find(admin.last_window) :]
        overall = re.escape(knowledge.text("admin.stats_overall"))
        # Counts from 1,000 on are written with the language's separators ("4,001").
        match = re.search(rf"^{overall}: (\d[\d,.\u00a0 ]*) started", window, re.MULTILINE)
        started = int(re.sub(r"\D", "", match.group(1))) if match else None
        found["stats_started_30_days"] = started
        # Starts near the 30-day edge may have left the window since (a few per minute).
        low = int(expected["started_30_days"] * 0.99)
        if started is None or started < low:
            problems.append(f"/stats shows {started} started in 30 days, expected ≥ {low}")
    documents = [r.document for r in admin.reports if r.command == EXPORT and r.document]
    if documents:
        rows = await _download_rows(http, api_url, str(documents[-1]["file_id"]), knowledge)
        found["export_rows"] = rows
        for kind, key in (("session", "sessions"), ("lead", "leads")):
            if rows.get(kind, 0) < expected[key]:
                problems.append(f"the export has {rows.get(kind, 0)} {kind} rows, {expected[key]}+")
    return found


async def _download_rows(
    http: aiohttp.ClientSession, api_url: str, file_id: str, knowledge: Knowledge
) -> dict[str, int]:
    """Rows of an exported CSV, fetched from the fake like a client would and read like a
    spreadsheet (the English admin's: commas): "session" counts every row (one per session,
    a lead whose session is gone counting as its own), "lead" the rows with a lead."""
    async with http.post(f"{api_url}/bot{TOKEN}/getFile", json={"file_id": file_id}) as response:
        path = (await response.json())["result"]["file_path"]
    async with http.get(f"{api_url}/file/bot{TOKEN}/{path}") as response:
        data = await response.read()
    lead, yes = knowledge.text("admin.export_column.lead"), knowledge.text("admin.export_yes")
    rows = {"session": 0, "lead": 0}
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")):
        rows["session"] += 1
        rows["lead"] += row[lead] == yes
    return rows


def _ms_between(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round((end - start) * 1000, 1)


def _latency(steps: list[Step]) -> dict[str, Any]:
    values = [s.first_reply - s.queued_at for s in steps if s.first_reply and s.queued_at]
    return {"updates": len(values), **latency_ms(values)}


def _segments(driver: Driver, admin: Admin, marks: dict[str, float]) -> dict[str, Any]:
    """The users' latencies in the baseline and while each report ran; the reports' times."""
    steps = [s for s in driver.completed if s.queued_at is not None and s.first_reply is not None]
    lo, hi = marks.get("baseline_from", 0.0), marks.get("baseline_to", 0.0)
    baseline = [s for s in steps if lo <= (s.queued_at or 0.0) < hi]

    def overlapping(report: Report) -> list[Step]:
        start, end = report.queued_at, report.done_at
        if start is None or end is None:
            return []
        return [s for s in steps if (s.queued_at or 0.0) < end and (s.first_reply or 0.0) > start]

    per_report = []
    during: dict[str, dict[int, Step]] = {STATS: {}, EXPORT: {}}
    for report in admin.reports:
        hit = overlapping(report)
        during[report.command].update((id(s), s) for s in hit)
        per_report.append({**report.as_dict(), "users": _latency(hit)})
    base = _latency(baseline)
    result: dict[str, Any] = {"baseline": base, "per_report": per_report}
    for command in (STATS, EXPORT):
        lat = _latency(list(during[command].values()))
        times = [r.seconds for r in admin.reports if r.command == command and r.seconds]
        added = None
        if lat["p99"] is not None and base["p99"] is not None:
            added = round(lat["p99"] - base["p99"], 1)
        result[command] = {
            "report_ms": [round(t * 1000, 1) for t in times],
            "report_median_ms": round(statistics.median(times) * 1000, 1) if times else None,
            "report_max_ms": round(max(times) * 1000, 1) if times else None,
            "users_during": lat,
            "added_p99_ms": added,
        }
    return result
