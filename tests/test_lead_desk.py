"""The lead desk on its own: real stores, pretend destinations, a clock moved by hand."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from advisor import Knowledge
from handoff import TELEGRAM, WEBHOOK, DeliveryFailed, HandOff, LeadDesk, RetrySchedule
from storage.base import DELIVERED, HANDLED, PENDING, Lead, Store
from storage.sqlite import SqliteStore
from tests.postgres import Postgres
from tests.test_storage_contract import START, Clock


class Destination:
    """A pretend sales chat or CRM: records what arrives, fails on request."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.failures: list[Exception] = []
        self.tries = 0
        self.delay = 0.0

    async def __call__(self, lead: Lead) -> None:
        self.tries += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        self.got.append(lead.contact)


@pytest.fixture
async def store(knowledge: Knowledge, clock: Clock) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore(":memory:", knowledge, clock).open()
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def a_desk(store: Store, *destinations: str) -> tuple[LeadDesk, dict[str, Destination]]:
    hand_off = HandOff(destinations, unchecked=destinations)
    desk = LeadDesk(store, hand_off, schedule=RetrySchedule())
    pretend = {name: Destination() for name in destinations}
    desk.senders.update(pretend)
    return desk, pretend


async def add_lead(store: Store, user_id: int, *destinations: str) -> None:
    async with store.unit(user_id) as uow:
        await uow.leads.add(
            Lead(
                user_id, user_id, f"User {user_id}", f"u{user_id}@example.org", None, "django", {}
            ),
            destinations,
        )


async def test_a_due_lead_is_delivered_once_and_recorded_as_delivered(store: SqliteStore) -> None:
    desk, to = a_desk(store, TELEGRAM)
    await add_lead(store, 1, TELEGRAM)
    assert await desk.deliver_due() == 1
    assert await desk.deliver_due() == 0
    assert to[TELEGRAM].got == ["u1@example.org"]
    [delivery] = await store.deliveries_of(1)
    assert (delivery.status, delivery.attempts, delivery.delivered_at) == (DELIVERED, 1, START)


async def test_a_failure_is_kept_with_its_reason_and_tried_again_after_the_backoff(
    store: SqliteStore, clock: Clock
) -> None:
    desk, to = a_desk(store, TELEGRAM)
    to[TELEGRAM].failures = [DeliveryFailed("Internal Server Error"), DeliveryFailed("Bad Gateway")]
    await add_lead(store, 1, TELEGRAM)
    assert await desk.deliver_due() == 0
    [delivery] = await store.deliveries_of(1)
    assert (delivery.status, delivery.attempts) == (PENDING, 1)
    assert delivery.last_error == "Internal Server Error"
    assert (delivery.failing_since, delivery.next_attempt_at) == (START, START + 2)

    clock.advance(seconds=1)
    assert await desk.deliver_due() == 0 and to[TELEGRAM].tries == 1  # not due yet
    clock.advance(seconds=1)
    assert await desk.deliver_due() == 0 and to[TELEGRAM].tries == 2
    [delivery] = await store.deliveries_of(1)
    assert (delivery.attempts, delivery.next_attempt_at) == (2, START + 2 + 4)
    assert delivery.failing_since == START  # since the first failure
    clock.advance(seconds=4)
    assert await desk.deliver_due() == 1
    assert to[TELEGRAM].got == ["u1@example.org"]


async def test_when_a_destination_fails_the_other_leads_for_it_wait_and_other_destinations_go_on(
    store: SqliteStore, clock: Clock
) -> None:
    desk, to = a_desk(store, TELEGRAM, WEBHOOK)
    for user_id in (1, 2, 3):
        await add_lead(store, user_id, TELEGRAM, WEBHOOK)
    to[TELEGRAM].failures = [DeliveryFailed("Internal Server Error")]
    assert await desk.deliver_due() == 3  # the CRM got all three
    assert to[TELEGRAM].tries == 1  # one failure, and the sales chat was left alone after it
    assert to[WEBHOOK].got == [f"u{n}@example.org" for n in (1, 2, 3)]
    waiting = await desk.waiting(limit=10)
    assert [w.lead.id for w in waiting] == [1, 2, 3]
    for lead in waiting:
        [pending] = lead.pending
        assert (pending.destination, pending.next_attempt_at) == (TELEGRAM, START + 2)
        assert pending.last_error == "Internal Server Error"
    assert [d.attempts for w in waiting for d in w.pending] == [1, 0, 0]
    clock.advance(seconds=2)
    assert await desk.deliver_due() == 3
    assert to[TELEGRAM].got == [f"u{n}@example.org" for n in (1, 2, 3)]  # in their order


