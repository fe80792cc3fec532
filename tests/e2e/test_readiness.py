"""The webhook server's checks for load balancers: /healthz (process up), /readyz (database).

The readiness check calls ``ping()`` of the store. ``Store.ping`` comes with the PostgreSQL
work; until then these tests give the real SQLite store a ping made of one real query.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from advisor import Knowledge
from frontends.telegram import build_application, webhook
from frontends.telegram.webhook import WebhookServer
from storage.sqlite import SqliteStore
from tests.e2e.conftest import MakeSettings
from tests.e2e.test_process import free_port


class Pingable(SqliteStore):
    """The SQLite store with a ping: one real query on its connection."""

    async def ping(self) -> None:
        await self.owing_users()


@pytest.fixture
async def store(tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[Pingable]:
    opened = Pingable(tmp_path / "state.sqlite3", knowledge)
    await opened.open()
    yield opened
    await opened.close()


async def serve(
    make_settings: MakeSettings, knowledge: Knowledge, database: webhook.Database
) -> tuple[WebhookServer, str]:
    app = build_application(make_settings(), knowledge)
    server = WebhookServer(
        app, path="/hook", secret="s3cret", listen="127.0.0.1", port=free_port(), database=database
    )
    await server.start()
    return server, f"http://127.0.0.1:{server.port}"


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_readyz_answers_200_while_the_database_answers(
    make_settings: MakeSettings, knowledge: Knowledge, store: Pingable
) -> None:
    server, root = await serve(make_settings, knowledge, store)
    try:
        assert await get(f"{root}/readyz") == (200, "ready")
        assert await get(f"{root}/healthz") == (200, "ok")
    finally:
        await server.stop()


async def test_readyz_answers_503_when_the_database_cannot_be_reached_and_healthz_still_200(
    make_settings: MakeSettings,
    knowledge: Knowledge,
    store: Pingable,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, root = await serve(make_settings, knowledge, store)
    try:
        await store.close()  # as if the database went away
        assert await get(f"{root}/readyz") == (503, "database unreachable")
        assert await get(f"{root}/healthz") == (200, "ok"), "the process itself is up"
    finally:
        await server.stop()
    assert "not ready: the database cannot be reached" in caplog.text


class Stalled:
    """A database that never answers."""

    async def ping(self) -> None:
        await asyncio.sleep(3600)


async def test_readyz_answers_503_when_the_database_does_not_answer_in_time(
    make_settings: MakeSettings, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "READY_TIMEOUT", 0.2)
    server, root = await serve(make_settings, knowledge, Stalled())
    try:
        assert await get(f"{root}/readyz") == (503, "database unreachable")
    finally:
        await server.stop()
