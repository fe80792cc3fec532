"""The web pages under an open-loop load: ``bot.py --web`` on SQLite, then on PostgreSQL.

The web process is ``python bot.py --web`` (on PostgreSQL through bench/pg_probe.py, which
counts its statements) with a fresh ``STATE_DB`` or schema, ready once ``/healthz`` answers.
Every visitor has an ``X-Forwarded-For`` address of its own and the web process trusts it
(``WEB_TRUST_PROXY=yes``), as behind a reverse proxy: the per-address form limit (60 at once,
then 120 a minute) applies to each visitor, as it does in production, not to the benchmark's
single address.

1. **Prepare** ``visitors`` visitors (default 200), each with its own cookies, as a browser
   without JavaScript: the welcome page, the Start form, then an option (picked by a seeded
   RNG) pressed per question, each form answered 303 and its page fetched. Half go on to the
   result (its share code is collected from the Share button, and its title is checked against
   the advisor core's verdict for the answers pressed), the other half stop mid-dialog, on a
   question.
2. **Load**: one request every 1/rate s (default 100/s for 30 s), sent on schedule whatever the
   earlier ones are doing (open loop), drawn by weight from :data:`MIX`: the result page of a
   finished visitor (``GET /``, with the SVG chart inline: "the chart page"), the question page
   of a visitor mid-dialog, a shared result ``/r/{code}`` (a reader without cookies), its
   ``chart.svg`` and ``chart.png``, and a form post: a visitor mid-dialog, not busy with another
   post, presses an option (``POST /act``) and the 303 is followed to the next page (at the
   result it presses "Start over" next, so the dialogs go round).
3. **Latency** of a request: from its *scheduled* send time to the last byte of its page (for a
   post, of the page the 303 leads to), so a late send or a queue in the client is not hidden.
   **Errors**: a status other than 2xx/3xx, a timeout (``timeout`` s), a connection error, a
   page without what it must have (the chart, the share button, the Open Graph image, a PNG),
   a wrong result during preparation, lines at ERROR in the web process's log, and a non-zero
   exit when it is stopped with SIGINT (Ctrl-C, how ``--web`` says it stops).
4. **CPU per request**: the web process's CPU time (``/proc/<pid>/stat``, user + system) over
   the load, divided by the scheduled requests, and by the HTTP requests (a post is two). On
   PostgreSQL also the statements, transactions and server CPU per HTTP request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import os
import random
import re
import signal
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from advisor import Knowledge, recommend

from .e2e import LOG_ERROR_RE, free_port
from .load import percentile
from .pg import BackendMeter, Database
from .processes import Child, Children, base_env

#: Request kinds of the load and their weights (out of 100).
MIX: tuple[tuple[str, float], ...] = (
    ("result", 30.0),  # GET / of a finished visitor: the result with the SVG chart inline
    ("question", 20.0),  # GET / of a visitor mid-dialog
    ("shared", 15.0),  # GET /r/{code}: a shared result, chart inline, Open Graph tags
    ("chart_svg", 10.0),  # GET /r/{code}/chart.svg
    ("chart_png", 10.0),  # GET /r/{code}/chart.png
    ("act", 15.0),  # POST /act (a button of a visitor mid-dialog), then GET the 303's page
)
P99_TARGET_MS = 50.0
READY_SECONDS = 30.0
STOP_SECONDS = 30.0
WEB_SECRET = "bench-web-secret"
#: The slowest requests listed in the JSON, with when they were due (stalls show as clusters).
SLOWEST = 20

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_BUTTON = re.compile(r'<button name="b" value="([^"]*)"')
_SHARE = re.compile(r'<button name="code" value="(r_[^"]*)"')
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class WebPlan:
    rate: float = 100.0
    duration: float = 30.0
    visitors: int = 200
    #: Of the visitors prepared, the share walked to the result (the others stop mid-dialog).
    finished_share: float = 0.5
    #: A request (and, for a post, the page it leads to) taking longer is a timeout.
    timeout: float = 10.0
    #: Visitors walked through the dialog at once while preparing.
    prepare_at_once: int = 20
    mix: tuple[tuple[str, float], ...] = MIX


class PageError(Exception):
    """An answer that is not what the page must be (counted as an error of its kind)."""

    def __init__(self, part: str, detail: str) -> None:
        super().__init__(detail)
        self.part = part


@dataclass
class Visitor:
    """One browser: its cookies, address and the page it is on."""

    number: int
    rng: random.Random
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None
    options: list[str] = field(default_factory=list)
    restart: str | None = None
    share: str | None = None
    title: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    busy: bool = False

    @property
    def address(self) -> str:
        n = self.number + 1
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    @property
    def finished(self) -> bool:
        return self.share is not None


@dataclass
class Answer:
    status: int
    body: bytes
    location: str | None
    content_type: str


class WebClient:
    """Requests as browsers make them: each visitor's cookies by hand, one connection pool."""

    def __init__(self, base: str, knowledge: Knowledge, timeout: float) -> None:
        self.base = base
        self.knowledge = knowledge
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            connector=aiohttp.TCPConnector(limit=256),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.http_requests = 0
        self.options = {q.id: {o.id for o in q.options} for q in knowledge.questions}
        self.wrong_results = 0

    async def close(self) -> None:
        await self.http.close()

    async def request(
        self,
        method: str,
        path: str,
        visitor: Visitor | None,
        data: dict[str, str] | None = None,
    ) -> Answer:
        headers = {"Accept-Language": "en"}
        if visitor is not None:
            headers["X-Forwarded-For"] = visitor.address
            if visitor.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in visitor.cookies.items())
        self.http_requests += 1
        async with self.http.request(
            method, self.base + path, data=data, headers=headers, allow_redirects=False
        ) as response:
            body = await response.read()
            if visitor is not None:
                for name, morsel in response.cookies.items():
                    if morsel["max-age"] in ("0", 0) or not morsel.coded_value:
                        visitor.cookies.pop(name, None)
                    else:
                        visitor.cookies[name] = morsel.coded_value
            return Answer(
                response.status,
                body,
                response.headers.get("Location"),
                response.headers.get("Content-Type", ""),
            )

    # -- a visitor's pages ------------------------------------------------------------------

    async def page(self, visitor: Visitor, path: str = "/") -> bytes:
        """GET a visitor's page (200 expected) and read what is on it."""
        answer = await self.request("GET", path, visitor)
        if answer.status != 200:
            raise PageError("status", f"GET {path}: {answer.status}")
        self.read(visitor, answer.body)
        return answer.body

    def read(self, visitor: Visitor, body: bytes) -> None:
        text = body.decode("utf-8", errors="replace")
        csrf = _CSRF.search(text)
        if csrf is None:
            raise PageError("wrong_page", "a page without a form token")
        visitor.csrf = csrf.group(1)
        visitor.options, visitor.restart = [], None
        for found in _BUTTON.finditer(text):
            data = html.unescape(found.group(1))
            parts = data.split("|")
            if len(parts) == 5 and parts[4] in self.options.get(parts[3], ()):
                visitor.options.append(data)
            elif parts[-1] == "!":
                visitor.restart = data
        share = _SHARE.search(text)
        visitor.share = html.unescape(share.group(1)) if share else None
        title = _TITLE.search(text)
        visitor.title = html.unescape(title.group(1).strip()) if title else ""
        if visitor.share is not None and "<svg" not in text:
            raise PageError("wrong_page", "a result page without its chart")

    async def post(self, visitor: Visitor, path: str, fields: dict[str, str]) -> bytes:
        """A form of the visitor's page: 303 expected, then the page it leads to."""
        if visitor.csrf is None:
            raise PageError("wrong_page", "no form to send")
        answer = await self.request("POST", path, visitor, {"csrf": visitor.csrf, **fields})
        if answer.status != 303 or not answer.location:
            raise PageError("status", f"POST {path}: {answer.status}")
        return await self.page(visitor, answer.location)

    async def step(self, visitor: Visitor) -> bytes:
        """The visitor's next step: an option of its question, else Start over, else Start."""
        if visitor.options:
            data = visitor.rng.choice(visitor.options)
            _, _, _, question, option = data.split("|")
            body = await self.post(visitor, "/act", {"b": data})
            visitor.answers[question] = option
            if visitor.finished:
                self.check_result(visitor)
            return body
        visitor.answers = {}
        if visitor.restart is not None:
            return await self.post(visitor, "/act", {"b": visitor.restart})
        return await self.post(visitor, "/start", {})

    def check_result(self, visitor: Visitor) -> None:
        """The result's verdict is the advisor core's for the answers pressed."""
        k = self.knowledge
        rec = recommend(k, visitor.answers)
        expected = k.text("summary.verdict", stack=k.text(f"stack.{rec.choice}"))
        if visitor.title != expected:
            self.wrong_results += 1
            raise PageError("wrong_result", f"{visitor.title!r}, expected {expected!r}")


