"""A real PostgreSQL server for the tests, each test in a schema of its own.

``TEST_DATABASE_URL`` names the server (default: :data:`DEFAULT_URL`, trust auth on this
project's machines). Every test that asks for the ``postgres`` fixture gets a fresh schema
``sa_test_<random>``, dropped afterwards, so parallel runs never meet. Where no server answers,
those tests are skipped with one line saying how to enable them; under ``CI=true`` they fail.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from advisor import Knowledge
from settings import redact_url
from storage.postgres import PostgresStore, connect

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
CONNECT_SECONDS = 5.0
#: Why PostgreSQL tests were skipped in this run (None: they were not), for the summary line.
skipped_because: list[str] = []
_problem: dict[str, str | None] = {}


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "").strip() or DEFAULT_URL


@dataclass(frozen=True)
class Postgres:
    """A server and the schema one test has to itself."""

    url: str
    schema: str

    def store(
        self, knowledge: Knowledge, clock: Callable[[], float] = time.time, **options: int
    ) -> PostgresStore:
        """A store on this schema, not yet opened."""
        return PostgresStore(self.url, knowledge, clock, schema=self.schema, **options)

    def environment(self) -> dict[str, str]:
        """The variables that point ``python bot.py`` at this schema."""
        return {"DATABASE_URL": self.url, "DATABASE_SCHEMA": self.schema}

    async def connect(self) -> asyncpg.Connection[asyncpg.Record]:
        """A connection of its own, with this schema first on the search path."""
        return await connect(self.url, self.schema)


async def _check(url: str) -> str | None:
    try:
        connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    except Exception as exc:  # refused, unknown host, bad password …: say which
        return str(exc) or type(exc).__name__
    await connection.close()
    return None


async def _run(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def unreachable(url: str) -> str | None:
    """Why the server at ``url`` cannot be used (asked once per run), or None."""
    if url not in _problem:
        _problem[url] = asyncio.run(_check(url))
    return _problem[url]


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    """A fresh schema on the test server (a plain fixture: async tests and fixtures can use it)."""
    url = server_url()
    problem = unreachable(url)
    if problem is not None:
        message = (
            f"no PostgreSQL at {redact_url(url)} ({problem}): "
            "set TEST_DATABASE_URL to a server's URL to run the PostgreSQL tests"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: PostgreSQL is required)", pytrace=False)
        if message not in skipped_because:
            skipped_because.append(message)
        pytest.skip(message)
    schema = f"sa_test_{secrets.token_hex(6)}"
    asyncio.run(_run(url, f"CREATE SCHEMA {schema}"))
    try:
        yield Postgres(url, schema)
    finally:
        asyncio.run(_run(url, f"DROP SCHEMA {schema} CASCADE"))
