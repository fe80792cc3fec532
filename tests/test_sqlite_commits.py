"""SQLite commits the turns that end together once: each turn is done only when its commit is,
a turn that fails takes only its own writes back, and a commit that fails fails every turn that
waited for it (none of them is kept, so Telegram sends their updates again)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from advisor import Knowledge
from storage.base import Outgoing, Owed
from storage.sqlite import SqliteStore

PEOPLE = range(1, 13)


@pytest.fixture
async def store(tmp_path: Path, knowledge: Knowledge) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore(tmp_path / "state.sqlite3", knowledge).open()
    yield opened
    await opened.close()


def commits_of(store: SqliteStore) -> list[str]:
    seen: list[str] = []
    store.db.set_trace_callback(lambda sql: seen.append(sql) if sql == "COMMIT" else None)
    return seen


def owed_on_disk(path: Path) -> list[int]:
    """What another connection (another program) sees as owed: only what was committed."""
    with sqlite3.connect(path) as other:
        return sorted(user for (user,) in other.execute("SELECT user_id FROM outbox"))


def deferred_check_at_commit(store: SqliteStore) -> None:
    """A table whose rows fail the COMMIT that would keep them (a foreign key checked then)."""
    store.db.execute("PRAGMA foreign_keys = ON")
    store.db.execute(
        "CREATE TABLE notes (user_id INTEGER REFERENCES sessions_check (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    store.db.execute("CREATE TABLE sessions_check (id INTEGER PRIMARY KEY)")


async def owe(store: SqliteStore, person: int, fail: bool = False) -> None:
    async with store.unit(person) as uow:
        await uow.outbox.put(person, [Outgoing(person, "send", {"text": "Hi"})])
        if fail:
            await uow.outbox.owed(person)  # the write is in the database before the failure
            raise RuntimeError("the turn broke")


async def test_turns_ending_together_are_committed_once_and_each_is_on_disk_when_done(
    store: SqliteStore, tmp_path: Path
) -> None:
    commits = commits_of(store)
    await asyncio.gather(*(owe(store, person) for person in PEOPLE))
    assert len(commits) == 1
    assert owed_on_disk(tmp_path / "state.sqlite3") == list(PEOPLE)


async def test_a_turn_that_fails_takes_back_its_own_writes_and_no_one_elses(
    store: SqliteStore, tmp_path: Path
) -> None:
    results = await asyncio.gather(
        owe(store, 1), owe(store, 2, fail=True), owe(store, 3), return_exceptions=True
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert owed_on_disk(tmp_path / "state.sqlite3") == [1, 3]


async def test_a_commit_that_fails_fails_every_turn_that_waited_for_it(
    store: SqliteStore, tmp_path: Path
) -> None:
    deferred_check_at_commit(store)

    async def broken_at_commit() -> None:
        async with store.unit(9) as uow:
            uow.write("INSERT INTO notes (user_id) VALUES (?)", (9,))  # checked at COMMIT

    results = await asyncio.gather(
        owe(store, 1), broken_at_commit(), owe(store, 2), return_exceptions=True
    )
    assert all(isinstance(result, sqlite3.IntegrityError) for result in results)
    assert owed_on_disk(tmp_path / "state.sqlite3") == []
    await owe(store, 4)  # the store goes on
    assert owed_on_disk(tmp_path / "state.sqlite3") == [4]


async def test_work_with_its_own_transaction_commits_the_waiting_turns_first(
    store: SqliteStore, tmp_path: Path
) -> None:
    turns = [asyncio.create_task(owe(store, person)) for person in PEOPLE]
    await asyncio.sleep(0)  # one turn of the loop: each runs up to its commit, and waits
    assert not any(turn.done() for turn in turns)
    assert await store.purge_idle(ttl_days=30) == 0  # runs BEGIN IMMEDIATE of its own
    assert all(turn.done() for turn in turns)  # committed before the purge began
    await asyncio.gather(*turns)
    assert owed_on_disk(tmp_path / "state.sqlite3") == list(PEOPLE)
    assert await store.owing_users() == list(PEOPLE)


async def test_a_read_of_writes_still_to_commit_is_done_only_when_they_are(
    store: SqliteStore,
) -> None:
    deferred_check_at_commit(store)

    async def turn_that_fails_at_commit() -> None:
        async with store.unit(1) as uow:
            await uow.outbox.put(1, [Outgoing(1, "send", {"text": "Hi"})])
            uow.write("INSERT INTO notes (user_id) VALUES (?)", (1,))

    async def delivery_reading_what_is_owed() -> list[Owed]:
        async with store.unit(1) as uow:
            return await uow.outbox.owed(1)  # sees the turn's message, not yet committed

    turn, read = await asyncio.gather(
        turn_that_fails_at_commit(), delivery_reading_what_is_owed(), return_exceptions=True
    )
    assert isinstance(turn, sqlite3.IntegrityError)
    assert isinstance(read, sqlite3.IntegrityError)  # so nothing it read is sent
    async with store.unit(1) as uow:
        assert await uow.outbox.owed(1) == []


async def test_closing_the_store_keeps_the_turns_that_ended(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    store = await SqliteStore(tmp_path / "state.sqlite3", knowledge).open()
    turns = [asyncio.create_task(owe(store, person)) for person in PEOPLE]
    await asyncio.sleep(0)  # one turn of the loop: each runs up to its commit, and waits
    assert not any(turn.done() for turn in turns)
    await store.close()
    await asyncio.gather(*turns)
    assert owed_on_disk(tmp_path / "state.sqlite3") == list(PEOPLE)
