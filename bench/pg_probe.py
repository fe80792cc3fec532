"""Our bot (``bot.py``) with its PostgreSQL work counted: the per-update database cost.

Runs ``bot.main`` unchanged after wrapping, in this process only:

* asyncpg's ``Connection.execute/executemany/fetch/fetchrow/fetchval``: how many statements the
  bot sends and how long each takes on the bot's clock (send to answer, so under load it also
  holds the time the event loop took to come back to it);
* ``PostgresStore.unit``: how many transactions (units of work) and how long each is open,
  from asking for the user's lock to the commit (waiting for the pool and the lock included);
  a statement sent outside a unit is a transaction of its own (``single_statements``: the
  delivery's lock and marks, the pool's connection resets), so transactions = units + those;
* the server process (``pg_backend_pid``) of every connection the bot uses, written to
  ``PG_PROBE_PIDS`` as soon as it is seen, so the benchmark can read those backends' CPU time
  from /proc while they are alive (PostgreSQL runs on this machine).

The counts are written as JSON to ``PG_PROBE_OUT`` when the bot exits, and to
``PG_PROBE_OUT.start`` on SIGUSR1 (the benchmark's start of measuring: the difference leaves
start-up and shutdown out). The wrappers cost about a microsecond per statement.

    PG_PROBE_OUT=probe.json PG_PROBE_PIDS=pids.txt python -m bench.pg_probe --env-file no.env
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import functools
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import asyncpg

import bot
from storage import postgres

STATEMENT_METHODS = ("execute", "executemany", "fetch", "fetchrow", "fetchval")
counts: dict[str, Any] = {
    "statements": 0,
    "statement_seconds": 0.0,
    "by_method": {},
    "units": 0,
    "unit_seconds": 0.0,
    "single_statements": 0,
}
_pids: set[int] = set()
_in_unit: contextvars.ContextVar[bool] = contextvars.ContextVar("in_unit", default=False)


def _seen(connection: asyncpg.Connection[Any]) -> None:
    pid = connection.get_server_pid()
    if pid in _pids:
        return
    _pids.add(pid)
    path = os.environ.get("PG_PROBE_PIDS")
    if path:
        with open(path, "a", encoding="utf-8") as sink:
            sink.write(f"{pid}\n")


def _timed(
    name: str, method: Callable[..., Coroutine[Any, Any, Any]]
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(method)
    async def wrapper(self: asyncpg.Connection[Any], *args: Any, **kwargs: Any) -> Any:
        _seen(self)
        started = time.perf_counter()
        try:
            return await method(self, *args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            counts["statements"] += 1
            counts["statement_seconds"] += spent
            if not _in_unit.get():
                counts["single_statements"] += 1
            by = counts["by_method"].setdefault(name, [0, 0.0])
            by[0] += 1
            by[1] += spent

    return wrapper


def install() -> None:
    for name in STATEMENT_METHODS:
        setattr(asyncpg.Connection, name, _timed(name, getattr(asyncpg.Connection, name)))
    unit = postgres.PostgresStore.unit

    @contextlib.asynccontextmanager
    async def timed_unit(
        self: postgres.PostgresStore, user_id: int
    ) -> AsyncIterator[postgres.PostgresUnit]:
        started = time.perf_counter()
        token = _in_unit.set(True)
        try:
            async with unit(self, user_id) as found:
                yield found
        finally:
            _in_unit.reset(token)
            counts["units"] += 1
            counts["unit_seconds"] += time.perf_counter() - started

    postgres.PostgresStore.unit = timed_unit  # type: ignore[method-assign]
    atexit.register(write)
    signal.signal(signal.SIGUSR1, lambda *_: write(".start"))


def write(suffix: str = "") -> None:
    path = os.environ.get("PG_PROBE_OUT")
    if path:
        with open(path + suffix, "w", encoding="utf-8") as sink:
            json.dump({**counts, "backend_pids": sorted(_pids)}, sink)


def main() -> int:
    install()
    try:
        return bot.main(sys.argv[1:])
    finally:
        write()


if __name__ == "__main__":
    sys.exit(main())
