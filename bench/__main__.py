"""Run every Stack Advisor benchmark, print one table and write JSON under bench/results/.

    make bench                      # or: .venv/bin/python -m bench
    python -m bench --quick         # tiny numbers: a smoke run of the whole harness
    python -m bench --only closed,open --users 500

Phases (``--only`` picks some): ``advisor`` (the scoring core, bench/advisor_bench.py),
``startup`` (``bot.py --console`` to the first question), ``closed`` (N users finishing the
dialog against our bot, against our bot as configured before issue 13 (the baseline) and against
the floor, a minimal python-telegram-bot bot making the same calls, at each concurrency of a
sweep, and against aiogram 3 and raw aiohttp making the same calls), ``bound`` (ours at two
concurrency limits, against the fake as it is and with a simulated 50 ms round trip), ``open``
(a fixed offered rate), ``postgres`` (ours on PostgreSQL: the closed and open loops, with the
per-update database cost, and the closed loop with one and two instances in webhook mode behind
the fake's balancer), ``kill`` (three instances on PostgreSQL, one killed with SIGKILL every two
seconds: nothing lost, applied twice or misordered), ``memory`` (10,000 stored sessions: RSS
and bytes per session) and ``reports`` (``/stats`` and ``/export`` on 100,000 sessions and
500,000 events while users go through the dialog: how long they take, how much they delay the
users) and ``web`` (``bot.py --web`` on SQLite and on PostgreSQL: result pages with their chart,
question pages, shared results and their charts, and form posts at a fixed rate, open loop;
bench/web.py). The fake Bot API server, each bot and this load generator run as separate
processes on 127.0.0.1 (in ``kill`` the fake runs in this process, as the test does).

Exit status: 1 when a run lost, misordered or mis-answered anything, or a phase crashed;
with ``--strict`` also when a performance target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import load
from fake_telegram import FakeTelegram
from settings import DEFAULTS

from . import baseline_bot, e2e, pg, reports, startup, web
from .kill import run_kill
from .load import OpenLoopPlan
from .processes import TOKEN

RESULTS = Path(__file__).resolve().parent / "results"
#: Bots making the floor's calls without python-telegram-bot (bench/aiogram_floor.py, raw_floor.py).
ANCHORS = ("aiogram", "raw")
PHASES = (
    "advisor",
    "startup",
    "closed",
    "bound",
    "open",
    "postgres",
    "kill",
    "memory",
    "reports",
    "web",
)

# Targets from the issue.
#: Ours against the best of the floor's concurrency sweep, and against today's configuration.
#: Ours against the best python-telegram-bot floor of the same run (issue 26: twice).
RATIO_TARGET = 2.0
BASELINE_RATIO_TARGET = 1.5
#: The open loop's p99 (issue 26: at 100 updates/s, in every run), on SQLite and on PostgreSQL.
OPEN_P99_TARGET_MS = 20.0
PG_OPEN_P99_TARGET_MS = 40.0
RSS_TARGET_MB = 150.0
BYTES_PER_SESSION_TARGET = 2048
STARTUP_TARGET_S = 1.0
ADVISOR_TARGET_US = 200.0
#: Users sending /start at once in the memory run (more only adds queueing, not sessions).
MEMORY_CONCURRENCY = 100
#: How much /stats or /export may add to the users' p99 latency while it runs.
REPORT_ADDED_P99_TARGET_MS = 100.0
#: The web pages' p99 under the open loop (issue: 100 requests/s for 30 s, SQLite and PostgreSQL).
WEB_P99_TARGET_MS = web.P99_TARGET_MS


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=1000, help="closed-loop users (1000)")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop updates/s (100)")
    parser.add_argument("--duration", type=float, default=30.0, help="open-loop seconds (30)")
    parser.add_argument(
        "--open-users", type=int, default=50, help="users in a dialog at once, open loop (50)"
    )
    parser.add_argument("--sessions", type=int, default=10_000, help="stored sessions (10000)")
    parser.add_argument(
        "--report-sessions", type=int, default=100_000, help="sessions for /stats, /export (100000)"
    )
    parser.add_argument(
        "--report-events", type=int, default=500_000, help="events for /stats, /export (500000)"
    )
    parser.add_argument(
        "--report-users", type=int, default=20, help="users in a dialog during the reports (20)"
    )
    parser.add_argument(
        "--report-repeats", type=int, default=3, help="times each of /stats, /export runs (3)"
    )
    parser.add_argument(
        "--report-baseline", type=float, default=10.0, help="seconds of users alone (10)"
    )
    parser.add_argument("--startup-runs", type=int, default=5, help="console starts (5)")
    parser.add_argument(
        "--advisor-sample", type=int, default=20_000, help="answer sets the advisor bench times"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="closed-loop runs of ours and of the floor, alternating; the best of each counts",
    )
    parser.add_argument(
        "--floor-concurrency",
        type=_numbers,
        default=[4, 16, 64, 4096],
        help="the floor's concurrent updates to sweep, comma-separated (4,16,64,4096)",
    )
    parser.add_argument(
        "--anchors",
        type=_names,
        default=list(ANCHORS),
        help="same-run anchors in the closed loop: aiogram, raw, or none (aiogram,raw)",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="the fake's simulated round trip in the closed and open loops (0: as it is)",
    )
    parser.add_argument(
        "--bound-users", type=int, default=300, help="closed-loop users per bound run (300)"
    )
    parser.add_argument(
        "--bound-limits",
        type=_numbers,
        default=[4, DEFAULTS.max_concurrent_updates],
        help=f"our MAX_CONCURRENT_UPDATES values (4,{DEFAULTS.max_concurrent_updates})",
    )
    parser.add_argument(
        "--bound-rtt-ms",
        type=_numbers,
        default=[0, 50],
        help="the fake's round trips for the bound runs, in ms (0,50)",
    )
    parser.add_argument(
        "--open-runs", type=int, default=5, help="open-loop runs of ours (5; the floor runs once)"
    )
    parser.add_argument(
        "--pg-instances",
        type=_numbers,
        default=[1, 2],
        help="instances of ours in webhook mode on one PostgreSQL schema, one closed loop "
        "each, behind the fake's balancer (1,2; 0: none)",
    )
    parser.add_argument("--kill-users", type=int, default=300, help="users in the kill phase (300)")
    parser.add_argument(
        "--kill-every",
        type=int,
        default=300,
        help="updates the users send between two SIGKILLs of an instance in the kill phase "
        "(300; the next kill also waits until the last one killed serves again)",
    )
    parser.add_argument(
        "--web-rate", type=float, default=100.0, help="web pages: requests/s, open loop (100)"
    )
    parser.add_argument("--web-seconds", type=float, default=30.0, help="web pages: seconds (30)")
    parser.add_argument(
        "--web-visitors",
        type=int,
        default=200,
        help="web visitors prepared, half at their result, half mid-dialog (200)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the users' choices")
    parser.add_argument(
        "--quick", action="store_true", help="tiny numbers for a smoke run (5 users, 1 s, ...)"
    )
    parser.add_argument("--only", default=",".join(PHASES), help="comma-separated phases")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--time-limit", type=float, default=900.0, help="longest closed-loop or memory run (s)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.users = min(args.users, 5)
        args.bound_users = min(args.bound_users, 5)
        args.open_runs = min(args.open_runs, 1)
        args.rate = min(args.rate, 20.0)
        args.duration = min(args.duration, 1.0)
        args.open_users = min(args.open_users, 5)
        args.sessions = min(args.sessions, 50)
        args.report_sessions = min(args.report_sessions, 2_000)
        args.report_events = min(args.report_events, 10_000)
        args.report_users = min(args.report_users, 10)
        args.report_repeats = min(args.report_repeats, 2)
        args.report_baseline = min(args.report_baseline, 1.0)
        args.startup_runs = min(args.startup_runs, 1)
        args.advisor_sample = min(args.advisor_sample, 600)
        args.kill_users = min(args.kill_users, 20)
        args.kill_every = min(args.kill_every, 60)
        args.time_limit = min(args.time_limit, 60.0)
        args.web_rate = min(args.web_rate, 20.0)
        args.web_seconds = min(args.web_seconds, 1.0)
        args.web_visitors = min(args.web_visitors, 10)
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(unknown)}; choose from {', '.join(PHASES)}")
    args.phases = phases
    return args


def _numbers(text: str) -> list[int]:
    """Comma-separated whole numbers, such as 4,16,64."""
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None
    if not found or min(found) < 0:
        raise argparse.ArgumentTypeError(f"give one or more numbers ≥ 0: {text!r}")
    return found


def _names(text: str) -> list[str]:
    """Comma-separated anchors (aiogram, raw); "none" or "" for none."""
    found = [part.strip() for part in text.split(",") if part.strip() not in ("", "none")]
    unknown = sorted(set(found) - set(ANCHORS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown anchors {unknown}; known: {list(ANCHORS)}")
    return found


# -- the table ----------------------------------------------------------------------------------


@dataclass
class Row:
    section: str
    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "FAIL")

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "value": self.value,
            "target": self.target,
            "result": self.verdict or None,
        }


def print_table(rows: list[Row]) -> None:
    headers = ("Benchmark", "Metric", "Value", "Target", "Result")
    cells = [(r.section, r.name, r.value, r.target, r.verdict) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    previous = None
    for cell in cells:
        shown = ("" if cell[0] == previous else cell[0], *cell[1:])
        previous = cell[0]
        print("  ".join(c.ljust(w) for c, w in zip(shown, widths, strict=True)).rstrip())
    print(line)


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def cpu_ms(value: float | None) -> str:
    """CPU per update: two decimals below 1 ms (the raw aiohttp anchor spends ~0.4 ms)."""
    if value is None:
        return "n/a"
    return f"{value:.2f} ms" if value < 1 else f"{value:.1f} ms"


def latencies(lat: dict[str, float | None]) -> str:
    return " / ".join("n/a" if lat[k] is None else f"{lat[k]:.1f}" for k in ("p50", "p95", "p99"))


def correctness_row(section: str, name: str, fig: dict[str, Any], rows: list[Row]) -> bool:
    """One row: errors / lost / misordered answers of a run; False when any is not zero."""
    misordered = fig.get("misordered")
    counts = [fig["errors"], fig["lost"], *([] if misordered is None else [misordered])]
    what = "errors / lost" + ("" if misordered is None else " / misordered")
    ok = not any(counts)
    value = " / ".join(str(n) for n in counts)
    rows.append(Row(section, f"{name}: {what}", value, " / ".join("0" * len(counts)), ok))
    return ok


def correctness_rows(section: str, fig: dict[str, Any], rows: list[Row]) -> bool:
    """Rows for errors, lost and misordered answers; False when any is not zero."""
    errors: int = fig["errors"]
    lost: int = fig["lost"]
    misordered: int | None = fig.get("misordered")
    parts = ", ".join(f"{k} {v}" for k, v in fig["error_parts"].items() if v)
    value = f"{errors}" + (f" ({parts})" if parts else "")
    rows.append(Row(section, "errors", value, "0", errors == 0))
    rows.append(Row(section, "lost answers", str(lost), "0", lost == 0))
    if misordered is None:
        rows.append(Row(section, "misordered answers", "not checked (no logic)"))
        return errors == 0 and lost == 0
    rows.append(Row(section, "misordered answers", str(misordered), "0", misordered == 0))
    return errors == 0 and lost == 0 and misordered == 0


# -- phases -----------------------------------------------------------------------------------


class Run:
    """Runs the phases, collecting JSON results and table rows."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.knowledge = load(None)
        self.rows: list[Row] = []
        self.results: dict[str, Any] = {}
        self.correct = True
        self.crashed: list[str] = []

    def out(self, name: str) -> Path:
        folder: Path = self.args.out
        return folder / f"{name}.json"

    def write(self, name: str, data: dict[str, Any]) -> None:
        path = self.out(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")

    def crash(self, name: str, exc: Exception) -> None:
        """Record a crashed phase; the others still run."""
        self.crashed.append(name)
        self.rows.append(Row(name, "crashed", f"{type(exc).__name__}: {exc}"[:90], "", False))
        self.results[name] = {"crashed": traceback.format_exc()}
        self.write(name, self.results[name])
        traceback.print_exc()

    async def phase(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        if name not in self.args.phases:
            return
        print(f"== {name} ...", flush=True)
        started = time.perf_counter()
        try:
            await run()
        except Exception as exc:
            self.crash(name, exc)
        print(f"   {name} took {time.perf_counter() - started:.1f} s", flush=True)

    # advisor -----------------------------------------------------------------------------------

    def advisor(self) -> None:
        """The advisor core's own benchmark (bench/advisor_bench.py), run in this process."""
        if "advisor" not in self.args.phases:
            return
        print("== advisor ...", flush=True)
        try:
            from . import advisor_bench

            sample = str(self.args.advisor_sample)
            figures = advisor_bench.main(["--sample", sample, "--out", str(self.out("advisor"))])
        except Exception as exc:
            self.crash("advisor", exc)
            return
        self.results["advisor"] = figures
        html = figures["recommend_render_html"]
        section = "Advisor core"
        median = float(html["median_us"])
        self.rows.append(
            Row(
                section,
                "recommend + render_html, median",
                f"{median:.1f} µs",
                f"≤ {ADVISOR_TARGET_US:g} µs",
                median <= ADVISOR_TARGET_US,
            )
        )
        self.rows.append(Row(section, "p95 / mean", f"{html['p95_us']} / {html['mean_us']} µs"))
        typed = figures["interpret_typed_message"]
        self.rows.append(
            Row(
                section,
                "reading one typed message, median",
                f"{typed['median_us']:.1f} µs",
                f"≤ {typed['target_median_us']:g} µs",
                typed["median_us"] <= typed["target_median_us"],
            )
        )
        chart = figures["chart"]
        self.rows.append(
            Row(
                section,
                f"chart PNG, median (max) of {chart['charts']}",
                f"{chart['median_ms']} ms ({chart['max_ms']} ms)",
                f"≤ {chart['target_median_ms']:g} ms",
                chart["meets_target"],
            )
        )

    # startup -----------------------------------------------------------------------------------

    async def startup(self) -> None:
        fig = await startup.run(self.args.startup_runs)
        self.results["startup"] = fig
        self.write("startup", fig)
        self.rows.append(
            Row(
                "Start-up",
                f"bot.py --console to 1st question (median of {fig['runs']})",
                f"{fig['median_seconds']:.3f} s",
                f"≤ {STARTUP_TARGET_S:g} s",
                fig["median_seconds"] <= STARTUP_TARGET_S,
            )
        )

    # closed loop -------------------------------------------------------------------------------

    async def closed(self) -> None:
        """Ours against today's configuration (the baseline) and the floor's concurrency sweep."""
        a = self.args
        anchors = [kind for kind in a.anchors if kind != "aiogram" or _has_aiogram()]
        kinds = ["ours", "baseline", *(f"floor@{n}" for n in a.floor_concurrency), *anchors]
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for attempt in range(max(1, a.repeat)):
            for kind in kinds:
                bot, _, concurrency = kind.partition("@")
                env = {"FLOOR_CONCURRENT_UPDATES": concurrency} if concurrency else {}
                fig = await e2e.closed_loop(
                    bot,
                    self.knowledge,
                    self.work / f"closed-{bot}{concurrency}-{attempt}",
                    a.users,
                    a.seed,
                    a.time_limit,
                    a.latency_ms,
                    **env,
                )
                runs[kind].append(fig)
                _progress(kind, fig)
        best = {kind: max(found, key=_throughput) for kind, found in runs.items()}
        ours, baseline = best["ours"], best["baseline"]
        floors = {int(kind.split("@")[1]): fig for kind, fig in best.items() if "@" in kind}
        found_anchors = {kind: best[kind] for kind in anchors}
        top = max(floors, key=lambda n: _throughput(floors[n]))
        floor = floors[top]
        ratio = _ratio(ours, floor)
        over_baseline = _ratio(ours, baseline)
        data = {
            "users": a.users,
            "repeat": a.repeat,
            "latency_ms_simulated": a.latency_ms,
            "max_concurrent_updates": DEFAULTS.max_concurrent_updates,
            "ours": ours,
            "baseline": baseline,
            "floors": {str(n): fig for n, fig in floors.items()},
            "floor": floor,
            "floor_best_concurrency": top,
            "ratio": ratio,
            "ratio_to_baseline": over_baseline,
            "anchors": found_anchors,
            "ratio_to_aiogram": _ratio(ours, found_anchors["aiogram"])
            if "aiogram" in found_anchors
            else None,
            "throughput_runs": {k: [_throughput(f) for f in v] for k, v in runs.items()},
        }
        self.results["closed"] = data
        self.write("load_closed", data)
        rtt = f", {a.latency_ms:g} ms round trip" if a.latency_ms else ""
        sections = {
            "ours": f"ours, {DEFAULTS.max_concurrent_updates} at once",
            "baseline": f"baseline: before issue 13, {baseline_bot.IN_FLIGHT} in flight",
        }
        for kind, fig in (("ours", ours), ("baseline", baseline)):
            section = f"Closed loop, {a.users} users{rtt} ({sections[kind]})"
            self._load_rows(section, fig)
        section = f"Closed loop, {a.users} users{rtt} (floor: PTB, no logic)"
        for n, fig in sorted(floors.items()):
            cpu = fig["resources"]["cpu_ms_per_update"]["bot"]
            p99 = fig["latency_first_reply_ms"]["p99"]
            self.rows.append(
                Row(
                    section,
                    f"concurrency {n}: throughput, CPU/update, p99",
                    f"{_throughput(fig):.1f} updates/s, {ms(cpu)}, {ms(p99)}",
                )
            )
            self.correct &= correctness_row(section, f"concurrency {n}", fig, self.rows)
        self.rows.append(
            Row(
                "Throughput ratio",
                "ours / baseline (same run)",
                "n/a" if over_baseline is None else f"{over_baseline:.2f}",
                f"≥ {BASELINE_RATIO_TARGET:g}",
                over_baseline is not None and over_baseline >= BASELINE_RATIO_TARGET,
            )
        )
        self.rows.append(
            Row(
                "Throughput ratio",
                f"ours / best floor (concurrency {top}, same run)",
                "n/a" if ratio is None else f"{ratio:.2f}",
                f"≥ {RATIO_TARGET:g}",
                ratio is not None and ratio >= RATIO_TARGET,
            )
        )

        self._anchor_rows(section.replace("floor: PTB", "anchors"), ours, found_anchors)
        if "aiogram" in found_anchors:
            self._aiogram_repeats(runs["ours"], runs["aiogram"])

    def _aiogram_repeats(self, ours: list[dict[str, Any]], anchor: list[dict[str, Any]]) -> None:
        """Issue 26: in every repeat, ours makes at least aiogram's throughput, at no more bot CPU
        per update (each repeat runs them one after the other, so they share its conditions)."""
        pairs = list(zip(ours, anchor, strict=True))
        ratios = [_ratio(o, a) for o, a in pairs]
        fast = sum(r is not None and r >= 1.0 for r in ratios)
        self.rows.append(
            Row(
                "Throughput ratio",
                f"ours / aiogram 3, each of {len(pairs)} repeats",
                ", ".join("n/a" if r is None else f"{r:.2f}" for r in ratios),
                f"≥ 1 in {len(pairs)} of {len(pairs)}",
                fast == len(pairs),
            )
        )
        cpu = [
            (o["resources"]["cpu_ms_per_update"]["bot"], a["resources"]["cpu_ms_per_update"]["bot"])
            for o, a in pairs
        ]
        lean = sum(o is not None and a is not None and o <= a for o, a in cpu)
        self.rows.append(
            Row(
                "CPU per update",
                f"ours / aiogram 3, each of {len(pairs)} repeats",
                ", ".join(f"{cpu_ms(o)} / {cpu_ms(a)}" for o, a in cpu),
                f"ours ≤ aiogram in {len(pairs)} of {len(pairs)}",
                lean == len(pairs),
            )
        )

    def _anchor_rows(
        self, section: str, ours: dict[str, Any], anchors: dict[str, dict[str, Any]]
    ) -> None:
        """aiogram 3 and raw aiohttp making the floor's calls: what users would compare with."""
        if not self.args.anchors:
            return
        if "aiogram" in self.args.anchors and "aiogram" not in anchors:
            self.rows.append(
                Row(section, "aiogram 3", "not installed (pip install -r requirements-test.txt)")
            )
        names = {"aiogram": "aiogram 3", "raw": "raw aiohttp"}
        for kind, fig in anchors.items():
            cpu = fig["resources"]["cpu_ms_per_update"]["bot"]
            p99 = fig["latency_first_reply_ms"]["p99"]
            self.rows.append(
                Row(
                    section,
                    f"{names[kind]}: throughput, CPU/update, p99",
                    f"{_throughput(fig):.1f} updates/s, {cpu_ms(cpu)}, {ms(p99)}",
                )
            )
            self.correct &= correctness_row(section, names[kind], fig, self.rows)
        if "aiogram" in anchors:
            ratio = _ratio(ours, anchors["aiogram"])
            self.rows.append(
                Row(
                    "Throughput ratio",
                    "ours / aiogram 3 floor (same run)",
                    "n/a" if ratio is None else f"{ratio:.2f}",
                )
            )
        cpus = [("ours", ours)] + [(names[k], f) for k, f in anchors.items()]
        self.rows.append(
            Row(
                "CPU per update",
                " / ".join(name for name, _ in cpus) + " (closed loop, same run)",
                " / ".join(cpu_ms(f["resources"]["cpu_ms_per_update"]["bot"]) for _, f in cpus),
            )
        )

    def _load_rows(self, section: str, fig: dict[str, Any]) -> None:
        self.rows.append(Row(section, "throughput", f"{_throughput(fig):.1f} updates/s"))
        latency = latencies(fig["latency_first_reply_ms"]) + " ms"
        self.rows.append(Row(section, "latency p50 / p95 / p99", latency))
        late = fig["late_replies"]
        self.rows.append(Row(section, "updates done after more than 60 s", str(late)))
        self.rows.append(Row(section, "bot peak RSS", f"{fig['bot']['peak_rss_mb']} MB"))
        cpu = fig["resources"]["cpu_ms_per_update"]["bot"]
        calls = fig["bot_api_calls_per_update"]
        self.rows.append(Row(section, "bot CPU per update", ms(cpu)))
        self.rows.append(Row(section, "Bot API calls per update", f"{calls}"))
        self.correct &= correctness_rows(section, fig, self.rows)

    # the concurrency bound ----------------------------------------------------------------------

    async def bound(self) -> None:
        """Ours at each limit in --bound-limits, against the fake as it is and with a round trip.

        The fake answers in about a millisecond, Telegram in about 50: the limit a round trip
        needs (rate x calls per update x round trip) is far higher against Telegram.
        """
        a = self.args
        found: list[dict[str, Any]] = []
        for rtt in a.bound_rtt_ms:
            for limit in a.bound_limits:
                fig = await e2e.closed_loop(
                    "ours",
                    self.knowledge,
                    self.work / f"bound-{rtt:g}-{limit}",
                    a.bound_users,
                    a.seed,
                    a.time_limit,
                    rtt,
                    MAX_CONCURRENT_UPDATES=str(limit),
                )
                fig["max_concurrent_updates"] = limit
                found.append(fig)
                _progress(f"ours@{limit}, {rtt:g} ms round trip", fig)
        self.results["bound"] = found
        self.write("bound", {"users": a.bound_users, "runs": found})
        for fig in found:
            rtt, limit = fig["latency_ms_simulated"], fig["max_concurrent_updates"]
            where = f"{rtt:g} ms round trip" if rtt else "the fake as it is (~1 ms)"
            section = f"Concurrency bound, {a.bound_users} users, {where}"
            cpu = fig["resources"]["cpu_ms_per_update"]["bot"]
            p99 = fig["latency_first_reply_ms"]["p99"]
            self.rows.append(
                Row(
                    section,
                    f"MAX_CONCURRENT_UPDATES={limit}: throughput, CPU/update, p99",
                    f"{_throughput(fig):.1f} updates/s, {ms(cpu)}, {ms(p99)}",
                )
            )
            name = f"MAX_CONCURRENT_UPDATES={limit}"
            self.correct &= correctness_row(section, name, fig, self.rows)

    # open loop ---------------------------------------------------------------------------------

    async def open(self) -> None:
        """Our bot at a fixed offered rate, --open-runs times; the floor once, for comparison."""
        a = self.args
        plan = OpenLoopPlan(a.rate, a.duration, a.open_users, latency_ms=a.latency_ms)
        runs: list[dict[str, Any]] = []
        for attempt in range(max(1, a.open_runs)):
            work = self.work / f"open-ours-{attempt}"
            runs.append(await e2e.open_loop("ours", self.knowledge, work, plan, a.seed + attempt))
            _progress(f"open ours, run {attempt + 1}", runs[-1])
        floor = await e2e.open_loop("floor", self.knowledge, self.work / "open-floor", plan, a.seed)
        found = {"ours": runs[-1], "ours_runs": runs, "floor": floor}
        self.results["open"] = found
        self.write("load_open", found)
        for kind, fig in (("ours", runs[0]), ("floor", floor)):
            section = f"Open loop, {a.rate:g} updates/s × {a.duration:g} s ({kind})"
            lat = fig["latency_first_reply_ms"]
            offered = fig["offered"]
            self.rows.append(
                Row(
                    section,
                    "offered rate (achieved)",
                    f"{offered['offered_rate']} updates/s, {fig['updates']} updates",
                )
            )
            cpu = fig["resources"]["cpu_ms_per_update"]["bot"]
            self.rows.append(Row(section, "bot CPU per update", ms(cpu)))
            self.rows.append(Row(section, "latency p50 / p95", f"{lat['p50']} / {lat['p95']} ms"))
            if kind == "floor":
                self.rows.append(Row(section, "latency p99 (for comparison)", ms(lat["p99"])))
                self.correct &= correctness_rows(section, fig, self.rows)
                continue
            self.open_runs_rows(section, runs)

    # PostgreSQL --------------------------------------------------------------------------------

    async def postgres(self) -> None:
        """Ours on PostgreSQL: the closed loop (one instance, polling), the open loop
        --open-runs times, and the closed loop in webhook mode with each of --pg-instances
        instances on one schema, the fake balancing its webhook deliveries over them (polling
        cannot share a token)."""
        a = self.args
        url = pg.server_url()
        problem = await pg.unreachable(url)
        section = "PostgreSQL"
        if problem is not None:
            self.rows.append(Row(section, "skipped: server not reachable", problem[:80]))
            return
        async with pg.schema(url, self.work / "pg-closed-db") as database:
            closed = await e2e.closed_loop(
                "ours",
                self.knowledge,
                self.work / "pg-closed",
                a.users,
                a.seed,
                a.time_limit,
                a.latency_ms,
                database=database,
            )
        _progress("ours on PostgreSQL, closed loop", closed)
        plan = OpenLoopPlan(a.rate, a.duration, a.open_users, latency_ms=a.latency_ms)
        runs: list[dict[str, Any]] = []
        for attempt in range(max(1, a.open_runs)):
            async with pg.schema(url, self.work / f"pg-open-db-{attempt}") as database:
                work = self.work / f"pg-open-{attempt}"
                runs.append(
                    await e2e.open_loop(
                        "ours", self.knowledge, work, plan, a.seed + attempt, database=database
                    )
                )
            _progress(f"open ours on PostgreSQL, run {attempt + 1}", runs[-1])
        webhook: dict[int, dict[str, Any]] = {}
        for count in (n for n in a.pg_instances if n > 0):
            async with pg.schema(url, self.work / f"pg-webhook-{count}-db") as database:
                webhook[count] = await e2e.closed_loop_instances(
                    self.knowledge,
                    self.work / f"pg-webhook-{count}",
                    database,
                    instances=count,
                    users=a.users,
                    seed=a.seed,
                    time_limit=a.time_limit,
                    latency_ms=a.latency_ms,
                )
            _progress(f"ours on PostgreSQL, {count} in webhook mode, closed loop", webhook[count])
        scaling = {
            str(n): _ratio(fig, webhook[1]) for n, fig in webhook.items() if n > 1 and 1 in webhook
        }
        sqlite = self.results.get("closed", {}).get("ours")
        data = {
            "server": pg.redact(url),
            "instances": 1,
            "closed": closed,
            "ratio_to_sqlite_same_run": _ratio(closed, sqlite) if sqlite else None,
            "open_runs": runs,
            "webhook": {str(n): fig for n, fig in webhook.items()},
            "webhook_scaling_to_one": scaling,
            "cpus": os.cpu_count(),
        }
        self.results["postgres"] = data
        self.write("postgres", data)
        section = f"Closed loop, {a.users} users, PostgreSQL (ours, one instance)"
        self._load_rows(section, closed)
        db = closed["database"]
        self._database_rows(section, db)
        self.rows.append(
            Row(
                section,
                "statement time, mean (client side, per update)",
                f"{ms(db['statement_ms_mean'])} ({ms(db['statement_ms_per_update'])})",
            )
        )
        if sqlite:
            ratio = data["ratio_to_sqlite_same_run"]
            self.rows.append(Row(section, "throughput / ours on SQLite (same run)", f"{ratio:.2f}"))
        self._instances_rows(webhook, scaling)
        section = f"Open loop, {a.rate:g} updates/s × {a.duration:g} s (ours, PostgreSQL)"
        lat = runs[0]["latency_first_reply_ms"]
        median = f"{lat['p50']} / {lat['p95']} ms"
        self.rows.append(Row(section, "latency p50 / p95 (run 1)", median))
        cpus = [run["resources"]["cpu_ms_per_update"]["bot"] for run in runs]
        self.rows.append(Row(section, "bot CPU per update, each run", ", ".join(map(cpu_ms, cpus))))
        servers = [run["database"]["server_cpu_ms_per_update"] for run in runs]
        self.rows.append(
            Row(section, "PostgreSQL CPU per update, each run", ", ".join(map(cpu_ms, servers)))
        )
        self.open_runs_rows(section, runs, PG_OPEN_P99_TARGET_MS)

    def _database_rows(self, section: str, db: dict[str, Any]) -> None:
        """The per-update database cost that bench/pg_probe.py counted, and the server's CPU."""
        self.rows.append(
            Row(
                section,
                "database per update: transactions (units of work), statements",
                f"{db['transactions_per_update']} ({db['units_per_update']}), "
                f"{db['statements_per_update']}",
            )
        )
        server = cpu_ms(db["server_cpu_ms_per_update"])
        self.rows.append(Row(section, "PostgreSQL server CPU per update", server))

    def _instances_rows(self, webhook: dict[int, dict[str, Any]], scaling: dict[str, Any]) -> None:
        """Rows of the webhook runs: each instance count, then how far more instances go."""
        for count, fig in sorted(webhook.items()):
            section = (
                f"Closed loop, {self.args.users} users, PostgreSQL, webhook "
                f"({count} instance{'s' if count > 1 else ''} behind the fake's balancer)"
            )
            self.rows.append(Row(section, "throughput", f"{_throughput(fig):.1f} updates/s"))
            lat = latencies(fig["latency_first_reply_ms"]) + " ms"
            self.rows.append(Row(section, "latency p50 / p95 / p99", lat))
            resources = fig["resources"]
            self.rows.append(
                Row(
                    section,
                    "bot CPU per update (all instances); their CPU use",
                    f"{ms(resources['cpu_ms_per_update']['bot'])}; "
                    f"{resources['bot_cpu_utilisation']} cores",
                )
            )
            self._database_rows(section, fig["database"])
            self.correct &= correctness_rows(section, fig, self.rows)
        for count, ratio in scaling.items():
            self.rows.append(
                Row(
                    "PostgreSQL, several instances",
                    f"throughput, {count} instances / 1 (webhook, same run, "
                    f"{os.cpu_count()} CPUs shared by all)",
                    "n/a" if ratio is None else f"{ratio:.2f}",
                )
            )

    def open_runs_rows(
        self, section: str, runs: list[dict[str, Any]], target: float = OPEN_P99_TARGET_MS
    ) -> None:
        """The open loop's p99 of each run against the target, and each run's correctness."""
        p99s = [run["latency_first_reply_ms"]["p99"] for run in runs]
        met = [p is not None and p <= target for p in p99s]
        self.rows.append(
            Row(
                section,
                f"latency p99, each of {len(runs)} runs",
                ", ".join(ms(p) for p in p99s),
                f"≤ {target:g} ms in every run",
                all(met),
            )
        )
        for index, run in enumerate(runs):
            self.correct &= correctness_row(section, f"run {index + 1}", run, self.rows)

    # kill --------------------------------------------------------------------------------------

    async def kill(self) -> None:
        """bench/kill.py: three instances in webhook mode on one PostgreSQL schema behind the
        fake's balancer, one killed with SIGKILL (and started again) every --kill-every updates,
        while --kill-users users go through the dialog; nothing lost, applied twice or
        misordered."""
        a = self.args
        url = pg.server_url()
        problem = await pg.unreachable(url)
        section = (
            f"Kill test: 3 instances on PostgreSQL, {a.kill_users} users, "
            f"one SIGKILLed every {a.kill_every} updates"
        )
        if problem is not None:
            self.rows.append(Row(section, "skipped: server not reachable", problem[:80]))
            return
        fake = FakeTelegram(TOKEN, webhook_retry_delay=0.2, webhook_max_attempts=1000)
        async with pg.schema(url, self.work / "kill-db") as database, fake:
            fig = await run_kill(
                fake,
                self.knowledge,
                database_url=url,
                schema=database.schema,
                work=database.work,
                users=a.kill_users,
                kill_every=a.kill_every,
                token=TOKEN,
                seed=a.seed,
            )
        fig["fake_internal_errors"] = len(fake.internal_errors)
        self.results["kill"] = fig
        self.write("kill", fig)
        print(
            f"   kill: {fig['updates']} updates, {fig['kills']} kills, lost {fig['lost']}, "
            f"duplicated {fig['duplicated']}, misordered {fig['misordered']}",
            flush=True,
        )
        self.rows.append(
            Row(
                section,
                "updates; kills; time (updates/s)",
                f"{fig['updates']}; {fig['kills']}; {fig['seconds']} s "
                f"({fig['updates_per_second']})",
            )
        )
        for name, key in (
            ("lost answers", "lost"),
            ("updates applied twice", "duplicated"),
            ("misordered answers", "misordered"),
            ("the fake's internal errors", "fake_internal_errors"),
        ):
            ok = fig[key] == 0
            self.correct &= ok
            self.rows.append(Row(section, name, str(fig[key]), "0", ok))
        resent = fig["resent"]
        self.rows.append(
            Row(
                section,
                "messages seen twice (sent just before a kill)",
                str(resent),
                "≤ kills",
                resent <= fig["kills"],
            )
        )

    # memory ------------------------------------------------------------------------------------

    async def memory(self) -> None:
        a = self.args
        concurrency = min(MEMORY_CONCURRENCY, a.sessions)
        fig = await e2e.memory(
            self.knowledge, self.work / "memory", a.sessions, concurrency, a.time_limit
        )
        self.results["memory"] = fig
        self.write("memory", fig)
        section = f"Memory and storage, {a.sessions:,} sessions"
        peak = fig["peak_rss_mb"]
        self.rows.append(
            Row(
                section,
                "bot peak RSS, all users served",
                f"{peak} MB (now {fig['rss_mb_after_serving_all']} MB)",
                f"≤ {RSS_TARGET_MB:g} MB",
                peak is not None and peak <= RSS_TARGET_MB,
            )
        )
        per = fig["storage"]["bytes_per_session"]
        table = fig["storage"]["sessions_table_bytes_per_session"]
        detail = f" (sessions table {table:.0f} B)" if table is not None else ""
        self.rows.append(
            Row(
                section,
                "SQLite bytes per session, whole file",
                f"{per:.0f} B{detail}" if per is not None else "n/a",
                f"≤ {BYTES_PER_SESSION_TARGET} B",
                per is not None and per <= BYTES_PER_SESSION_TARGET,
            )
        )
        self.correct &= correctness_rows(section, fig, self.rows)

    # reports -----------------------------------------------------------------------------------

    async def reports(self) -> None:
        a = self.args
        plan = reports.ReportPlan(
            sessions=a.report_sessions,
            events=a.report_events,
            users=a.report_users,
            repeats=max(1, a.report_repeats),
            warmup=0.3 if a.quick else 1.0,
            baseline=a.report_baseline,
        )
        fig = await reports.run(self.knowledge, self.work / "reports", plan, a.seed)
        self.results["reports"] = fig
        self.write("reports", fig)
        section = (
            f"Reports, {a.report_sessions:,} sessions / {a.report_events:,} events, "
            f"{a.report_users} users"
        )
        base = fig["baseline"]
        self.rows.append(
            Row(
                section,
                "users' latency p50 / p99, baseline",
                f"{base['p50']} / {base['p99']} ms ({base['updates']} updates)",
            )
        )
        for command in (reports.STATS, reports.EXPORT):
            found = fig[command]
            times = ", ".join(f"{t:.0f}" for t in found["report_ms"]) or "n/a"
            size = ""
            if command == reports.EXPORT:
                sizes = [r["document_bytes"] for r in fig["reports"] if r["document_bytes"]]
                size = f", {sizes[-1] / 1e6:.1f} MB CSV" if sizes else ""
            self.rows.append(Row(section, f"/{command} time, each run", f"{times} ms{size}"))
            lat = found["users_during"]
            self.rows.append(
                Row(
                    section,
                    f"users' latency p50 / p99 during /{command}",
                    f"{lat['p50']} / {lat['p99']} ms ({lat['updates']} updates)",
                )
            )
            added = found["added_p99_ms"]
            self.rows.append(
                Row(
                    section,
                    f"added delay p99 during /{command}",
                    ms(added),
                    f"≤ {REPORT_ADDED_P99_TARGET_MS:g} ms",
                    added is not None and added <= REPORT_ADDED_P99_TARGET_MS,
                )
            )
        self.correct &= correctness_rows(section, fig, self.rows)

    # web pages ---------------------------------------------------------------------------------

    async def web(self) -> None:
        """bench/web.py: ``bot.py --web`` under an open loop of page requests and form posts,
        on SQLite, then on PostgreSQL (a fresh schema, dropped afterwards)."""
        a = self.args
        plan = web.WebPlan(rate=a.web_rate, duration=a.web_seconds, visitors=a.web_visitors)
        found: dict[str, Any] = {"sqlite": None, "postgresql": None}
        found["sqlite"] = await web.run(self.knowledge, self.work / "web-sqlite", plan, a.seed)
        _web_progress("web pages on SQLite", found["sqlite"])
        url = pg.server_url()
        problem = await pg.unreachable(url)
        if problem is None:
            async with pg.schema(url, self.work / "web-pg-db") as database:
                found["postgresql"] = await web.run(
                    self.knowledge, self.work / "web-pg", plan, a.seed, database=database
                )
            found["server"] = pg.redact(url)
            _web_progress("web pages on PostgreSQL", found["postgresql"])
        self.results["web"] = found
        self.write("web", found)
        for name, fig in (("SQLite", found["sqlite"]), ("PostgreSQL", found["postgresql"])):
            section = f"Web pages, {a.web_rate:g} requests/s × {a.web_seconds:g} s ({name})"
            if fig is None:
                self.rows.append(Row(section, "skipped: server not reachable", str(problem)[:80]))
                continue
            self._web_rows(section, fig)

    def _web_rows(self, section: str, fig: dict[str, Any]) -> None:
        offered, lat, res = fig["offered"], fig["latency_ms"], fig["resources"]
        prepared = fig["prepared"]
        self.rows.append(
            Row(
                section,
                "visitors prepared: at the result / mid-dialog",
                f"{prepared['finished']} / {prepared['mid_dialog']} ({fig['share_codes']} codes)",
            )
        )
        self.rows.append(
            Row(
                section,
                "offered rate (achieved)",
                f"{offered['offered_rate']} requests/s, {fig['requests']} requests "
                f"({fig['http_requests']} HTTP)",
            )
        )
        spread = f"{lat['p50']} / {lat['p90']} / {lat['max']} ms"
        self.rows.append(Row(section, "latency p50 / p90 / max", spread))
        p99 = lat["p99"]
        self.rows.append(
            Row(
                section,
                "latency p99 (from the scheduled send)",
                ms(p99),
                f"≤ {WEB_P99_TARGET_MS:g} ms",
                p99 is not None and p99 <= WEB_P99_TARGET_MS,
            )
        )
        by_kind = ", ".join(
            f"{kind} {found['latency_ms']['p99']}" for kind, found in fig["by_kind"].items()
        )
        self.rows.append(Row(section, "p99 by page, ms", by_kind))
        errors = fig["errors"]
        parts = ", ".join(f"{k} {v}" for k, v in fig["error_parts"].items())
        value = f"{errors}" + (f" ({parts})" if parts else "")
        self.rows.append(Row(section, "errors", value, "0", errors == 0))
        self.correct &= errors == 0
        self.rows.append(
            Row(
                section,
                "web CPU per request (per HTTP request); its CPU use",
                f"{cpu_ms(res['cpu_ms_per_request'])} ({cpu_ms(res['cpu_ms_per_http_request'])}); "
                f"{res['web_cpu_utilisation']} cores",
            )
        )
        db = fig.get("database")
        if db:
            self.rows.append(
                Row(
                    section,
                    "database per HTTP request: transactions (units of work), statements",
                    f"{db['transactions_per_update']} ({db['units_per_update']}), "
                    f"{db['statements_per_update']}",
                )
            )
            server = cpu_ms(db["server_cpu_ms_per_update"])
            self.rows.append(Row(section, "PostgreSQL server CPU per HTTP request", server))

    # all -----------------------------------------------------------------------------------

    async def run_async(self) -> None:
        await self.phase("startup", self.startup)
        await self.phase("closed", self.closed)
        await self.phase("bound", self.bound)
        await self.phase("open", self.open)
        await self.phase("postgres", self.postgres)
        await self.phase("kill", self.kill)
        await self.phase("memory", self.memory)
        await self.phase("reports", self.reports)
        await self.phase("web", self.web)


def _has_aiogram() -> bool:
    """aiogram is a bench-only dependency (requirements-test.txt): skip its anchor without it."""
    return importlib.util.find_spec("aiogram") is not None


def _throughput(fig: dict[str, Any]) -> float:
    return float(fig.get("updates_per_second") or 0.0)


def _ratio(ours: dict[str, Any], other: dict[str, Any]) -> float | None:
    return round(_throughput(ours) / _throughput(other), 3) if _throughput(other) > 0 else None


def _progress(kind: str, fig: dict[str, Any]) -> None:
    cpu = fig["resources"]["cpu_ms_per_update"]["bot"]
    print(
        f"   {kind}: {fig['updates_per_second']} updates/s, {fig['updates']} updates, "
        f"{cpu} ms CPU/update, p99 {fig['latency_first_reply_ms']['p99']} ms, "
        f"errors {fig['errors']}, lost {fig['lost']}",
        flush=True,
    )


def _web_progress(kind: str, fig: dict[str, Any]) -> None:
    lat = fig["latency_ms"]
    print(
        f"   {kind}: {fig['offered']['offered_rate']} requests/s, {fig['requests']} requests, "
        f"p50 {lat['p50']} ms, p99 {lat['p99']} ms, max {lat['max']} ms, errors {fig['errors']}, "
        f"{fig['resources']['cpu_ms_per_request']} ms CPU/request",
        flush=True,
    )


async def _guarded(run: Run) -> None:
    """Run the async phases; SIGTERM cancels them so every child is stopped on the way out."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
    await run.run_async()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stack-advisor-bench-") as tmp:
        run = Run(args, Path(tmp))
        run.advisor()
        asyncio.run(_guarded(run))
    ok_targets = all(row.ok is not False for row in run.rows)
    summary = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "rows": [row.as_dict() for row in run.rows],
        "all_targets_met": ok_targets,
        "correct": run.correct and not run.crashed,
        "crashed": run.crashed,
        "results": run.results,
    }
    run.write("summary", summary)
    print_table(run.rows)
    met = sum(1 for row in run.rows if row.ok)
    missed = sum(1 for row in run.rows if row.ok is False)
    print(f"targets: {met} met, {missed} missed; took {summary['seconds']:.0f} s")
    print(f"results: {args.out}/summary.json (and one JSON file per benchmark)")
    if run.crashed or not run.correct:
        return 1
    return 1 if args.strict and not ok_targets else 0


if __name__ == "__main__":
    sys.exit(main())
