"""PostgreSQL's own: migrations, one user's turns across instances, failures, /forget's reach.

The storage contract (``tests/test_storage_contract.py``) runs against PostgreSQL too; these
tests cover what only a shared server has: several stores (instances) on one database.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import asyncpg
import pytest

from advisor import Knowledge
from advisor.session import Session
from dialogs.engine import DialogEngine
from dialogs.turns import Begin, Person, Typed
from storage.base import (
    STARTED,
    Lead,
    Outgoing,
    StorageError,
    StoreBusy,
    Stored,
    StoreUnavailable,
)
from storage.postgres import MIGRATIONS, PostgresStore, schema_version
from tests.postgres import Postgres
from tests.test_conversation_service import build_conversation

ADA, BOB = 101, 202


@pytest.fixture
async def store(postgres: Postgres, knowledge: Knowledge) -> AsyncIterator[PostgresStore]:
    opened = await postgres.store(knowledge).open()
    yield opened
    await opened.close()


async def versions(postgres: Postgres) -> list[int]:
    connection = await postgres.connect()
    try:
        return [row[0] for row in await connection.fetch("SELECT version FROM schema_version")]
    finally:
        await connection.close()


async def bump(store: PostgresStore, user_id: int) -> None:
    """A read-modify-write of a counter kept in the session's last update id."""
    async with store.unit(user_id) as uow:
        stored = await uow.sessions.get(user_id, user_id) or Stored()
        await asyncio.sleep(random.uniform(0, 0.003))  # let the other instance try to cut in
        stored.last_update += 1
        await uow.sessions.put(user_id, user_id, stored)


async def counter(store: PostgresStore, user_id: int) -> int:
    async with store.unit(user_id) as uow:
        stored = await uow.sessions.get(user_id, user_id)
    return stored.last_update if stored else 0


# -- migrations ----------------------------------------------------------------------------------


