"""The storage contract for ``/leads``'s latest leads: every backend lists the newest leads with
every delivery of each, newest first, a page at a time, in one query.

Runs once per backend of :data:`tests.test_storage_contract.BACKENDS` (SQLite in a file and in
memory, PostgreSQL on a real server: see ``tests/postgres.py``).
"""

from __future__ import annotations

from pathlib import Path

from advisor import Knowledge
from storage.base import DELIVERED, HANDLED, PENDING, Store
from storage.sqlite import SqliteStore
from tests.test_storage_contract import ADA, BOB, START, Clock, add_lead


async def test_the_latest_leads_come_newest_first_each_with_every_delivery_by_destination(
    store: Store, clock: Clock
) -> None:
    first = await add_lead(store, ADA, "webhook", "telegram")
    second = await add_lead(store, BOB, "webhook")
    third = await add_lead(store, 303, "telegram")
    claimed = await store.claim_deliveries(["telegram", "webhook"], lease=60, limit=10)
    by_lead = {(d.lead.id, d.destination): d for d in claimed}
    clock.advance(seconds=5)
    assert await store.delivery_done(by_lead[first.id, "telegram"])
    assert await store.delivery_failed(by_lead[second.id, "webhook"], "HTTP 500", int(START) + 65)

    latest = await store.recent_leads(limit=10)

    assert [lead for lead, _ in latest] == [third, second, first]
    states = {
        lead.id: [(d.destination, d.status, d.attempts) for d in deliveries]
        for lead, deliveries in latest
    }
    assert states == {
        first.id: [("telegram", DELIVERED, 1), ("webhook", PENDING, 0)],
        second.id: [("webhook", PENDING, 1)],
        third.id: [("telegram", PENDING, 0)],
    }
    _, [failed] = latest[1]
    assert (failed.last_error, failed.next_attempt_at) == ("HTTP 500", int(START) + 65)
    _, [delivered, _] = latest[2]
    assert delivered.delivered_at == int(START) + 5
    assert all(d.lead == lead for lead, deliveries in latest for d in deliveries)


async def test_the_latest_leads_are_limited_and_page_back_from_a_lead_number(store: Store) -> None:
    leads = [await add_lead(store, user_id, "telegram") for user_id in range(1, 6)]
    numbers = [lead.id for lead in leads]

    page = await store.recent_leads(limit=2)
    assert [lead.id for lead, _ in page] == numbers[:-3:-1]  # the two newest
    older = await store.recent_leads(limit=2, before=page[-1][0].id)
    assert [lead.id for lead, _ in older] == [numbers[2], numbers[1]]
    assert [lead.id for lead, _ in await store.recent_leads(limit=9, before=numbers[1])] == [
        numbers[0]
    ]
    assert await store.recent_leads(limit=9, before=numbers[0]) == []
    assert await store.recent_leads(limit=9, before=0) == []


async def test_a_lead_stored_with_no_destination_is_listed_with_no_deliveries(
    store: Store,
) -> None:
    lead = await add_lead(store, ADA)
    assert await store.recent_leads(limit=5) == [(lead, ())]


async def test_a_lead_handled_by_an_admin_is_listed_as_handled_and_a_forgotten_one_not_at_all(
    store: Store, clock: Clock
) -> None:
    handled = await add_lead(store, ADA, "telegram", "webhook")
    await add_lead(store, BOB, "telegram")
    clock.advance(seconds=30)
    assert await store.settle(handled.id) == 2
    async with store.unit(BOB) as uow:
        await uow.forget(BOB)

    [(lead, deliveries)] = await store.recent_leads(limit=5)

    assert lead == handled
    assert [(d.destination, d.status, d.delivered_at) for d in deliveries] == [
        ("telegram", HANDLED, int(START) + 30),
        ("webhook", HANDLED, int(START) + 30),
    ]


async def test_there_are_no_latest_leads_in_an_empty_store(store: Store) -> None:
    assert await store.recent_leads(limit=10) == []


async def test_fifty_latest_leads_are_read_in_one_query_on_sqlite(
    knowledge: Knowledge, clock: Clock, tmp_path: Path
) -> None:
    store = await SqliteStore(tmp_path / "state.sqlite3", knowledge, clock).open()
    try:
        for user_id in range(1, 61):
            await add_lead(store, user_id, "telegram", "webhook")
        statements: list[str] = []
        reads = store._reads
        reads.set_trace_callback(statements.append)
        try:
            latest = await store.recent_leads(limit=50)
        finally:
            reads.set_trace_callback(None)
        assert len(latest) == 50 and all(len(deliveries) == 2 for _, deliveries in latest)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    finally:
        await store.close()
