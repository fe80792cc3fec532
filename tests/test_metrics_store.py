"""The storage contract for the metrics (issue 25): every backend tells, in one cheap look, how
many messages are still owed and where the leads' deliveries stand, by state and destination.

Runs once per backend of :data:`tests.test_storage_contract.BACKENDS` (SQLite in a file and in
memory, PostgreSQL on a real server: see ``tests/postgres.py``).
"""

from __future__ import annotations

from storage.base import Backlog, Store
from tests.test_storage_contract import (
    ADA,
    BOB,
    START,
    Clock,
    a_message,
    add_lead,
)


async def test_an_empty_store_owes_nothing(store: Store) -> None:
    assert await store.backlog() == Backlog(outbox=0, deliveries={}, oldest_waiting={})


async def test_the_backlog_counts_owed_messages_and_deliveries_by_state_and_destination(
    store: Store, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("one"), a_message("two")])
    async with store.unit(BOB) as uow:
        await uow.outbox.put(BOB, [a_message("three", chat_id=BOB)])
    first = await add_lead(store, ADA, "telegram", "webhook")
    clock.advance(seconds=30)
    await add_lead(store, BOB, "telegram", "webhook")
    await add_lead(store, 303, "telegram")
    claimed = await store.claim_deliveries(["telegram", "webhook"], lease=60, limit=10)
    by = {(d.lead.user_id, d.destination): d for d in claimed}
    assert await store.delivery_done(by[ADA, "telegram"])
    assert await store.delivery_failed(by[ADA, "webhook"], "HTTP 500", int(clock.now) + 60)
    assert await store.delivery_failed(by[BOB, "webhook"], "HTTP 500", int(clock.now) + 60)
    await store.settle(first.id)  # its failing webhook delivery: handled by an admin
    clock.advance(seconds=100)

    backlog = await store.backlog()

    assert backlog.outbox == 3
    assert backlog.deliveries == {
        ("delivered", "telegram"): 1,
        ("handled", "webhook"): 1,
        ("pending", "telegram"): 2,
        ("failing", "webhook"): 1,
    }
    assert backlog.oldest_waiting == {"telegram": int(START) + 30, "webhook": int(START) + 30}
    async with store.delivering(ADA) as delivery:
        for owed in await delivery.owed():
            await delivery.delivered(owed, 1)
    assert (await store.backlog()).outbox == 1
