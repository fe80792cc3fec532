"""The outbox marks what arrived: a message harmless to send twice (a button's answer, an edit)
is marked together with the message after it, one commit where there were two; anything else
is marked as soon as it arrived, so a crash never sends it twice. On SQLite, the marks of
everyone whose delivery finished at the same moment share one commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pytest

from advisor import Knowledge
from dialogs import outbox
from dialogs.outbox import Outbox
from handoff import DeliveryFailed, RetrySchedule
from storage.base import Outgoing, Owed, Store
from storage.sqlite import SqliteStore

USER = 7


class RecordingDelivery:
    """What is owed, and each batch of marks as the outbox made it."""

    def __init__(self, owed: list[Owed]) -> None:
        self._owed = owed
        self.batches: list[list[int]] = []

    async def owed(self) -> list[Owed]:
        return list(self._owed)

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        await self.delivered_all([(owed, message_id)])

    async def delivered_all(self, marks: Sequence[tuple[Owed, int | None]]) -> None:
        self.batches.append([owed.id for owed, _ in marks])


class OneUserStore:
    def __init__(self, delivery: RecordingDelivery) -> None:
        self.delivery = delivery

    @asynccontextmanager
    async def delivering(self, user_id: int) -> AsyncIterator[RecordingDelivery]:
        yield self.delivery


class Transport:
    """Sends everything but the kinds it is told to refuse; answers and edits are repeatable."""

    repeatable = frozenset({"answer", "edit"})

    def __init__(self, refuse: str = "") -> None:
        self.refuse = refuse
        self.sent: list[str] = []

    async def __call__(self, message: Outgoing) -> int | None:
        if message.kind == self.refuse:
            raise DeliveryFailed("the network is down", transient=True)
        self.sent.append(message.kind)
        return len(self.sent)


def owed(*kinds: str) -> list[Owed]:
    return [
        Owed(number, USER, Outgoing(USER, kind, {"text": kind}))
        for number, kind in enumerate(kinds, 1)
    ]


def outbox_for(delivery: RecordingDelivery) -> Outbox:
    return Outbox(cast(Store, cast(Any, OneUserStore(delivery))))


async def test_a_buttons_answer_and_its_edit_are_marked_delivered_in_one_go() -> None:
    delivery = RecordingDelivery(owed("answer", "edit"))
    assert await outbox_for(delivery).deliver(USER, Transport())
    assert delivery.batches == [[1, 2]]


async def test_a_sent_message_is_marked_as_soon_as_it_arrived_with_the_answers_before_it() -> None:
    delivery = RecordingDelivery(owed("answer", "send", "send", "edit"))
    transport = Transport()
    assert await outbox_for(delivery).deliver(USER, transport)
    assert transport.sent == ["answer", "send", "send", "edit"]
    assert delivery.batches == [[1, 2], [3], [4]]


async def test_when_a_message_fails_the_ones_that_arrived_before_it_are_still_marked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "OUTBOX_SCHEDULE", RetrySchedule(first=0, attempts=2))
    delivery = RecordingDelivery(owed("answer", "send"))
    assert not await outbox_for(delivery).deliver(USER, Transport(refuse="send"))
    assert delivery.batches == [[1]]  # the answer arrived; the message is still owed


async def test_a_transport_that_names_no_repeatable_kind_gets_every_message_marked_alone() -> None:
    class Plain(Transport):
        repeatable = frozenset()

    delivery = RecordingDelivery(owed("answer", "edit", "send"))
    assert await outbox_for(delivery).deliver(USER, Plain())
    assert delivery.batches == [[1], [2], [3]]


# -- on SQLite: many people's marks, one commit --------------------------------------------------


async def test_deliveries_finishing_together_are_marked_in_one_sqlite_commit(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    store = await SqliteStore(tmp_path / "state.sqlite3", knowledge).open()
    try:
        people = range(1, 21)
        for person in people:
            async with store.unit(person) as uow:
                await uow.outbox.put(person, [Outgoing(person, "edit", {"text": "Question 2"})])
        commits: list[str] = []
        store.db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        sent = await asyncio.gather(
            *(Outbox(store).deliver(person, Transport()) for person in people)
        )
        store.db.set_trace_callback(None)
        assert all(sent)
        assert len(commits) == 1  # twenty people's replies marked delivered at once
        assert await store.owing_users() == []
    finally:
        await store.close()


async def test_when_the_marking_commit_fails_every_delivery_waiting_on_it_is_still_owed(
    tmp_path: Path, knowledge: Knowledge
) -> None:
    store = await SqliteStore(tmp_path / "state.sqlite3", knowledge).open()
    try:
        for person in (1, 2):
            async with store.unit(person) as uow:
                await uow.outbox.put(person, [Outgoing(person, "send", {"text": "Hi"})])
        store.db.execute(
            "CREATE TRIGGER no_marks BEFORE DELETE ON outbox BEGIN "
            "SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        results = await asyncio.gather(
            *(Outbox(store).deliver(person, Transport()) for person in (1, 2)),
            return_exceptions=True,
        )
        assert all(isinstance(result, sqlite3.Error) for result in results)
        store.db.execute("DROP TRIGGER no_marks")
        assert sorted(await store.owing_users()) == [1, 2]  # sent again on their next update
    finally:
        await store.close()