async def test_a_fresh_database_is_migrated_to_the_latest_version(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    store = await postgres.store(knowledge).open()
    try:
        assert (store.migrated_from, store.schema_version) == (0, len(MIGRATIONS))
        assert await versions(postgres) == list(range(1, len(MIGRATIONS) + 1))
        await store.ping()
    finally:
        await store.close()


async def test_migrating_an_up_to_date_database_again_changes_nothing(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    first = await postgres.store(knowledge).open()
    async with first.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, Stored(Session(state="q_security"), "Ada", 7))
    await first.close()
    again = await postgres.store(knowledge).open()
    try:
        assert (again.migrated_from, again.schema_version) == (len(MIGRATIONS),) * 2
        assert await versions(postgres) == list(range(1, len(MIGRATIONS) + 1))
        async with again.unit(ADA) as uow:
            stored = await uow.sessions.get(ADA, ADA)
        assert stored is not None and stored.session.state == "q_security"
    finally:
        await again.close()


async def test_leads_from_version_1_get_a_unique_key_and_no_deliveries_on_upgrade(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    connection = await postgres.connect()
    try:
        await connection.execute(
            "CREATE TABLE schema_version (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await connection.execute(MIGRATIONS[0])
        await connection.execute("INSERT INTO schema_version (version) VALUES (1)")
        for user_id in (ADA, BOB):
            await connection.execute(
                "INSERT INTO leads (at, chat_id, user_id, name, contact, source, recommendation, "
                "answers) VALUES (1, $1, $1, 'Ada', 'ada@example.org', NULL, 'django', '{}')",
                user_id,
            )
    finally:
        await connection.close()
    store = await postgres.store(knowledge).open()
    try:
        assert (store.migrated_from, store.schema_version) == (1, len(MIGRATIONS))
        leads = await store.all_leads()
        assert len({lead.key for lead in leads}) == 2 and all(lead.key for lead in leads)
        assert await store.pending_deliveries(limit=10) == []
    finally:
        await store.close()


async def test_leads_from_before_version_5_came_through_the_telegram_bot_on_upgrade(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    connection = await postgres.connect()
    try:
        await connection.execute(
            "CREATE TABLE schema_version (version integer PRIMARY KEY, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for number, script in enumerate(MIGRATIONS[:4], start=1):  # as the bot left it before
            await connection.execute(script)
            await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
        await connection.execute(
            "WITH lead AS (INSERT INTO leads (key, at, chat_id, user_id, name, contact, source, "
            "recommendation, answers) VALUES ('k-ada', 1, $1, $1, 'Ada', 'ada@example.org', "
            "NULL, 'django', '{}') RETURNING id, user_id, at) "
            "INSERT INTO lead_deliveries (lead_id, user_id, destination, next_attempt_at, "
            "created_at) SELECT id, user_id, 'telegram', at, at FROM lead",
            ADA,
        )
    finally:
        await connection.close()
    store = await postgres.store(knowledge).open()
    try:
        assert (store.migrated_from, store.schema_version) == (4, len(MIGRATIONS))
        [old] = await store.all_leads()
        assert (old.key, old.channel, old.language) == ("k-ada", "telegram", "")
        [waiting] = await store.pending_deliveries(limit=10)
        assert waiting.lead == old
        async with store.unit(BOB) as uow:
            await uow.leads.add(
                Lead(
                    BOB,
                    BOB,
                    "Bob",
                    "+15550100",
                    None,
                    "nodejs",
                    {},
                    channel="mini_app",
                    language="pt",
                )
            )
        assert [(lead.channel, lead.language) for lead in await store.all_leads()] == [
            ("telegram", ""),
            ("mini_app", "pt"),
        ]
    finally:
        await store.close()


async def test_instances_starting_at_once_apply_each_migration_exactly_once(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    stores = [postgres.store(knowledge) for _ in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        assert sorted(store.migrated_from for store in stores) == [0] + [len(MIGRATIONS)] * 3
        assert {store.schema_version for store in stores} == {len(MIGRATIONS)}
        assert await versions(postgres) == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for store in stores:
            await store.close()


async def test_the_named_schema_is_created_when_it_does_not_exist_yet(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    elsewhere = Postgres(postgres.url, postgres.schema + "_new")
    try:
        store = await elsewhere.store(knowledge).open()
        await store.close()
        assert await versions(elsewhere) == list(range(1, len(MIGRATIONS) + 1))
    finally:
        connection = await postgres.connect()
        await connection.execute(f"DROP SCHEMA IF EXISTS {elsewhere.schema} CASCADE")
        await connection.close()


# -- one user's turns across instances -----------------------------------------------------------


async def test_two_instances_never_apply_one_users_updates_at_once(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        await asyncio.gather(*(bump(one if i % 2 else two, ADA) for i in range(50)))
        assert await counter(one, ADA) == 50
        assert await counter(two, ADA) == 50
    finally:
        await one.close()
        await two.close()


async def test_a_users_turn_on_another_instance_waits_for_the_first_and_sees_its_writes(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        async with one.unit(ADA) as uow:
            await uow.sessions.put(ADA, ADA, Stored(Session(), "Ada", 41))
            second = asyncio.create_task(counter(two, ADA))
            await asyncio.sleep(0.3)
            assert not second.done()  # waiting for ADA's lock, not reading the old row
        assert await asyncio.wait_for(second, 5) == 41
    finally:
        await one.close()
        await two.close()


async def test_one_users_turn_does_not_hold_up_another_users_turn(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        async with one.unit(ADA) as uow:
            await uow.sessions.put(ADA, ADA, Stored())
            await asyncio.wait_for(bump(two, BOB), 2)
            await asyncio.wait_for(bump(one, BOB), 2)  # the same instance: its pool has room
        assert await counter(one, BOB) == 2
    finally:
        await one.close()
        await two.close()


async def test_many_turns_of_one_user_in_one_instance_do_not_exhaust_its_pool(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    store = await postgres.store(knowledge, pool_size=2).open()
    try:
        turns = [bump(store, ADA) for _ in range(20)]
        await asyncio.wait_for(asyncio.gather(*turns, store.all_sessions()), 20)
        assert await counter(store, ADA) == 20
    finally:
        await store.close()


async def test_daily_totals_stay_exact_when_instances_count_at_once(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()

    async def start(store: PostgresStore, user_id: int) -> None:
        async with store.unit(user_id) as uow:
            await uow.events.add(user_id, STARTED, source="ads")

    try:
        await asyncio.gather(*(start(one if u % 2 else two, u) for u in range(1, 61)))
        [total] = await one.event_totals(0)
        assert (total.source, total.kind, total.count) == ("ads", STARTED, 60)
    finally:
        await one.close()
        await two.close()


async def test_an_update_applied_by_one_instance_is_a_repeat_on_any_other(
    postgres: Postgres, knowledge: Knowledge, engine: DialogEngine
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        first, second = build_conversation(engine, one), build_conversation(engine, two)
        ada = Person(ADA, ADA, "Ada")
        assert not (await first.handle(ada, Begin(), update_id=10)).repeat
        assert (await second.handle(ada, Begin(), update_id=10)).repeat
        both = await asyncio.gather(  # Telegram redelivering to another instance at once
            first.handle(ada, Typed("python"), update_id=11),
            second.handle(ada, Typed("python"), update_id=11),
        )
        assert sorted(outcome.repeat for outcome in both) == [False, True]
        assert [event.kind for event in await one.events_since(0)] == [STARTED]
        async with two.unit(ADA) as uow:
            stored = await uow.sessions.get(ADA, ADA)
        assert stored is not None and stored.last_update == 11
        assert stored.session.answers == {"team": "python"}
    finally:
        await one.close()
        await two.close()


async def test_updates_one_user_sent_at_once_to_two_instances_are_each_applied_once(
    postgres: Postgres, knowledge: Knowledge, engine: DialogEngine
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        first, second = build_conversation(engine, one), build_conversation(engine, two)
        ada = Person(ADA, ADA, "Ada")
        await first.handle(ada, Begin(), update_id=10)
        # 11 and 12 reach two instances at once, each twice (Telegram redelivering), in any
        # order: 12 applied before 11 must not make 11 look like a repeat.
        deliveries = [(first, 12), (second, 11), (second, 12), (first, 11)]
        random.shuffle(deliveries)
        outcomes = await asyncio.gather(
            *(
                service.handle(ada, Typed("python" if i == 11 else "yes"), update_id=i)
                for service, i in deliveries
            )
        )
        applied = sorted(i for (_, i), o in zip(deliveries, outcomes, strict=True) if not o.repeat)
        assert applied == [11, 12]
        async with one.unit(ADA) as uow:
            stored = await uow.sessions.get(ADA, ADA)
        assert stored is not None and stored.last_update == 12
        assert stored.session.answers["team"] == "python"  # ("yes" first is only a hint)
    finally:
        await one.close()
        await two.close()


async def test_two_instances_never_send_a_users_owed_message_twice(
    postgres: Postgres, knowledge: Knowledge, engine: DialogEngine
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    sent: list[str] = []

    async def slow_transport(message: Outgoing) -> int:
        await asyncio.sleep(0.02)  # the other instance tries to deliver meanwhile
        sent.append(message.body["text"])
        return len(sent)

    try:
        async with one.unit(ADA) as uow:
            await uow.outbox.put(ADA, [Outgoing(ADA, "send", {"text": f"m{n}"}) for n in range(3)])
        first, second = build_conversation(engine, one), build_conversation(engine, two)
        done = await asyncio.gather(
            first.deliver(ADA, slow_transport),
            second.deliver(ADA, slow_transport),
            second.deliver_all(slow_transport),
        )
        assert [bool(done[0]), bool(done[1]), done[2]] == [True, True, 0]
        assert sent == ["m0", "m1", "m2"]
        assert await one.owing_users() == []
    finally:
        await one.close()
        await two.close()


async def test_a_delivery_lock_held_by_an_instance_that_died_is_free_at_once(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        held = one.delivering(ADA)
        await held.__aenter__()
        waiting = asyncio.create_task(_enter_and_leave(two, ADA))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # the other instance waits for the delivery in progress
        one.pool.terminate()  # the process dies: its connections go with it
        await asyncio.wait_for(waiting, 5)
    finally:
        await two.close()


async def _enter_and_leave(store: PostgresStore, user_id: int) -> None:
    async with store.delivering(user_id):
        pass


async def test_a_delivery_to_one_user_does_not_hold_up_that_users_next_turn(
    postgres: Postgres, knowledge: Knowledge, engine: DialogEngine
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        async with one.delivering(ADA):
            outcome = await asyncio.wait_for(
                build_conversation(engine, two).handle(
                    Person(ADA, ADA, "Ada"), Begin(), update_id=10
                ),
                5,
            )
        assert not outcome.repeat and outcome.replies
    finally:
        await one.close()
        await two.close()


async def test_a_delivery_given_up_while_it_waited_leaves_no_lock_behind(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    one = await postgres.store(knowledge).open()
    two = await postgres.store(knowledge).open()
    try:
        async with one.unit(ADA):  # a turn of Ada's in flight: her delivery waits for it
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3), two.delivering(ADA):
                    pass
        # the connection that took Ada's delivery lock went back to the pool, unlocked
        async with asyncio.timeout(5), one.delivering(ADA):
            pass
    finally:
        await one.close()
        await two.close()


class RoundTrips:
    """Statements sent to the server, counted by wrapping asyncpg's connection."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            monkeypatch.setattr(asyncpg.Connection, name, self._counted(name))

    def _counted(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        method = getattr(asyncpg.Connection, name)

        async def counted(connection: asyncpg.Connection[Any], *args: Any, **kw: Any) -> Any:
            self.count += 1
            return await method(connection, *args, **kw)

        return counted

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


async def test_a_turn_is_four_round_trips_and_delivering_its_replies_one_more_each(
    store: PostgresStore, engine: DialogEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = build_conversation(engine, store)
    ada = Person(ADA, ADA, "Ada")
    sent: list[Outgoing] = []

    async def transport(message: Outgoing) -> int:
        sent.append(message)
        return len(sent)

    await conversation.handle(ada, Begin(), update_id=10)
    assert await conversation.deliver(ADA, transport)
    trips = RoundTrips(monkeypatch)
    outcome = await conversation.handle(ada, Typed("python"), update_id=11)
    # BEGIN with the user's lock; the session, live message and update id; the writes; COMMIT
    assert (len(outcome.replies), trips.take()) == (1, 4)
    before = len(sent)
    assert await conversation.deliver(ADA, transport)
    # the delivery lock with what is owed; a mark per message, the last letting the lock go
    # (a typed answer: the old question's buttons taken away, the next question sent)
    assert (len(sent) - before, trips.take()) == (2, 1 + 2)
    assert (await conversation.handle(ada, Typed("python"), update_id=11)).repeat
    assert trips.take() == 3  # BEGIN with the lock, the opening read (a repeat), COMMIT


# -- privacy and odd input -----------------------------------------------------------------------


async def test_forgetting_leaves_no_row_with_the_users_id_in_any_table(
    store: PostgresStore, postgres: Postgres
) -> None:
    lead = Lead(ADA, ADA, "Ada", "ada@example.org", "ads", "django", {"team": "python"})
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, Stored(Session(), "Ada"))
        await uow.sessions.put(-300, ADA, Stored(Session(), "Ada"))
        await uow.events.add(ADA, STARTED)
        await uow.leads.add(lead, ["telegram", "webhook"])
        await uow.outbox.put(ADA, [Outgoing(ADA, "send", {"text": "hi"}, live=True)])
        [owed] = await uow.outbox.owed(ADA)
        await uow.outbox.delivered(owed, 5)
        await uow.outbox.put(ADA, [Outgoing(ADA, "send", {"text": "owed"})])
        await uow.updates.add(ADA, 10)
    async with store.unit(ADA) as uow:
        await uow.forget(ADA)
    connection = await postgres.connect()
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = $1 AND column_name = 'user_id'",
            postgres.schema,
        )
        assert {row[0] for row in tables} == {
            "sessions",
            "events",
            "leads",
            "lead_deliveries",
            "outbox",
            "live",
            "applied_updates",
        }
        for (table,) in tables:
            left = await connection.fetchval(
                f"SELECT count(*) FROM {table} WHERE user_id = $1", ADA
            )
            assert (table, left) == (table, 0)
    finally:
        await connection.close()


async def test_text_with_a_nul_character_is_stored_rather_than_refused(
    store: PostgresStore,
) -> None:
    lead = Lead(ADA, ADA, "Ada\x00Lovelace", "ada@example.org\x00", None, "django", {})
    async with store.unit(ADA) as uow:
        await uow.sessions.put(ADA, ADA, Stored(Session(), "A\x00da"))
        await uow.leads.add(lead)
    [stored] = await store.all_leads()
    assert stored.name == "Ada\ufffdLovelace"
    assert await store.first_name(ADA, ADA) == "A\ufffdda"


# -- reaching the server -------------------------------------------------------------------------


async def test_an_unreachable_server_is_one_line_naming_database_url_without_the_password(
    knowledge: Knowledge,
) -> None:
    store = PostgresStore("postgresql://bot:s3cret-pw@127.0.0.1:1/bot", knowledge)
    with pytest.raises(StoreUnavailable) as raised:
        await store.open()
    message = str(raised.value)
    assert message.startswith("DATABASE_URL: cannot reach postgresql://bot:***@127.0.0.1:1/bot")
    assert "s3cret-pw" not in message and "\n" not in message
    await store.close()  # closing a store that never opened is fine


async def test_a_database_that_does_not_exist_is_a_setup_error_not_a_retry(
    postgres: Postgres, knowledge: Knowledge
) -> None:
    url = postgres.url.rsplit("/", 1)[0] + "/no_such_database_here"
    with pytest.raises(StorageError, match="no_such_database_here") as raised:
        await PostgresStore(url, knowledge).open()
    assert not isinstance(raised.value, StoreUnavailable)


async def test_a_store_that_is_not_open_does_not_answer_a_ping(knowledge: Knowledge) -> None:
    with pytest.raises(StorageError, match="not open"):
        await PostgresStore("postgresql://127.0.0.1:1/x", knowledge).ping()


async def test_connections_the_server_dropped_are_replaced_and_the_next_turn_works(
    store: PostgresStore, postgres: Postgres
) -> None:
    await bump(store, ADA)
    connection = await postgres.connect()
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'stack-advisor' AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    failures = 0
    for _ in range(3):  # a pooled connection found dead is StoreBusy (the turn is retried)
        try:
            await bump(store, ADA)
            break
        except StoreBusy:
            failures += 1
    assert failures < 3
    await store.ping()
    assert await counter(store, ADA) == 2


async def test_the_schema_version_is_readable_without_migrating(postgres: Postgres) -> None:
    connection = await postgres.connect()
    try:
        assert await schema_version(connection) == 0
    finally:
        await connection.close()
