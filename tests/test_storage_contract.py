"""The storage contract: what every backend of ``storage.base.Store`` must do, and SQLite's own.

The contract tests run once per backend in :data:`BACKENDS`: SQLite (a file, and in memory) and
PostgreSQL (a real server, a fresh schema per test: see ``tests/postgres.py``). A backend joins
them by adding one entry: a factory that opens a fresh, empty store and a helper that writes
corrupt session data the way only that backend can.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from advisor import Knowledge
from advisor.session import Session
from storage.base import (
    BOT_CHANNEL,
    DELIVERED,
    FINISHED,
    HANDLED,
    LEAD,
    MINI_APP_CHANNEL,
    PENDING,
    SHARED,
    STARTED,
    WEB_CHANNEL,
    Lead,
    LeadCounts,
    LeadReach,
    LinkTotals,
    Live,
    Opening,
    Outgoing,
    StorageError,
    Store,
    Stored,
)
from storage.sqlite import MIGRATIONS, SqliteStore
from tests.storage_backends import DAY, START, Backend, Clock

ADA, BOB = 101, 202
GROUP = -300


# -- builders ----------------------------------------------------------------------------------


def a_session(**changes: object) -> Stored:
    """A stored session on the second question, with a source and a name."""
    session = Session(state="q_security", answers={"team": "python"}, round=2, source="ads")
    for name, value in changes.items():
        setattr(session, name, value)
    return Stored(session, first_name="Ada", last_update=41)


def a_lead(user_id: int = ADA, *, contact: str = "ada@example.org") -> Lead:
    return Lead(
        chat_id=user_id,
        user_id=user_id,
        name="Ada Lovelace",
        contact=contact,
        source="ads",
        recommendation="django",
        answers={"team": "python"},
    )


def a_message(text: str, *, chat_id: int = ADA, live: bool = False, digest: str = "") -> Outgoing:
    return Outgoing(chat_id, "send", {"text": text, "html": True}, live=live, digest=digest)


async def save(store: Store, user_id: int, stored: Stored, *, chat_id: int | None = None) -> None:
    async with store.unit(user_id) as uow:
        await uow.sessions.put(user_id if chat_id is None else chat_id, user_id, stored)


async def load(store: Store, user_id: int, *, chat_id: int | None = None) -> Stored | None:
    async with store.unit(user_id) as uow:
        return await uow.sessions.get(user_id if chat_id is None else chat_id, user_id)


async def live_of(store: Store, user_id: int, *, chat_id: int | None = None) -> Live | None:
    async with store.unit(user_id) as uow:
        return await uow.outbox.live(user_id if chat_id is None else chat_id, user_id)


async def owed_texts(store: Store, user_id: int) -> list[str]:
    async with store.unit(user_id) as uow:
        return [item.message.body["text"] for item in await uow.outbox.owed(user_id)]


# -- sessions ----------------------------------------------------------------------------------


async def test_a_saved_session_loads_back_as_it_was(store: Store) -> None:
    await save(store, ADA, a_session())
    loaded = await load(store, ADA)
    assert loaded is not None
    assert loaded.session == Session("q_security", {"team": "python"}, 2, "ads")
    assert (loaded.first_name, loaded.last_update) == ("Ada", 41)
    assert loaded.updated_at == int(START)
    assert not loaded.restored_fresh


async def test_saving_again_replaces_the_session_and_stamps_the_time(
    store: Store, clock: Clock
) -> None:
    await save(store, ADA, a_session())
    clock.advance(seconds=30)
    await save(store, ADA, a_session(state="result", answers={"team": "javascript"}))
    loaded = await load(store, ADA)
    assert loaded is not None
    assert (loaded.session.state, loaded.session.answers) == ("result", {"team": "javascript"})
    assert loaded.updated_at == int(START) + 30


async def test_a_user_never_seen_has_no_session(store: Store) -> None:
    await save(store, ADA, a_session())
    assert await load(store, BOB) is None
    assert await load(store, ADA, chat_id=GROUP) is None


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        json.dumps({"v": 99, "s": "q_security", "a": {"team": "python"}}),
        json.dumps({"v": 1, "s": "q_no_such_question", "a": {}}),
        json.dumps(["a", "list"]),
    ],
    ids=["bad-json", "unknown-version", "unknown-question", "not-an-object"],
)
async def test_corrupt_session_data_gives_a_fresh_session_marked_as_restored_fresh(
    store: Store, backend: Backend, raw: str
) -> None:
    await save(store, ADA, a_session())
    await backend.corrupt(store, ADA, ADA, raw)
    loaded = await load(store, ADA)
    assert loaded is not None
    assert loaded.session == Session()
    assert loaded.restored_fresh
    assert (loaded.first_name, loaded.last_update) == ("Ada", 41)


@pytest.mark.parametrize("read_in_between", [False, True], ids=["buffered", "after-a-read"])
async def test_a_unit_that_raises_commits_nothing(store: Store, read_in_between: bool) -> None:
    await save(store, ADA, a_session())
    with pytest.raises(RuntimeError, match="boom"):
        async with store.unit(ADA) as uow:
            await uow.sessions.put(ADA, ADA, a_session(state="result"))
            await uow.events.add(ADA, STARTED)
            await uow.leads.add(a_lead())
            await uow.outbox.put(ADA, [a_message("hello")])
            if read_in_between:
                assert await uow.events.latest(ADA, [STARTED]) == STARTED
            raise RuntimeError("boom")
    loaded = await load(store, ADA)
    assert loaded is not None and loaded.session.state == "q_security"
    assert await store.events_since(0) == []
    assert await store.all_leads() == []
    assert await owed_texts(store, ADA) == []
    assert await store.owing_users() == []


async def test_reports_do_not_see_a_units_writes_before_it_commits(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, a_session())
        await uow.events.add(ADA, STARTED)
        assert await uow.events.latest(ADA, [STARTED]) == STARTED  # the writes are applied
        report = asyncio.create_task(store.all_sessions())
        await asyncio.sleep(0.05)
        during = report.result() if report.done() else None  # a backend may wait for the unit
    assert during in (None, [])
    assert len(await report) == 1 if during is None else True
    assert len(await store.all_sessions()) == 1


async def test_a_unit_sees_its_own_writes_before_it_commits(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, a_session())
        await uow.events.add(ADA, STARTED)
        stored = await uow.sessions.get(ADA, ADA)
        assert stored is not None and stored.session.state == "q_security"
        assert await uow.events.latest(ADA, [STARTED, FINISHED]) == STARTED


# -- events and leads --------------------------------------------------------------------------


async def test_events_are_recorded_with_the_time_source_and_detail(
    store: Store, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, STARTED, source="ads")
    clock.advance(seconds=60)
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, FINISHED, source="ads", detail="django")
    events = await store.events_since(0)
    assert [(e.at, e.user_id, e.kind, e.source, e.detail) for e in events] == [
        (int(START), ADA, STARTED, "ads", None),
        (int(START) + 60, ADA, FINISHED, "ads", "django"),
    ]


async def test_the_latest_event_is_the_most_recent_of_the_kinds_asked_for(store: Store) -> None:
    async with store.unit(ADA) as uow:
        assert await uow.events.latest(ADA, [STARTED, FINISHED]) is None
        await uow.events.add(ADA, STARTED)
        await uow.events.add(ADA, FINISHED, detail="django")
        await uow.events.add(ADA, LEAD, detail="django")
    async with store.unit(ADA) as uow:
        assert await uow.events.latest(ADA, [STARTED, FINISHED]) == FINISHED
        assert await uow.events.latest(ADA, [STARTED]) == STARTED
        assert await uow.events.latest(BOB, [STARTED, FINISHED]) is None


async def test_an_event_exists_only_for_its_user_kind_and_detail(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, "shared", detail="r_abc")
    async with store.unit(ADA) as uow:
        assert await uow.events.exists(ADA, "shared", "r_abc")
        assert not await uow.events.exists(ADA, "shared", "r_xyz")
        assert not await uow.events.exists(ADA, FINISHED, "r_abc")
        assert not await uow.events.exists(BOB, "shared", "r_abc")


async def test_events_since_leaves_out_older_events(store: Store, clock: Clock) -> None:
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, STARTED, detail="old")
    clock.advance(days=10)
    async with store.unit(BOB) as uow:
        await uow.events.add(BOB, STARTED, detail="new")
    since = int(clock.now - DAY)
    assert [e.detail for e in await store.events_since(since)] == ["new"]
    assert [e.detail for e in await store.events_since(int(clock.now))] == ["new"]


async def test_leads_come_back_oldest_first_with_their_answers(store: Store, clock: Clock) -> None:
    async with store.unit(ADA) as uow:
        await uow.leads.add(a_lead(ADA, contact="ada@example.org"))
    clock.advance(seconds=5)
    async with store.unit(BOB) as uow:
        await uow.leads.add(a_lead(BOB, contact="+15550100"))
    leads = await store.all_leads()
    assert [(lead.user_id, lead.contact, lead.at) for lead in leads] == [
        (ADA, "ada@example.org", int(START)),
        (BOB, "+15550100", int(START) + 5),
    ]
    assert leads[0].answers == {"team": "python"}
    assert (leads[0].name, leads[0].source, leads[0].recommendation) == (
        "Ada Lovelace",
        "ads",
        "django",
    )


# -- the outbox ----------------------------------------------------------------------------------


async def test_owed_messages_come_back_in_the_order_they_were_put(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("one"), a_message("two")])
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("three")])
    assert await owed_texts(store, ADA) == ["one", "two", "three"]
    assert await owed_texts(store, BOB) == []


async def test_an_owed_message_keeps_its_chat_kind_body_and_digest(store: Store) -> None:
    message = Outgoing(
        GROUP, "edit", {"message_id": 7, "text": "Ünïcode ✓", "markup": {"k": [1]}}, True, "d1"
    )
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [message])
    async with store.unit(ADA) as uow:
        [owed] = await uow.outbox.owed(ADA)
    assert owed.user_id == ADA
    assert owed.message == message


async def test_a_delivered_message_is_no_longer_owed(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("one"), a_message("two")])
        first, _ = await uow.outbox.owed(ADA)
    async with store.unit(ADA) as uow:
        await uow.outbox.delivered(first, 55)
    assert await owed_texts(store, ADA) == ["two"]
    assert await live_of(store, ADA) is None  # a message that is not live stays not live


async def test_a_delivered_live_message_becomes_the_live_one_with_its_digest(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("question 1", live=True, digest="aaa")])
        [first] = await uow.outbox.owed(ADA)
    async with store.unit(ADA) as uow:
        await uow.outbox.delivered(first, 10)
    assert await live_of(store, ADA) == Live(10, "aaa")

    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("question 2", live=True, digest="bbb")])
        [second] = await uow.outbox.owed(ADA)
        await uow.outbox.delivered(second, 11)
    assert await live_of(store, ADA) == Live(11, "bbb")
    assert await live_of(store, ADA, chat_id=GROUP) is None


async def test_a_live_message_delivered_without_an_id_leaves_the_live_one_alone(
    store: Store,
) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("q1", live=True, digest="aaa")])
        [first] = await uow.outbox.owed(ADA)
        await uow.outbox.delivered(first, 10)
        await uow.outbox.put(ADA, [a_message("q2", live=True, digest="bbb")])
        [dropped] = await uow.outbox.owed(ADA)
        await uow.outbox.delivered(dropped, None)
    assert await live_of(store, ADA) == Live(10, "aaa")
    assert await owed_texts(store, ADA) == []


async def test_release_leaves_no_live_message_in_that_chat_only(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("private", live=True, digest="p")])
        await uow.outbox.put(ADA, [a_message("group", chat_id=GROUP, live=True, digest="g")])
        for owed, message_id in zip(await uow.outbox.owed(ADA), (1, 2), strict=True):
            await uow.outbox.delivered(owed, message_id)
    async with store.unit(ADA) as uow:
        await uow.outbox.release(ADA, ADA)
    assert await live_of(store, ADA) is None
    assert await live_of(store, ADA, chat_id=GROUP) == Live(2, "g")


async def test_owing_users_are_those_with_messages_still_owed(store: Store) -> None:
    assert await store.owing_users() == []
    for user_id in (ADA, BOB):
        async with store.unit(user_id) as uow:
            await uow.outbox.put(user_id, [a_message("hi", chat_id=user_id)])
    assert sorted(await store.owing_users()) == [ADA, BOB]
    async with store.unit(ADA) as uow:
        [owed] = await uow.outbox.owed(ADA)
        await uow.outbox.delivered(owed, 1)
    assert await store.owing_users() == [BOB]


# -- leads' deliveries (the lead queue) --------------------------------------------------------


async def add_lead(
    store: Store, user_id: int, *destinations: str, key: str = "", channel: str = BOT_CHANNEL
) -> Lead:
    """Store a lead owed to ``destinations``; return it as stored."""
    async with store.unit(user_id) as uow:
        await uow.leads.add(replace(a_lead(user_id), key=key, channel=channel), destinations)
    return [lead for lead in await store.all_leads() if lead.user_id == user_id][-1]


async def test_a_lead_owes_one_delivery_per_destination_due_at_once(store: Store) -> None:
    lead = await add_lead(store, ADA, "telegram", "webhook")
    assert lead.id > 0 and len(lead.key) == 36
    deliveries = await store.deliveries_of(lead.id)
    assert [(d.destination, d.status, d.attempts) for d in deliveries] == [
        ("telegram", PENDING, 0),
        ("webhook", PENDING, 0),
    ]
    assert {d.next_attempt_at for d in deliveries} == {int(START)}
    assert all(d.lead == lead and d.failing_since is None for d in deliveries)
    assert await store.deliveries_of(lead.id + 1) == []


async def test_a_leads_key_is_kept_when_given_and_unique_otherwise(store: Store) -> None:
    given = await add_lead(store, ADA, key="3b241101-e2bb-4255-8caf-4136c566a962")
    made = [await add_lead(store, BOB), await add_lead(store, 303)]
    assert given.key == "3b241101-e2bb-4255-8caf-4136c566a962"
    assert len({given.key, *(lead.key for lead in made)}) == 3


async def test_a_leads_channel_survives_the_round_trip_through_the_store(store: Store) -> None:
    for user_id, channel in ((ADA, WEB_CHANNEL), (BOB, MINI_APP_CHANNEL)):
        async with store.unit(user_id) as uow:
            await uow.leads.add(replace(a_lead(user_id), channel=channel), ["telegram"])
    async with store.unit(303) as uow:
        await uow.leads.add(a_lead(303), ["telegram"])  # no channel given: the bot's
    leads = await store.all_leads()
    assert [(lead.user_id, lead.channel) for lead in leads] == [
        (ADA, "web"),
        (BOB, "mini_app"),
        (303, "telegram"),
    ]
    claimed = await store.claim_deliveries(["telegram"], lease=60, limit=10)
    assert [d.lead.channel for d in claimed] == ["web", "mini_app", "telegram"]
    assert [d.lead for d in await store.pending_deliveries(limit=10)] == leads
    [of_web] = await store.deliveries_of(leads[0].id)
    assert of_web.lead == leads[0]


async def test_claiming_takes_due_deliveries_to_the_destinations_asked_oldest_lead_first(
    store: Store, clock: Clock
) -> None:
    first = await add_lead(store, ADA, "telegram", "webhook")
    second = await add_lead(store, BOB, "telegram")
    claimed = await store.claim_deliveries(["telegram"], lease=60, limit=10)
    assert [(d.lead.id, d.destination) for d in claimed] == [
        (first.id, "telegram"),
        (second.id, "telegram"),
    ]
    assert all(d.claim and d.claimed_until == int(START) + 60 for d in claimed)
    assert await store.claim_deliveries(["telegram"], lease=60, limit=10) == []  # held
    [crm] = await store.claim_deliveries(["webhook", "sms"], lease=60, limit=1)
    assert crm.lead.id == first.id
    assert await store.claim_deliveries([], lease=60, limit=10) == []


async def test_a_claim_can_be_limited_to_one_lead_and_to_a_number(store: Store) -> None:
    for user_id in (ADA, BOB, 303):
        await add_lead(store, user_id, "webhook")
    [lead_2] = await store.claim_deliveries(["webhook"], lease=60, limit=5, lead_id=2)
    assert lead_2.lead.user_id == BOB
    assert [d.lead.id for d in await store.claim_deliveries(["webhook"], lease=60, limit=1)] == [1]


async def test_a_claim_that_ran_out_can_be_taken_again_and_the_old_claim_records_nothing(
    store: Store, clock: Clock
) -> None:
    await add_lead(store, ADA, "webhook")
    [old] = await store.claim_deliveries(["webhook"], lease=60, limit=5)
    clock.advance(seconds=59)
    assert await store.claim_deliveries(["webhook"], lease=60, limit=5) == []
    clock.advance(seconds=1)
    [new] = await store.claim_deliveries(["webhook"], lease=60, limit=5)
    assert new.id == old.id and new.claim != old.claim
    assert not await store.delivery_done(old)
    assert not await store.delivery_failed(old, "late", int(clock.now) + 5)
    assert await store.delivery_done(new)
    assert not await store.delivery_done(new)  # once only


async def test_two_claims_at_once_never_take_the_same_delivery(store: Store) -> None:
    for user_id in range(1, 31):
        await add_lead(store, user_id, "telegram", "webhook")
    batches = await asyncio.gather(
        *(store.claim_deliveries(["telegram", "webhook"], lease=60, limit=7) for _ in range(10))
    )
    ids = [d.id for batch in batches for d in batch]
    assert len(ids) == len(set(ids)) == 60


async def test_a_delivered_delivery_is_never_claimed_again(store: Store, clock: Clock) -> None:
    lead = await add_lead(store, ADA, "telegram")
    [claimed] = await store.claim_deliveries(["telegram"], lease=60, limit=5)
    clock.advance(seconds=3)
    assert await store.delivery_done(claimed)
    [done] = await store.deliveries_of(lead.id)
    assert (done.status, done.attempts, done.delivered_at, done.claim) == (
        DELIVERED,
        1,
        int(START) + 3,
        "",
    )
    clock.advance(days=1)
    assert await store.claim_deliveries(["telegram"], lease=60, limit=5) == []
    assert await store.retry_now() == 0


async def test_a_failed_attempt_counts_keeps_its_reason_and_waits_until_the_retry_time(
    store: Store, clock: Clock
) -> None:
    lead = await add_lead(store, ADA, "telegram")
    [claimed] = await store.claim_deliveries(["telegram"], lease=60, limit=5)
    assert await store.delivery_failed(claimed, "Internal Server Error", int(START) + 2)
    [failed] = await store.deliveries_of(lead.id)
    assert (failed.attempts, failed.last_error, failed.failing_since) == (
        1,
        "Internal Server Error",
        int(START),
    )
    assert (failed.next_attempt_at, failed.claim, failed.claimed_until) == (
        int(START) + 2,
        "",
        None,
    )
    assert await store.claim_deliveries(["telegram"], lease=60, limit=5) == []
    clock.advance(seconds=2)
    [again] = await store.claim_deliveries(["telegram"], lease=60, limit=5)
    assert await store.delivery_failed(again, "Bad Gateway", int(clock.now) + 4)
    [failed] = await store.deliveries_of(lead.id)
    assert (failed.attempts, failed.last_error, failed.failing_since) == (
        2,
        "Bad Gateway",
        int(START),
    )


async def test_a_postponed_delivery_keeps_its_attempts_and_waits_no_less(
    store: Store, clock: Clock
) -> None:
    lead = await add_lead(store, ADA, "telegram")
    [claimed] = await store.claim_deliveries(["telegram"], lease=60, limit=5)
    await store.delivery_postponed(claimed, "the sales chat is failing", int(START) + 8)
    [waiting] = await store.deliveries_of(lead.id)
    assert (waiting.attempts, waiting.next_attempt_at, waiting.claim) == (0, int(START) + 8, "")
    assert (waiting.last_error, waiting.failing_since) == ("the sales chat is failing", int(START))
    clock.advance(seconds=8)
    [claimed] = await store.claim_deliveries(["telegram"], lease=60, limit=5)
    await store.delivery_postponed(claimed, "still", int(START) + 2)  # never earlier
    [waiting] = await store.deliveries_of(lead.id)
    assert waiting.next_attempt_at == int(START) + 8


async def test_retrying_now_makes_pending_deliveries_due_by_lead_destination_or_all(
    store: Store, clock: Clock
) -> None:
    for user_id in (ADA, BOB):
        await add_lead(store, user_id, "telegram", "webhook")
    for delivery in await store.claim_deliveries(["telegram", "webhook"], lease=60, limit=9):
        await store.delivery_failed(delivery, "down", int(START) + 600)
    clock.advance(seconds=5)
    assert await store.retry_now(lead_id=1) == 2
    assert await store.retry_now(destination="webhook") == 2
    due = await store.claim_deliveries(["telegram", "webhook"], lease=60, limit=9)
    assert sorted((d.lead.id, d.destination) for d in due) == [
        (1, "telegram"),
        (1, "webhook"),
        (2, "webhook"),
    ]
    for delivery in due:
        await store.delivery_failed(delivery, "down", int(clock.now) + 600)
    assert await store.retry_now() == 4


async def test_a_settled_lead_is_never_claimed_and_counts_as_done(store: Store) -> None:
    lead = await add_lead(store, ADA, "telegram", "webhook")
    [crm] = await store.claim_deliveries(["webhook"], lease=60, limit=5)
    assert await store.delivery_done(crm)
    assert await store.settle(lead.id) == 1
    assert [d.status for d in await store.deliveries_of(lead.id)] == [HANDLED, DELIVERED]
    assert await store.claim_deliveries(["telegram", "webhook"], lease=60, limit=5) == []
    assert await store.settle(lead.id) == 0
    assert await store.lead_counts() == LeadCounts(delivered=1, waiting=0)


async def test_pending_deliveries_list_the_oldest_waiting_leads_with_all_their_deliveries(
    store: Store,
) -> None:
    for user_id in (ADA, BOB, 303):
        await add_lead(store, user_id, "webhook", "telegram")
    [crm] = await store.claim_deliveries(["webhook"], lease=60, limit=1)
    assert await store.delivery_done(crm)
    listed = await store.pending_deliveries(limit=2)
    assert [(d.lead.id, d.destination, d.status) for d in listed] == [
        (1, "telegram", PENDING),
        (1, "webhook", DELIVERED),
        (2, "telegram", PENDING),
        (2, "webhook", PENDING),
    ]
    assert await store.lead_counts() == LeadCounts(delivered=0, waiting=3)


async def test_an_alert_is_claimed_once_for_a_delivery_failing_long_enough(
    store: Store, clock: Clock
) -> None:
    await add_lead(store, ADA, "telegram")
    await add_lead(store, BOB, "telegram")
    [first, second] = await store.claim_deliveries(["telegram"], lease=60, limit=5)
    await store.delivery_failed(first, "down", int(START) + 2)
    clock.advance(seconds=10)
    await store.delivery_failed(second, "down", int(clock.now) + 2)
    assert await store.claim_alerts(int(START) - 1) == []
    [alert] = await store.claim_alerts(int(START))
    assert (alert.lead.user_id, alert.last_error) == (ADA, "down")
    assert await store.claim_alerts(int(START)) == []
    [later] = await store.claim_alerts(int(clock.now))
    assert later.lead.user_id == BOB
    assert await store.claim_alerts(int(clock.now)) == []


async def test_where_a_users_leads_went_counts_delivered_in_flight_and_handled(
    store: Store, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        assert await uow.leads.reach(ADA) == LeadReach()
    first = await add_lead(store, ADA, "telegram", "webhook")
    await add_lead(store, ADA, "telegram")
    [crm] = await store.claim_deliveries(["webhook"], lease=60, limit=5)
    assert await store.delivery_done(crm)
    async with store.unit(ADA) as uow:
        assert await uow.leads.reach(ADA) == LeadReach(2, frozenset({"webhook"}))
    await store.claim_deliveries(["telegram"], lease=60, limit=1)  # on its way right now
    async with store.unit(ADA) as uow:
        assert await uow.leads.reach(ADA) == LeadReach(2, frozenset({"webhook", "telegram"}))
    clock.advance(seconds=60)  # that claim ran out: it did not arrive
    await store.settle(first.id)
    async with store.unit(ADA) as uow:
        assert await uow.leads.reach(ADA) == LeadReach(2, frozenset({"webhook"}), handled=True)
        assert await uow.leads.reach(BOB) == LeadReach()


async def test_forgetting_a_user_removes_their_leads_deliveries_and_no_one_elses(
    store: Store,
) -> None:
    await add_lead(store, ADA, "telegram", "webhook")
    bobs = await add_lead(store, BOB, "telegram")
    async with store.unit(ADA) as uow:
        assert await uow.forget(ADA) == 1 + 2  # the lead and its two deliveries
    assert [d.lead.id for d in await store.pending_deliveries(limit=10)] == [bobs.id]
    assert [
        d.lead.user_id for d in await store.claim_deliveries(["telegram"], lease=60, limit=5)
    ] == [BOB]


# -- reports and housekeeping ----------------------------------------------------------------


async def test_reports_see_each_sessions_state_and_source(store: Store, clock: Clock) -> None:
    await save(store, ADA, a_session())
    clock.advance(days=3)
    await save(store, BOB, a_session(state="result", source=None))
    every = await store.all_sessions()
    assert [(r.user_id, r.state, r.source, r.first_name) for r in every] == [
        (ADA, "q_security", "ads", "Ada"),
        (BOB, "result", None, "Ada"),
    ]
    assert every[0].answers == {"team": "python"}
    assert every[1].updated_at == int(START) + 3 * DAY


async def test_event_totals_add_up_events_per_source_kind_and_recommendation(
    store: Store, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, STARTED, source="old")
    clock.advance(days=10)
    async with store.unit(ADA) as uow:
        for _ in range(3):
            await uow.events.add(ADA, STARTED, source="ads")
        await uow.events.add(ADA, FINISHED, source="ads", detail="django")
        await uow.events.add(ADA, FINISHED, source="ads", detail="django")
        await uow.events.add(ADA, FINISHED, source="ads", detail="nodejs")
        await uow.events.add(BOB, STARTED)
        await uow.events.add(BOB, LEAD, detail="nodejs")
    totals = await store.event_totals(int(clock.now - DAY))
    counted = {(e.source, e.kind, e.detail): e.count for e in totals}
    assert counted == {
        ("ads", STARTED, None): 3,
        ("ads", FINISHED, "django"): 2,
        ("ads", FINISHED, "nodejs"): 1,
        (None, STARTED, None): 1,
        (None, LEAD, None): 1,
    }


async def test_waiting_sessions_are_counted_per_question_within_the_window(
    store: Store, clock: Clock
) -> None:
    await save(store, 1, a_session(state="q_size"))
    clock.advance(days=10)
    await save(store, 2, a_session())
    await save(store, 3, a_session())
    await save(store, 4, a_session(state="q_team", answers={}))
    await save(store, 5, a_session(state="result"))
    await save(store, 6, a_session(state="welcome", answers={}))
    waiting = await store.waiting_since(int(clock.now - DAY))
    assert waiting == {"q_security": 2, "q_team": 1}


async def test_a_tracked_link_exists_once_made_and_making_it_again_changes_nothing(
    store: Store,
) -> None:
    async with store.unit(ADA) as uow:
        assert not await uow.links.exists("spring_ads")
        await uow.links.add("spring_ads")
        await uow.links.add("spring_ads")
    async with store.unit(BOB) as uow:
        assert await uow.links.exists("spring_ads")
        assert not await uow.links.exists("spring")


async def test_forgetting_the_admin_who_made_a_link_keeps_the_link(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.links.add("spring_ads")
        await uow.forget(ADA)
    async with store.unit(BOB) as uow:
        assert await uow.links.exists("spring_ads")


async def test_every_link_is_listed_newest_first_with_its_counts_and_unused_ones_with_zeros(
    store: Store, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.links.add("autumn_fair")
    clock.advance(days=40)
    async with store.unit(ADA) as uow:
        await uow.links.add("spring_ads")
        await uow.events.add(BOB, STARTED, source="autumn_fair")
        await uow.events.add(BOB, FINISHED, source="autumn_fair", detail="django")
        await uow.events.add(BOB, SHARED, source="autumn_fair")
        await uow.events.add(BOB, LEAD, source="autumn_fair", detail="django")
        await uow.events.add(ADA, STARTED, source="made_up")
        await uow.events.add(ADA, STARTED)
    clock.advance(days=1)
    async with store.unit(ADA) as uow:
        await uow.links.add("webinar")
        await uow.events.add(ADA, STARTED, source="autumn_fair")
    assert await store.link_totals() == [
        LinkTotals("webinar", int(START) + 41 * DAY),
        LinkTotals("spring_ads", int(START) + 40 * DAY),
        LinkTotals("autumn_fair", int(START), started=2, finished=1, shared=1, leads=1),
    ]


async def test_a_store_without_links_lists_none(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, STARTED, source="ads")
    assert await store.link_totals() == []


async def test_the_first_name_is_kept_per_chat(store: Store) -> None:
    await save(store, ADA, a_session())
    assert await store.first_name(ADA, ADA) == "Ada"
    assert await store.first_name(GROUP, ADA) is None


async def applied(store: Store, user_id: int, update_id: int) -> bool:
    async with store.unit(user_id) as uow:
        return await uow.updates.applied(user_id, update_id)


async def test_an_applied_update_is_known_by_its_exact_id_and_user(store: Store) -> None:
    async with store.unit(ADA) as uow:
        assert not await uow.updates.applied(ADA, 11)
        await uow.updates.add(ADA, 11)
        assert await uow.updates.applied(ADA, 11)  # seen within the unit that recorded it
    assert await applied(store, ADA, 11)
    assert not await applied(store, ADA, 10)  # lower than the last applied, and still new
    assert not await applied(store, ADA, 12)
    assert not await applied(store, BOB, 11)


async def test_an_update_recorded_in_a_unit_that_fails_was_not_applied(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit(ADA) as uow:
            await uow.updates.add(ADA, 11)
            raise RuntimeError("the turn failed")
    assert not await applied(store, ADA, 11)


async def test_applied_update_ids_are_kept_a_day_and_purged_after(
    store: Store, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.updates.add(ADA, 11)
    clock.advance(days=1, seconds=-1)
    assert await applied(store, ADA, 11)
    await store.purge_idle(30)
    assert await applied(store, ADA, 11)
    clock.advance(seconds=2)  # Telegram no longer redelivers it, and may reuse the id
    assert not await applied(store, ADA, 11)
    await store.purge_idle(30)
    clock.now = START
    assert not await applied(store, ADA, 11)  # the purge removed the row itself


async def opening(store: Store, user_id: int, update_id: int, link: str | None = None) -> Opening:
    async with store.unit(user_id) as uow:
        return await uow.open_turn(user_id, user_id, update_id, link=link)


async def test_a_turn_opened_for_a_redelivered_update_is_a_repeat_and_records_nothing(
    store: Store, clock: Clock
) -> None:
    await save(store, ADA, a_session())
    first = await opening(store, ADA, 11)
    assert not first.repeat
    assert first.stored is not None and first.stored.session.state == "q_security"
    again = await opening(store, ADA, 11)
    assert again.repeat
    assert not (await opening(store, ADA, 10)).repeat  # lower than the last, and still new
    assert (await opening(store, BOB, 11)).stored is None  # another user: new, not a repeat
    clock.advance(days=1, seconds=1)  # Telegram no longer redelivers it, and may reuse the id
    assert not (await opening(store, ADA, 11)).repeat
    assert (await opening(store, ADA, 11)).repeat


async def test_a_turn_opened_without_an_update_id_is_never_a_repeat(store: Store) -> None:
    assert not (await opening(store, ADA, 0)).repeat
    assert not (await opening(store, ADA, 0)).repeat
    assert not await applied(store, ADA, 0)


async def test_the_update_of_a_turn_that_fails_is_not_applied(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit(ADA) as uow:
            assert not (await uow.open_turn(ADA, ADA, 11)).repeat
            raise RuntimeError("the turn failed")
    assert not (await opening(store, ADA, 11)).repeat  # applied now, by the retry


async def test_a_turn_opens_with_the_live_message_and_knows_tracked_links(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.links.add("ads")
        await uow.outbox.put(ADA, [a_message("question", live=True, digest="q")])
        [owed] = await uow.outbox.owed(ADA)
        await uow.outbox.delivered(owed, 7)
    found = await opening(store, ADA, 11, link="ads")
    assert (found.stored, found.live, found.known_link) == (None, Live(7, "q"), True)
    assert not (await opening(store, ADA, 12, link="made-up")).known_link
    assert (await opening(store, BOB, 13, link="ads")).live is None


async def test_what_a_unit_wrote_its_later_reads_see_in_order(store: Store) -> None:
    async with store.unit(ADA) as uow:
        await uow.events.add(ADA, STARTED)
        await uow.events.add(ADA, FINISHED, detail="django")
        assert await uow.events.latest(ADA, (STARTED, FINISHED)) == FINISHED
        await uow.sessions.put(ADA, ADA, a_session())
        await uow.sessions.put(ADA, ADA, Stored(Session(), "Ada", 42))  # the last put wins
        await uow.events.add(ADA, STARTED)
        assert await uow.events.latest(ADA, (STARTED, FINISHED)) == STARTED
        stored = await uow.sessions.get(ADA, ADA)
        assert stored is not None and stored.last_update == 42
        await uow.outbox.put(ADA, [a_message("one"), a_message("two")])
        await uow.outbox.put(ADA, [a_message("three")])
        assert [o.message.body["text"] for o in await uow.outbox.owed(ADA)] == [
            "one",
            "two",
            "three",
        ]
    assert (await load(store, ADA) or Stored()).last_update == 42
    [total] = [t for t in await store.event_totals(0) if t.kind == STARTED]
    assert total.count == 2


async def test_a_delivery_reads_what_is_owed_and_marks_each_message_delivered(
    store: Store,
) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("one"), a_message("two", live=True, digest="d")])
    async with store.delivering(ADA) as delivery:
        first, second = await delivery.owed()
        await delivery.delivered(first, 7)
        assert await owed_texts(store, ADA) == ["two"]
        await delivery.delivered(second, 8)
    assert await owed_texts(store, ADA) == []
    assert await live_of(store, ADA) == Live(8, "d")
    async with store.delivering(ADA) as delivery:
        assert await delivery.owed() == []


async def test_a_delivery_marked_after_forgetting_does_not_bring_a_live_message_back(
    store: Store,
) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("question", live=True, digest="q")])
    async with store.delivering(ADA) as delivery:
        [in_flight] = await delivery.owed()
        async with store.unit(ADA) as uow:
            await uow.forget(ADA)
        await delivery.delivered(in_flight, 77)
    assert await live_of(store, ADA) is None
    assert await owed_texts(store, ADA) == []


async def test_delivering_to_a_user_can_be_entered_again_once_left(store: Store) -> None:
    async with store.delivering(ADA), store.delivering(BOB):  # Bob's does not wait for Ada's
        pass
    async with store.delivering(ADA):
        pass


async def test_purging_removes_only_sessions_idle_for_longer_than_the_ttl(
    store: Store, clock: Clock
) -> None:
    await save(store, ADA, a_session())
    clock.advance(days=20)
    await save(store, BOB, a_session())
    clock.advance(days=11)
    assert await store.purge_idle(30) == 1
    assert await load(store, ADA) is None
    assert await load(store, BOB) is not None
    assert await store.purge_idle(30) == 0


async def _everything_about(store: Store, user_id: int) -> None:
    """A session in the private chat and in a group, events, a lead, owed and live messages."""
    await save(store, user_id, a_session())
    await save(store, user_id, a_session(), chat_id=GROUP)
    async with store.unit(user_id) as uow:
        await uow.events.add(user_id, STARTED)
        await uow.leads.add(a_lead(user_id))
        await uow.outbox.put(user_id, [a_message("live", chat_id=user_id, live=True, digest="x")])
        await uow.outbox.put(user_id, [a_message("group", chat_id=GROUP, live=True, digest="y")])
        for owed, message_id in zip(await uow.outbox.owed(user_id), (5, 6), strict=True):
            await uow.outbox.delivered(owed, message_id)
        await uow.outbox.put(user_id, [a_message("still owed", chat_id=user_id)])
        await uow.updates.add(user_id, 7)


async def test_forgetting_a_user_deletes_every_row_about_them_in_every_chat(store: Store) -> None:
    await _everything_about(store, ADA)
    await _everything_about(store, BOB)
    async with store.unit(ADA) as uow:
        removed = await uow.forget(ADA)
    assert removed == 2 + 1 + 1 + 1 + 2 + 1  # sessions, events, leads, outbox, live, updates
    assert not await applied(store, ADA, 7)
    assert await applied(store, BOB, 7)
    for chat_id in (ADA, GROUP):
        assert await load(store, ADA, chat_id=chat_id) is None
        assert await live_of(store, ADA, chat_id=chat_id) is None
    assert await owed_texts(store, ADA) == []
    assert {e.user_id for e in await store.events_since(0)} == {BOB}
    assert {lead.user_id for lead in await store.all_leads()} == {BOB}
    assert {row.user_id for row in await store.all_sessions()} == {BOB}
    assert await store.owing_users() == [BOB]
    assert await store.first_name(GROUP, ADA) is None


async def test_forgetting_a_user_leaves_other_users_as_they_were(store: Store) -> None:
    await _everything_about(store, ADA)
    await _everything_about(store, BOB)
    async with store.unit(ADA) as uow:
        await uow.forget(ADA)
    for chat_id in (BOB, GROUP):
        assert await load(store, BOB, chat_id=chat_id) is not None
    assert await live_of(store, BOB) == Live(5, "x")
    assert await live_of(store, BOB, chat_id=GROUP) == Live(6, "y")
    assert await owed_texts(store, BOB) == ["still owed"]


async def test_a_late_delivery_after_forgetting_does_not_bring_a_live_message_back(
    store: Store,
) -> None:
    async with store.unit(ADA) as uow:
        await uow.outbox.put(ADA, [a_message("question", live=True, digest="q")])
        [in_flight] = await uow.outbox.owed(ADA)
    async with store.unit(ADA) as uow:
        await uow.forget(ADA)
    async with store.unit(ADA) as uow:
        await uow.outbox.delivered(in_flight, 77)
    assert await live_of(store, ADA) is None
    assert await owed_texts(store, ADA) == []


async def test_an_open_store_answers_a_ping_and_a_closed_one_raises(store: Store) -> None:
    await store.ping()
    await save(store, ADA, a_session())
    await store.ping()
    await store.close()
    with pytest.raises(StorageError, match="not open"):
        await store.ping()


# -- SQLite only -----------------------------------------------------------------------------


def _old_schema_file(path: Path) -> None:
    """A database file as the bot wrote it before schema versioning (user_version 0)."""
    data = json.dumps({"v": 1, "s": "q_security", "a": {"team": "python"}, "src": "ads"})
    db = sqlite3.connect(path)
    try:
        db.executescript(MIGRATIONS[0])
        db.execute(
            "INSERT INTO sessions (chat_id, user_id, data, message_id, first_name, last_update, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ADA, ADA, data, 4242, "Ada", 17, int(START)),
        )
        db.execute(
            "INSERT INTO events (at, user_id, source, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (int(START), ADA, "ads", STARTED, None),
        )
        db.execute(
            "INSERT INTO leads (at, chat_id, user_id, name, contact, source, recommendation, "
            "answers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (int(START), ADA, ADA, "Ada Lovelace", "ada@example.org", "ads", "django", "{}"),
        )
        db.commit()
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    finally:
        db.close()


async def test_an_old_database_file_upgrades_on_open_without_losing_anything(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    path = tmp_path / "old.sqlite3"
    _old_schema_file(path)
    store = await SqliteStore(path, knowledge, clock).open()
    try:
        loaded = await load(store, ADA)
        assert loaded is not None and not loaded.restored_fresh
        assert loaded.session == Session("q_security", {"team": "python"}, 0, "ads")
        assert (loaded.first_name, loaded.last_update) == ("Ada", 17)
        assert await live_of(store, ADA) == Live(4242, "")
        [row] = await store.all_sessions()
        assert (row.state, row.source) == ("q_security", "ads")
        assert [(e.kind, e.source) for e in await store.events_since(0)] == [(STARTED, "ads")]
        totals = await store.event_totals(0)  # the daily totals are built from old events
        assert [(e.kind, e.source, e.count) for e in totals] == [(STARTED, "ads", 1)]
        assert [lead.contact for lead in await store.all_leads()] == ["ada@example.org"]
        async with store.unit(ADA) as uow:
            assert await uow.links.exists("ads")  # a source in use stays a known link
        version = store.db.execute("PRAGMA user_version").fetchone()[0]
        assert version == len(MIGRATIONS)
    finally:
        await store.close()


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS) + 1))
async def test_a_file_at_any_earlier_schema_version_upgrades_without_losing_anything(
    tmp_path: Path, knowledge: Knowledge, clock: Clock, version: int
) -> None:
    path = tmp_path / "old.sqlite3"
    _old_schema_file(path)
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:version], start=1):  # as that bot left it
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.close()
    store = await SqliteStore(path, knowledge, clock).open()
    try:
        assert (store.migrated_from, store.schema_version) == (version, len(MIGRATIONS))
        loaded = await load(store, ADA)
        assert loaded is not None and not loaded.restored_fresh
        assert loaded.session == Session("q_security", {"team": "python"}, 0, "ads")
        assert (loaded.first_name, loaded.last_update) == ("Ada", 17)
        assert await live_of(store, ADA) == Live(4242, "")
        assert [(e.kind, e.source) for e in await store.events_since(0)] == [(STARTED, "ads")]
        totals = await store.event_totals(0)
        assert [(e.kind, e.source, e.count) for e in totals] == [(STARTED, "ads", 1)]
        leads = await store.all_leads()
        assert [(lead.contact, lead.channel) for lead in leads] == [("ada@example.org", "telegram")]
        async with store.unit(ADA) as uow:
            assert await uow.links.exists("ads")
    finally:
        await store.close()


async def test_leads_from_before_version_8_came_through_the_telegram_bot(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    path = tmp_path / "old.sqlite3"
    _old_schema_file(path)
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:7], start=1):  # as the bot left it before
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(
        "INSERT INTO leads (key, at, chat_id, user_id, name, contact, source, recommendation, "
        "answers) VALUES ('k-bob', ?, ?, ?, 'Bob', '+15550100', NULL, 'nodejs', '{}')",
        (int(START) + 1, BOB, BOB),
    )
    db.execute(
        "INSERT INTO lead_deliveries (lead_id, user_id, destination, next_attempt_at, "
        "created_at) SELECT id, user_id, 'telegram', at, at FROM leads WHERE key = 'k-bob'"
    )
    db.close()
    store = await SqliteStore(path, knowledge, clock).open()
    try:
        assert (store.migrated_from, store.schema_version) == (7, len(MIGRATIONS))
        leads = await store.all_leads()
        assert [(lead.contact, lead.channel, lead.language) for lead in leads] == [
            ("ada@example.org", "telegram", ""),
            ("+15550100", "telegram", ""),
        ]
        [waiting] = await store.pending_deliveries(limit=10)
        assert waiting.lead == leads[1]
        new = await add_lead(store, 303, "telegram", channel=WEB_CHANNEL)
        assert new.channel == "web"
    finally:
        await store.close()


async def test_leads_from_before_version_6_get_an_id_and_a_unique_key_and_no_deliveries(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    path = tmp_path / "old.sqlite3"
    _old_schema_file(path)
    db = sqlite3.connect(path, isolation_level=None)
    for number, script in enumerate(MIGRATIONS[:5], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute(
        "INSERT INTO leads (at, chat_id, user_id, name, contact, source, recommendation, "
        "answers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (int(START) + 1, BOB, BOB, "Bob", "+15550100", None, "nodejs", "{}"),
    )
    db.close()
    store = await SqliteStore(path, knowledge, clock).open()
    try:
        leads = await store.all_leads()
        assert [(lead.id, lead.contact) for lead in leads] == [
            (1, "ada@example.org"),
            (2, "+15550100"),
        ]
        assert len({lead.key for lead in leads}) == 2 and all(len(lead.key) == 32 for lead in leads)
        assert await store.pending_deliveries(limit=10) == []  # sent through the outbox then
        new = await add_lead(store, 303, "telegram")
        assert new.id == 3
    finally:
        await store.close()


async def test_deliveries_a_killed_process_had_claimed_are_free_when_the_file_opens_again(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    path = tmp_path / "state.sqlite3"
    first = await SqliteStore(path, knowledge, clock).open()
    await add_lead(first, ADA, "telegram")
    [claimed] = await first.claim_deliveries(["telegram"], lease=60, limit=5)
    await first.close()  # as if killed: the claim was never released
    again = await SqliteStore(path, knowledge, clock).open()
    try:
        [free] = await again.claim_deliveries(["telegram"], lease=60, limit=5)
        assert free.id == claimed.id
    finally:
        await again.close()


async def test_opening_an_up_to_date_file_again_changes_nothing(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    path = tmp_path / "state.sqlite3"
    first = await SqliteStore(path, knowledge, clock).open()
    await save(first, ADA, a_session())
    await first.close()
    again = await SqliteStore(path, knowledge, clock).open()
    try:
        loaded = await load(again, ADA)
        assert loaded is not None and loaded.session.state == "q_security"
    finally:
        await again.close()


def _database_bytes(path: Path) -> dict[str, bytes]:
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return {f.name: f.read_bytes() for f in files if f.exists()}


async def test_after_forget_no_byte_of_the_users_contact_is_left_in_the_database_files(
    tmp_path: Path, knowledge: Knowledge, clock: Clock
) -> None:
    path = tmp_path / "state.sqlite3"
    contact = b"ada.secret.contact@example.org"
    store = await SqliteStore(path, knowledge, clock).open()
    try:
        await save(store, ADA, a_session())
        async with store.unit(ADA) as uow:
            await uow.leads.add(a_lead(contact=contact.decode()))
            await uow.outbox.put(ADA, [a_message(f"New lead: {contact.decode()}")])
        async with store.unit(ADA) as uow:
            [summary] = await uow.outbox.owed(ADA)
            await uow.outbox.delivered(summary, 9)
        await _everything_about(store, BOB)
        assert contact.decode() in [lead.contact for lead in await store.all_leads()]
        assert any(contact in raw for raw in _database_bytes(path).values())

        async with store.unit(ADA) as uow:
            await uow.forget(ADA)

        leftovers = [name for name, raw in _database_bytes(path).items() if contact in raw]
        assert leftovers == []
        assert [lead.user_id for lead in await store.all_leads()] == [BOB]
    finally:
        await store.close()


async def test_the_csv_export_has_every_session_and_lead_with_formulas_neutralised(
    store: Store, tmp_path: Path
) -> None:
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, a_session())
    async with store.unit(BOB) as uow:
        await uow.leads.add(
            Lead(BOB, BOB, "=HYPERLINK(1)", "bob@example.com", None, "django", {"team": "python"})
        )
    rows = await _exported(store, tmp_path)
    assert [r["User ID"] for r in rows] == [str(ADA), str(BOB)]
    assert rows[0]["Status"] == "Stopped at: Private data"
    assert rows[0]["Team's language"] == "Python" and rows[0]["Link"] == "ads"
    assert rows[1]["Name"] == "'=HYPERLINK(1)" and rows[1]["Contact"] == "bob@example.com"
    assert rows[1]["Recommendation"] == "Django" and rows[1]["Lead"] == "yes"
    assert rows[0]["Last active (UTC)"] == "2027-01-15 08:00"


async def test_the_csv_export_has_a_channel_column_naming_where_each_lead_came_from(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, a_session())
        await uow.leads.add(replace(a_lead(ADA), channel=MINI_APP_CHANNEL))
    clock.advance(seconds=1)
    async with store.unit(BOB) as uow:
        await uow.leads.add(a_lead(BOB))
    rows = await _exported(store, tmp_path)
    assert [(row["User ID"], row["Lead came through"]) for row in rows] == [
        (str(ADA), "Telegram Mini App"),  # on the row of the session it came from
        (str(BOB), "Telegram bot"),
    ]


async def test_a_leads_language_survives_the_round_trip_through_the_store(store: Store) -> None:
    for user_id, language in ((ADA, "pt"), (BOB, "ru")):
        async with store.unit(user_id) as uow:
            await uow.leads.add(replace(a_lead(user_id), language=language), ["telegram"])
    async with store.unit(303) as uow:
        await uow.leads.add(a_lead(303), ["telegram"])  # no language given: unknown
    leads = await store.all_leads()
    assert [(lead.user_id, lead.language) for lead in leads] == [
        (ADA, "pt"),
        (BOB, "ru"),
        (303, ""),
    ]
    claimed = await store.claim_deliveries(["telegram"], lease=60, limit=10)
    assert [d.lead.language for d in claimed] == ["pt", "ru", ""]
    assert [d.lead for d in await store.pending_deliveries(limit=10)] == leads


async def test_the_csv_export_has_a_language_column_for_sessions_and_leads(
    store: Store, tmp_path: Path, clock: Clock
) -> None:
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, a_session(language="es"))
        await uow.leads.add(replace(a_lead(ADA), language="pt", answers={"team": "javascript"}))
    clock.advance(seconds=1)
    async with store.unit(BOB) as uow:
        await uow.leads.add(a_lead(BOB))
    rows = await _exported(store, tmp_path)
    assert [(row["User ID"], row["Lead"], row["Language"]) for row in rows] == [
        (str(ADA), "", "Español"),
        (str(ADA), "yes", "Português"),  # a lead made with other answers: a row of its own
        (str(BOB), "yes", ""),
    ]


async def _exported(store: Store, tmp_path: Path) -> list[dict[str, str]]:
    """The export's rows as a spreadsheet reads them (English: commas)."""
    out = tmp_path / "export.csv"
    await store.export_csv(out)
    with out.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))