# -- preparing the visitors --------------------------------------------------------------------


async def prepare(
    client: WebClient, plan: WebPlan, seed: int, questions: int
) -> tuple[list[Visitor], Counter[str], list[str]]:
    """Walk ``plan.visitors`` visitors: some to their result, the others to a question."""
    visitors = [Visitor(n, random.Random(seed * 1_000_003 + n)) for n in range(plan.visitors)]
    finishing = round(plan.visitors * plan.finished_share)
    errors: Counter[str] = Counter()
    examples: list[str] = []
    gate = asyncio.Semaphore(plan.prepare_at_once)

    async def walk(visitor: Visitor) -> None:
        to_result = visitor.number < finishing
        presses = questions + 2 if to_result else visitor.rng.randrange(0, max(1, questions - 1))
        async with gate:
            try:
                await client.page(visitor)
                await client.post(visitor, "/start", {})
                for _ in range(presses):
                    if visitor.finished or not visitor.options:
                        break
                    await client.step(visitor)
                if to_result and not visitor.finished:
                    raise PageError("wrong_page", f"no result after {presses} presses")
            except PageError as exc:
                errors[exc.part] += 1
                _example(examples, f"prepare: {exc}")
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                errors["timeout" if isinstance(exc, TimeoutError) else "connection"] += 1
                _example(examples, f"prepare: {type(exc).__name__}: {exc}")

    await asyncio.gather(*(walk(v) for v in visitors))
    return visitors, errors, examples


