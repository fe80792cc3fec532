"""The storage backends every storage contract test runs on, and their fixtures.

``backend`` is parametrised over :data:`BACKENDS` (SQLite in a file and in memory, PostgreSQL on
a real server: see ``tests/postgres.py``); ``store`` is a fresh store of that backend on a
``clock`` the test moves by hand. ``tests/conftest.py`` makes the fixtures available to every
test module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from advisor import Knowledge
from storage.base import Store
from storage.postgres import PostgresStore
from storage.sqlite import SqliteStore
from tests.postgres import Postgres

DAY = 86400
START = 1_800_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, *, days: float = 0, seconds: float = 0) -> None:
        self.now += days * DAY + seconds


# -- backends ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """Where a test's store may live: its own folder, and (if it asked) its own schema."""

    tmp: Path
    postgres: Postgres | None = None


@dataclass(frozen=True)
class Backend:
    """How to open a fresh store of one kind, and how to corrupt a stored session in it."""

    open: Callable[[Where, Knowledge, Clock], Awaitable[Store]]
    corrupt: Callable[[Store, int, int, str], Awaitable[None]]
    needs_postgres: bool = False


async def _open_sqlite_file(where: Where, knowledge: Knowledge, clock: Clock) -> Store:
    return await SqliteStore(where.tmp / "state.sqlite3", knowledge, clock).open()


async def _open_sqlite_memory(where: Where, knowledge: Knowledge, clock: Clock) -> Store:
    return await SqliteStore(":memory:", knowledge, clock).open()


async def _open_postgres(where: Where, knowledge: Knowledge, clock: Clock) -> Store:
    assert where.postgres is not None
    return await where.postgres.store(knowledge, clock).open()


async def _corrupt_sqlite(store: Store, chat_id: int, user_id: int, raw: str) -> None:
    assert isinstance(store, SqliteStore)
    store.db.execute(
        "UPDATE sessions SET data = ? WHERE chat_id = ? AND user_id = ?", (raw, chat_id, user_id)
    )


async def _corrupt_postgres(store: Store, chat_id: int, user_id: int, raw: str) -> None:
    assert isinstance(store, PostgresStore)
    await store.pool.execute(
        "UPDATE sessions SET data = $1 WHERE chat_id = $2 AND user_id = $3", raw, chat_id, user_id
    )


BACKENDS: dict[str, Backend] = {
    "sqlite-file": Backend(_open_sqlite_file, _corrupt_sqlite),
    "sqlite-memory": Backend(_open_sqlite_memory, _corrupt_sqlite),
    "postgresql": Backend(_open_postgres, _corrupt_postgres, needs_postgres=True),
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
def where(backend: Backend, tmp_path: Path, request: pytest.FixtureRequest) -> Where:
    postgres = request.getfixturevalue("postgres") if backend.needs_postgres else None
    return Where(tmp_path, postgres)


@pytest.fixture
async def store(
    backend: Backend, where: Where, knowledge: Knowledge, clock: Clock
) -> AsyncIterator[Store]:
    opened = await backend.open(where, knowledge, clock)
    yield opened
    await opened.close()
