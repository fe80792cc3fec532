"""PostgreSQL for the benchmark: a throwaway schema per run, and the per-update database cost.

The server is ``BENCH_DATABASE_URL`` (else ``TEST_DATABASE_URL``, else the project machines'
``postgresql://postgres@127.0.0.1:5432/test``). Each run gets a fresh schema
``sa_bench_<random>`` (the bot creates its tables there at start-up), dropped afterwards. Our bot
runs under ``bench/pg_probe.py``, which counts its statements and transactions; the CPU time of
the PostgreSQL server processes serving the bot is read from /proc (the server is local).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from .processes import Child, usage

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
CONNECT_SECONDS = 5.0


def server_url() -> str:
    for name in ("BENCH_DATABASE_URL", "TEST_DATABASE_URL"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return DEFAULT_URL


def redact(url: str) -> str:
    """The URL without its password, for the JSON."""
    from settings import redact_url

    return redact_url(url)


async def unreachable(url: str) -> str | None:
    """Why the server cannot be used, or None."""
    try:
        connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    await connection.close()
    return None


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@dataclass
class Database:
    """One run's schema and the probe's files."""

    url: str
    schema: str
    work: Path

    @property
    def probe_out(self) -> Path:
        return self.work / "pg_probe.json"

    @property
    def pids_file(self) -> Path:
        return self.work / "pg_backends.txt"

    def environment(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.url,
            "DATABASE_SCHEMA": self.schema,
            "PG_PROBE_OUT": str(self.probe_out),
            "PG_PROBE_PIDS": str(self.pids_file),
        }

    def backend_pids(self) -> list[int]:
        try:
            text = self.pids_file.read_text(encoding="utf-8")
        except OSError:
            return []
        return [int(line) for line in text.split() if line.strip()]


@asynccontextmanager
async def schema(url: str, work: Path) -> AsyncIterator[Database]:
    """A fresh schema for one run, dropped at the end (the bot creates it at start-up)."""
    _mkdir(work)
    name = f"sa_bench_{secrets.token_hex(4)}"
    try:
        yield Database(url, name, work)
    finally:
        await _execute(url, f"DROP SCHEMA IF EXISTS {name} CASCADE")


class BackendMeter:
    """CPU of the server processes serving the bot, and the probe's counts, over a run."""

    def __init__(self, database: Database, bot: Child) -> None:
        self.database = database
        self.bot = bot
        self.cpu0 = self._cpu()
        with_start = Path(f"{database.probe_out}.start")
        with_start.unlink(missing_ok=True)
        bot.process.send_signal(signal.SIGUSR1)
        self.start_file = with_start
        self.cpu_end: dict[int, float] = {}

    def _cpu(self) -> dict[int, float]:
        return {
            pid: found
            for pid in self.database.backend_pids()
            if (found := usage(pid).cpu_seconds) is not None
        }

    def stop(self) -> None:
        """Read the backends' CPU while they are alive (before the bot stops)."""
        self.cpu_end = self._cpu()

    async def read(self, updates: int) -> dict[str, Any]:
        """After the bot exited: the probe's counts over the run, per update."""
        start = await _read_json(self.start_file)
        end = await _read_json(self.database.probe_out)
        backend_cpu = sum(cpu - self.cpu0.get(pid, 0.0) for pid, cpu in self.cpu_end.items())

        def delta(key: str) -> float:
            return float(end.get(key, 0)) - float(start.get(key, 0))

        statements, statement_s = delta("statements"), delta("statement_seconds")
        units, unit_s = delta("units"), delta("unit_seconds")
        singles = delta("single_statements")

        def per(value: float, scale: float = 1.0) -> float | None:
            return round(value / updates * scale, 3) if updates else None

        return {
            "statements": int(statements),
            "statements_per_update": per(statements),
            "statement_ms_mean": round(statement_s / statements * 1000, 3) if statements else None,
            "statement_ms_per_update": per(statement_s, 1000),
            "units": int(units),
            "units_per_update": per(units),
            "single_statements": int(singles),
            "transactions_per_update": per(units + singles),
            "unit_ms_mean": round(unit_s / units * 1000, 3) if units else None,
            "server_backends": len(self.cpu_end),
            "server_cpu_seconds": round(backend_cpu, 2),
            "server_cpu_ms_per_update": per(backend_cpu, 1000),
            "by_method": end.get("by_method"),
        }


async def _read_json(path: Path, wait: float = 5.0) -> dict[str, Any]:
    """The probe's file (it is written from a signal handler or at exit: give it a moment)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        found = _load(path)
        if found is not None or loop.time() >= deadline:
            return found or {}
        await asyncio.sleep(0.05)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found


def _mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