def _example(examples: list[str], text: str) -> None:
    if len(examples) < 5:
        examples.append(text[:300])


# -- the open loop -----------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    #: When it was due, in seconds from the first request's schedule.
    at: float
    seconds: float
    error: str | None = None


class Load:
    """Requests on schedule, drawn from the mix, over the prepared visitors."""

    def __init__(self, client: WebClient, visitors: list[Visitor], plan: WebPlan, seed: int):
        self.client = client
        self.plan = plan
        self.seed = seed
        self.rng = random.Random(seed + 1)  # the visitors and codes picked
        self.finished = [v for v in visitors if v.finished]
        self.dialog = [v for v in visitors if not v.finished and v.csrf is not None]
        self.codes = sorted({v.share for v in self.finished if v.share})
        self.samples: list[Sample] = []
        self.examples: list[str] = []
        self.fallbacks = 0
        self.dialogs_finished = 0
        self.started = 0.0

    def kinds(self) -> list[str]:
        """The kinds the visitors make possible (no result pages without a finished one...)."""
        possible = {
            "result": bool(self.finished),
            "question": bool(self.dialog),
            "shared": bool(self.codes),
            "chart_svg": bool(self.codes),
            "chart_png": bool(self.codes),
            "act": bool(self.dialog),
        }
        return [kind for kind, _ in self.plan.mix if possible.get(kind)]

    async def run(self) -> dict[str, Any]:
        kinds = self.kinds()
        if not kinds:
            raise RuntimeError("no visitor could be prepared")
        weights = [w for kind, w in self.plan.mix if kind in kinds]
        loop = asyncio.get_running_loop()
        total = max(1, round(self.plan.rate * self.plan.duration))
        schedule = random.Random(self.seed).choices(kinds, weights, k=total)
        interval = 1.0 / self.plan.rate
        tasks: set[asyncio.Task[None]] = set()
        lag = 0.0
        started = self.started = loop.time()
        last = started
        for index, kind in enumerate(schedule):
            due = started + index * interval
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            task = asyncio.create_task(self.one(kind, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            last = loop.time()
        if tasks:
            await asyncio.gather(*tasks)
        offered_for = last - started
        return {
            "requests": total,
            "offered_seconds": round(offered_for, 2),
            "offered_rate": round((total - 1) / offered_for, 1) if offered_for > 0 else None,
            "max_schedule_lag_ms": round(lag * 1000, 1),
            "seconds_to_last_answer": round(loop.time() - started, 2),
            "answered_per_second": round(
                sum(1 for s in self.samples if s.error is None) / (loop.time() - started), 1
            ),
        }

    async def one(self, kind: str, due: float) -> None:
        loop = asyncio.get_running_loop()
        error: str | None = None
        try:
            await self.send(kind)
        except PageError as exc:
            error = exc.part
            _example(self.examples, f"{kind}: {exc}")
        except TimeoutError:
            error = "timeout"
            _example(self.examples, f"{kind}: timeout")
        except (aiohttp.ClientError, OSError) as exc:
            error = "connection"
            _example(self.examples, f"{kind}: {type(exc).__name__}: {exc}")
        self.samples.append(Sample(kind, due - self.started, loop.time() - due, error))

    async def send(self, kind: str) -> None:
        client, rng = self.client, self.rng
        if kind == "act":
            idle = [v for v in self.dialog if not v.busy]
            if idle:
                visitor = rng.choice(idle)
                visitor.busy = True
                try:
                    await client.step(visitor)
                finally:
                    visitor.busy = False
                self.dialogs_finished += int(visitor.finished)
                return
            self.fallbacks += 1  # every visitor mid-dialog is posting: read a page instead
            kind = "question"
        if kind in ("result", "question"):
            visitor = rng.choice(self.finished if kind == "result" else self.dialog)
            answer = await client.request("GET", "/", visitor)
            _expect(answer, "text/html", b'name="csrf"')
            if kind == "result":
                _expect(answer, "text/html", b"<svg", b'name="code"')
            return
        code = rng.choice(self.codes)
        path = {"shared": "", "chart_svg": "/chart.svg", "chart_png": "/chart.png"}[kind]
        answer = await client.request("GET", f"/r/{code}{path}", None)
        if kind == "shared":
            _expect(answer, "text/html", b"<svg", b'property="og:image"')
        elif kind == "chart_svg":
            _expect(answer, "image/svg+xml", b"<svg")
        elif not answer.body.startswith(PNG_MAGIC):
            _expect(answer, "image/png")
            raise PageError("wrong_page", "chart.png is not a PNG")

    def figures(self) -> dict[str, Any]:
        by_kind: dict[str, Any] = {}
        for kind, _ in self.plan.mix:
            mine = [s for s in self.samples if s.kind == kind]
            if mine:
                by_kind[kind] = {
                    "requests": len(mine),
                    "errors": sum(1 for s in mine if s.error),
                    "latency_ms": latencies([s.seconds for s in mine]),
                }
        parts = Counter(s.error for s in self.samples if s.error)
        slowest = sorted(self.samples, key=lambda s: s.seconds, reverse=True)[:SLOWEST]
        return {
            "latency_ms": latencies([s.seconds for s in self.samples]),
            "by_kind": by_kind,
            "load_errors": dict(parts),
            "error_examples": self.examples,
            "slowest": [
                {"kind": s.kind, "at_s": round(s.at, 2), "ms": round(s.seconds * 1000, 1)}
                for s in slowest
            ],
            "act_fallbacks": self.fallbacks,
            "dialogs_finished_during_load": self.dialogs_finished,
            "share_codes": len(self.codes),
        }


def _expect(answer: Answer, content_type: str, *within: bytes) -> None:
    if answer.status != 200:
        raise PageError("status", f"status {answer.status}")
    if not answer.content_type.startswith(content_type):
        raise PageError("wrong_page", f"content type {answer.content_type!r}")
    for needle in within:
        if needle not in answer.body:
            raise PageError("wrong_page", f"no {needle.decode()!r} on the page")


def latencies(seconds: list[float]) -> dict[str, float | None]:
    ordered = sorted(seconds)

    def ms(p: float) -> float | None:
        found = percentile(ordered, p)
        return None if found is None else round(found * 1000, 1)

    return {
        "p50": ms(50),
        "p90": ms(90),
        "p99": ms(99),
        "max": None if not ordered else round(ordered[-1] * 1000, 1),
    }


def _now() -> str:
    """The wall clock, to match a stall with the server's logs."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _load_average() -> list[float] | None:
    """Other work on the machine skews a p99: the load average says how busy it was."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


# -- one run -----------------------------------------------------------------------------------


def web_argv(work: Path, database: Database | None) -> list[str]:
    """``bot.py --web`` reading no .env file (on PostgreSQL under bench/pg_probe.py)."""
    python = os.environ.get("BENCH_BOT_PYTHON", sys.executable)
    start = [python, "-m", "bench.pg_probe"] if database is not None else [python, "bot.py"]
    return [*start, "--env-file", str(work / "no.env"), "--web"]


async def wait_until_healthy(base: str, child: Child, time_limit: float = READY_SECONDS) -> None:
    """Poll ``/healthz`` until it answers 200 (the store is open by then)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while loop.time() < deadline:
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited early:\n{child.log_text()[-3000:]}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{child.name} did not answer /healthz:\n{child.log_text()[-3000:]}")


async def stop(child: Child) -> int:
    """Ctrl-C (SIGINT), as ``--web`` says it stops; SIGTERM, then SIGKILL if it hangs."""
    if child.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGINT)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.process.wait(), STOP_SECONDS)
    return await child.stop()


async def run(
    knowledge: Knowledge,
    work: Path,
    plan: WebPlan,
    seed: int,
    database: Database | None = None,
) -> dict[str, Any]:
    """Start ``bot.py --web`` (SQLite in ``work``, or ``database``), prepare the visitors,
    run the open loop; the figures."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "STATE_DB": str(work / "state.sqlite3"),
        "WEB_LISTEN": "127.0.0.1",
        "WEB_PORT": str(port),
        "WEB_TRUST_PROXY": "yes",
        "SHARE_SECRET": WEB_SECRET,
        "LOG_LEVEL": os.environ.get("BENCH_BOT_LOG_LEVEL", "INFO"),
        **(database.environment() if database is not None else {}),
    }
    fig: dict[str, Any] = {
        "storage": "postgresql" if database is not None else "sqlite",
        "plan": {k: v for k, v in asdict(plan).items() if k != "mix"},
        "mix": dict(plan.mix),
    }
    async with Children(work) as children:
        child = await children.spawn("web", web_argv(work, database), base_env(**env))
        began = time.perf_counter()
        await wait_until_healthy(base, child)
        fig["ready_seconds"] = round(time.perf_counter() - began, 2)
        client = WebClient(base, knowledge, plan.timeout)
        try:
            began = time.perf_counter()
            visitors, prepare_errors, examples = await prepare(
                client, plan, seed, len(knowledge.questions)
            )
            fig["prepared"] = {
                "visitors": len(visitors),
                "finished": sum(1 for v in visitors if v.finished),
                "mid_dialog": sum(1 for v in visitors if not v.finished and v.csrf),
                "http_requests": client.http_requests,
                "seconds": round(time.perf_counter() - began, 2),
                "errors": dict(prepare_errors),
                "wrong_results": client.wrong_results,
            }
            load = Load(client, visitors, plan, seed)
            meter = BackendMeter(database, child) if database is not None else None
            cpu0 = child.usage().cpu_seconds or 0.0
            own0 = time.process_time()
            http0 = client.http_requests
            wall0 = time.perf_counter()
            fig["machine"] = {"cpus": os.cpu_count(), "load_average_before": _load_average()}
            fig["load_started_at"] = _now()
            fig["offered"] = await load.run()
            wall = time.perf_counter() - wall0
            fig["machine"]["load_average_after"] = _load_average()
            cpu = (child.usage().cpu_seconds or 0.0) - cpu0
            own = time.process_time() - own0
            http = client.http_requests - http0
            if meter is not None:
                meter.stop()
            fig.update(load.figures())
            fig["error_examples"] = examples + fig["error_examples"]
        finally:
            await client.close()
        requests = fig["offered"]["requests"]
        fig["requests"] = requests
        fig["http_requests"] = http
        fig["resources"] = {
            "wall_seconds": round(wall, 2),
            "web_cpu_seconds": round(cpu, 2),
            "cpu_ms_per_request": round(cpu / requests * 1000, 3) if requests else None,
            "cpu_ms_per_http_request": round(cpu / http * 1000, 3) if http else None,
            "web_cpu_utilisation": round(cpu / wall, 2) if wall else None,
            "load_generator_cpu_seconds": round(own, 2),
        }
        usage = child.usage()
        code = await stop(child)
    log = child.log_text()
    log_errors = LOG_ERROR_RE.findall(log)
    fig["web"] = {**usage.as_dict(), "exit_code": code}
    if log_errors or code != 0:
        fig["web_log_tail"] = log[-4000:]
    parts = Counter(fig["load_errors"])
    parts.update({f"prepare_{k}": v for k, v in prepare_errors.items()})
    parts["web_log_errors"] = len(log_errors)
    parts["web_exit_code"] = int(code != 0)
    fig["error_parts"] = {k: v for k, v in parts.items() if v}
    fig["errors"] = sum(parts.values())
    if meter is not None:
        fig["database"] = await meter.read(http)
    p99 = fig["latency_ms"]["p99"]
    fig["p99_target_ms"] = P99_TARGET_MS
    fig["meets_target"] = p99 is not None and p99 <= P99_TARGET_MS and fig["errors"] == 0
    return fig
