"""Child processes of a benchmark: the fake Bot API server and a bot, on loopback only.

Every child is started through :class:`Children`, which kills whatever is still running when
its block ends, whether the run succeeded or failed (and, as a last resort, at exit).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAbench-token_for_the_fake_api_00000"
READY_TIMEOUT = 30.0
#: Variables handed on to the bots, for experiments (see bench/floor_bot.py).
PASSED_THROUGH = frozenset({"FLOOR_CONCURRENT_UPDATES", "AIOGRAM_FLOOR_CONCURRENCY"})
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_LIVE: set[asyncio.subprocess.Process] = set()


def _kill_leftovers() -> None:
    """Last resort at interpreter exit: kill children a crashed run left behind."""
    for process in list(_LIVE):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


atexit.register(_kill_leftovers)


def base_env(**extra: str) -> dict[str, str]:
    """A small, explicit environment for children (nothing of the caller's .env leaks in)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PTB_TIMEDELTA": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


@dataclass
class Usage:
    """Resources a process used, read from /proc."""

    rss_kb: int | None = None
    peak_rss_kb: int | None = None
    cpu_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rss_mb": _mb(self.rss_kb),
            "peak_rss_mb": _mb(self.peak_rss_kb),
            "cpu_seconds": None if self.cpu_seconds is None else round(self.cpu_seconds, 2),
        }


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def usage(pid: int) -> Usage:
    """RSS now, peak RSS (VmHWM) and CPU time (user + system) of a running process."""
    found = Usage()
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                found.rss_kb = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                found.peak_rss_kb = int(line.split()[1])
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        found.cpu_seconds = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        pass
    return found


@dataclass
class Child:
    """One running child process; its stderr (and stdout unless piped) go to a log file."""

    name: str
    process: asyncio.subprocess.Process
    log: Path
    returncode: int | None = None
    final_usage: Usage = field(default_factory=Usage)

    @property
    def pid(self) -> int:
        return self.process.pid

    def usage(self) -> Usage:
        return usage(self.pid)

    async def stop(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if self.process.returncode is None:
            self.final_usage = self.usage()
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        _LIVE.discard(self.process)
        self.returncode = self.process.returncode
        return int(self.returncode or 0)

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


class Children:
    """Starts children and stops every one of them when the ``async with`` block ends."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    async def __aenter__(self) -> Children:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for child in reversed(self.children):
            await child.stop()

    async def spawn(
        self, name: str, argv: list[str], env: dict[str, str], *, pipe_stdout: bool = False
    ) -> Child:
        """Start ``argv`` in the repository; stderr goes to <log_dir>/<name>.log."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE if pipe_stdout else sink,
                stderr=sink,
            )
        _LIVE.add(process)
        child = Child(name, process, log)
        self.children.append(child)
        return child

    async def fake(self, name: str = "fake", latency_ms: float = 0.0) -> tuple[Child, str]:
        """The fake Bot API server in its own process; returns it and its root URL.

        ``latency_ms`` holds every Bot API answer back that long (a simulated round trip).
        """
        argv = [sys.executable, "-m", "fake_telegram", "--port", "0", "--token", TOKEN]
        argv += ["--latency-ms", str(latency_ms)]
        child = await self.spawn(name, argv, base_env(), pipe_stdout=True)
        assert child.process.stdout is not None
        try:
            line = await asyncio.wait_for(child.process.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            raise RuntimeError("the fake Bot API server did not start") from None
        text = line.decode().strip()
        if not text.startswith("listening on "):
            raise RuntimeError(f"the fake Bot API server said {text!r}: {child.log_text()}")
        return child, text.removeprefix("listening on ")

    async def bot(self, name: str, argv: list[str], api_url: str, **env: str) -> Child:
        """A bot in polling mode against the fake (``env`` adds or overrides variables)."""
        variables = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "RATE_LIMIT": "0",
            "LOG_LEVEL": os.environ.get("BENCH_BOT_LOG_LEVEL", "INFO"),
            **{k: v for k, v in os.environ.items() if k in PASSED_THROUGH},
            **env,
        }
        return await self.spawn(name, argv, base_env(**variables))


def our_bot_argv(work: Path) -> list[str]:
    """``python bot.py`` in polling mode, reading no .env file."""
    return [
        os.environ.get("BENCH_BOT_PYTHON", sys.executable),
        "bot.py",
        "--env-file",
        str(work / "no.env"),
    ]


def pg_probe_argv(work: Path) -> list[str]:
    """``bot.py`` run through bench/pg_probe.py, which counts its PostgreSQL statements."""
    return [
        os.environ.get("BENCH_BOT_PYTHON", sys.executable),
        "-m",
        "bench.pg_probe",
        "--env-file",
        str(work / "no.env"),
    ]


def baseline_bot_argv() -> list[str]:
    """Our bot with the update scheduling it had before issue 13 (bench/baseline_bot.py)."""
    return [os.environ.get("BENCH_BOT_PYTHON", sys.executable), "-m", "bench.baseline_bot"]


def floor_bot_argv() -> list[str]:
    """The minimal python-telegram-bot bot used as the floor."""
    return [sys.executable, "-m", "bench.floor_bot"]


def aiogram_floor_argv() -> list[str]:
    """The same calls as the floor with aiogram 3 (bench/aiogram_floor.py)."""
    return [sys.executable, "-m", "bench.aiogram_floor"]


def raw_floor_argv() -> list[str]:
    """The same calls as the floor with a bare aiohttp client (bench/raw_floor.py)."""
    return [sys.executable, "-m", "bench.raw_floor"]


async def wait_until_polling(
    http: aiohttp.ClientSession, api_url: str, child: Child, time_limit: float = READY_TIMEOUT
) -> int:
    """Wait until the bot long-polls getUpdates; returns the index of the next call to read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + time_limit
    while loop.time() < deadline:
        if child.process.returncode is not None:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_text()[-3000:]}")
        async with http.get(f"{api_url}/_fake/summary") as response:
            summary = (await response.json())["result"]
        if summary["polling"]:
            return int(summary["calls"])
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{child.name} did not start polling:\n{child.log_text()[-3000:]}")