async def test_a_sender_that_breaks_does_not_lose_the_lead(
    store: SqliteStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    desk, to = a_desk(store, WEBHOOK)
    to[WEBHOOK].failures = [KeyError("oops")]
    await add_lead(store, 1, WEBHOOK)
    assert await desk.deliver_due() == 0
    [delivery] = await store.deliveries_of(1)
    assert delivery.status == PENDING and "unexpected error: KeyError('oops')" in str(
        delivery.last_error
    )
    assert "sending to webhook failed unexpectedly" in caplog.text
    clock.advance(seconds=2)
    assert await desk.deliver_due() == 1


async def test_a_sender_slower_than_half_the_lease_counts_as_failed(store: SqliteStore) -> None:
    desk, to = a_desk(store, WEBHOOK)
    desk.lease = 1  # an attempt may take at most 0.5 s
    to[WEBHOOK].delay = 2
    await add_lead(store, 1, WEBHOOK)
    assert await desk.deliver_due() == 0
    [delivery] = await store.deliveries_of(1)
    assert delivery.last_error == "no answer within 0.5 s" and delivery.claim == ""


async def test_an_unusable_destination_closes_the_hand_off_and_a_later_success_opens_it(
    store: SqliteStore, clock: Clock
) -> None:
    desk, to = a_desk(store, TELEGRAM)
    to[TELEGRAM].failures = [DeliveryFailed("Forbidden: bot was kicked", unusable=True)]
    await add_lead(store, 1, TELEGRAM)
    await desk.deliver_due()
    assert not desk.hand_off.is_open
    clock.advance(seconds=2)
    await desk.deliver_due()
    assert desk.hand_off.is_open


async def test_a_destination_found_working_again_gets_its_waiting_leads_at_once(
    store: SqliteStore, clock: Clock
) -> None:
    desk, to = a_desk(store, TELEGRAM)
    desk.hand_off.mark(TELEGRAM, False)
    to[TELEGRAM].failures = [DeliveryFailed("Forbidden", unusable=True)] * 3
    for user_id in (1, 2):
        await add_lead(store, user_id, TELEGRAM)
    await desk.deliver_due()
    to[TELEGRAM].failures = []
    assert await desk.deliver_due() == 0  # waiting for the backoff
    assert await desk.destination_works(TELEGRAM)
    assert not await desk.destination_works(TELEGRAM)  # no change: nothing to do
    assert await desk.deliver_due() == 2


async def test_a_call_while_a_pass_runs_makes_it_go_round_again(store: SqliteStore) -> None:
    desk, to = a_desk(store, WEBHOOK)
    to[WEBHOOK].delay = 0.2
    await add_lead(store, 1, WEBHOOK)
    running = asyncio.create_task(desk.deliver_due())
    await asyncio.sleep(0.05)
    await add_lead(store, 2, WEBHOOK)  # stored while the first is on its way
    assert await desk.deliver_due() == 0  # returns at once ...
    assert await running == 2  # ... and the running pass took the new lead too
    assert to[WEBHOOK].got == ["u1@example.org", "u2@example.org"]


async def test_an_admin_retries_a_lead_now_or_settles_it(store: SqliteStore) -> None:
    desk, to = a_desk(store, TELEGRAM)
    to[TELEGRAM].failures = [DeliveryFailed("down")] * 2
    for user_id in (1, 2):
        await add_lead(store, user_id, TELEGRAM)
    await desk.deliver_due()
    retried = await desk.retry(1)  # due now, whatever its backoff: the failure repeats
    assert retried is not None and retried.pending[0].attempts == 2
    retried = await desk.retry(1)
    assert retried is not None and retried.pending == ()
    assert to[TELEGRAM].got == ["u1@example.org"]
    settled = await desk.settle(2)
    assert settled is not None and [d.status for d in settled.deliveries] == [HANDLED]
    assert await desk.waiting(limit=10) == []
    assert await desk.lead(99) is None
    counts = await desk.counts()
    assert (counts.delivered, counts.waiting) == (2, 0)


async def test_admins_hear_about_an_overdue_lead_once(store: SqliteStore, clock: Clock) -> None:
    desk, to = a_desk(store, TELEGRAM)
    to[TELEGRAM].failures = [DeliveryFailed("down")] * 100
    await add_lead(store, 1, TELEGRAM)
    await desk.deliver_due()
    assert await desk.overdue(15 * 60) == []
    clock.advance(seconds=15 * 60)
    [late] = await desk.overdue(15 * 60)
    assert late.lead.id == 1 and late.pending[0].last_error == "down"
    clock.advance(seconds=3600)
    assert await desk.overdue(15 * 60) == []


# -- several instances on one PostgreSQL database --------------------------------------------


async def test_two_instances_sharing_postgresql_deliver_each_lead_exactly_once(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    stores = [await postgres.store(knowledge).open() for _ in range(2)]
    try:
        for user_id in range(1, 41):
            await add_lead(stores[0], user_id, TELEGRAM, WEBHOOK)
        desks = [a_desk(store, TELEGRAM, WEBHOOK) for store in stores]
        for _, to in desks:
            for destination in to.values():
                destination.delay = 0.005
        for desk, _ in desks:
            desk.batch = 7
        delivered = await asyncio.gather(*(desk.deliver_due() for desk, _ in desks))
        assert sum(delivered) == 80
        for destination in (TELEGRAM, WEBHOOK):
            arrived = Counter(c for _, to in desks for c in to[destination].got)
            assert set(arrived.values()) == {1} and len(arrived) == 40
        assert all(to[TELEGRAM].got for _, to in desks), "both instances took a share"
        counts = await desks[0][0].counts()
        assert (counts.delivered, counts.waiting) == (40, 0)
    finally:
        for store in stores:
            await store.close()


async def test_a_delivery_claimed_by_an_instance_that_died_is_taken_over_after_the_lease(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    clock = Clock()
    store = await postgres.store(knowledge, clock).open()
    try:
        await add_lead(store, 1, WEBHOOK)
        [taken] = await store.claim_deliveries([WEBHOOK], lease=60, limit=5)  # then it died
        desk, to = a_desk(store, WEBHOOK)
        assert await desk.deliver_due() == 0
        clock.advance(seconds=60)
        assert await desk.deliver_due() == 1
        assert to[WEBHOOK].got == ["u1@example.org"]
        assert not await store.delivery_done(taken)  # the dead claim can't record anything
    finally:
        await store.close()
