"""The shared store: PostgreSQL through asyncpg's connection pool, for several bot instances.

A turn is one transaction on one pooled connection. Its first statement takes a
transaction-level advisory lock keyed by the user's id (``pg_advisory_xact_lock``), so one
user's turns never interleave, whichever instance runs them; PostgreSQL lets the lock go with
the commit or rollback, and with the connection when a process dies. The session, and with it
the id of the last update applied, is saved in the same transaction, so a redelivered update is
recognised by whichever instance gets it. Reports read committed rows through other connections
of the pool, and the CSV export streams through a server-side cursor in a child process.

Schema changes are versioned: ``schema_version`` lists the migrations applied, each applied in
its own transaction while the migrating connection holds an advisory lock, so two instances
starting at once apply each change once (the second waits, then finds nothing to do).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import sys
import time
import weakref
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
import orjson

from advisor import Knowledge
from advisor.session import QUESTION_PREFIX, Session
from settings import redact_url

from . import csvfile
from .base import (
    APPLIED_KEPT_SECONDS,
    FINISHED,
    Backlog,
    Event,
    Lead,
    LeadCounts,
    LeadDelivery,
    LeadReach,
    LinkTotals,
    Live,
    Opening,
    Outgoing,
    Owed,
    SessionRow,
    StorageError,
    StoreBusy,
    Stored,
    StoreUnavailable,
    new_claim,
    new_key,
)
from .rows import DELIVERY_COLUMNS, DELIVERY_FROM, LINK_TOTALS_SQL, delivery, history, reach

#: The leads' deliveries for the metrics (:meth:`Backlog.of`): a count per destination, status
#: and whether the last attempt failed, with the oldest creation time.
BACKLOG_SQL = (
    "SELECT destination, status, failing_since IS NOT NULL, count(*), min(created_at) "
    "FROM lead_deliveries GROUP BY destination, status, failing_since IS NOT NULL"
)

logger = logging.getLogger(__name__)

Record = asyncpg.Record
if TYPE_CHECKING:  # generic only in the type stubs
    from asyncpg.pool import PoolConnectionProxy

    Connection: TypeAlias = asyncpg.Connection[Record]
    Pooled: TypeAlias = PoolConnectionProxy[Record]

DAY = 86400
#: Connections per instance: turns of different users run side by side up to this many.
POOL_SIZE = 10
#: Seconds to wait for a new connection, for a ping, and for the pool to close.
CONNECT_SECONDS = 10.0
PING_SECONDS = 5.0
CLOSE_SECONDS = 10.0
#: Set on every connection (with ``lock_timeout``: see :func:`connection_settings`): a turn
#: waiting longer than the lock timeout for the user's lock gives up and is tried again
#: (StoreBusy); a transaction left open by a hung (stopped) instance is ended by the server
#: after ``idle_in_transaction_session_timeout``, which frees the user's lock. They fit
#: together: the conversation tries a turn three times (with the default 10 s lock waits,
#: about 31 s), longer than a hung instance keeps the lock (20 s); and a turn that still
#: could not run is not acknowledged, so Telegram sends its update again.
IDLE_IN_TRANSACTION_SECONDS = 20
CONNECTION_SETTINGS = {
    "application_name": "stack-advisor",
    "idle_in_transaction_session_timeout": f"{IDLE_IN_TRANSACTION_SECONDS}s",
}
#: How long one statement may take by default (DATABASE_TIMEOUT): longer than a lock wait.
STATEMENT_SECONDS = 15.0
#: Long work (purges, reports, the export's pages) may take this long per statement.
LONG_STATEMENT_SECONDS = 600.0
#: The first key of the per-user delivery lock (the second is folded from the user's id):
#: "SA" 2, apart from the turns' one-key locks and the migration's.
DELIVERY_LOCK = 0x5341_0002
#: How long a delivery waits for another instance's delivery to the same user, in seconds
#: (``begin_delivery`` of migration 4 sets it as its lock_timeout).
DELIVERY_LOCK_SECONDS = 30.0
#: How long a migrating instance waits for another's migration (or a table lock).
MIGRATION_LOCK_TIMEOUT = "5min"
#: The first key of the migration's advisory lock (the second is the schema's): "SA" 1.
MIGRATION_LOCK = 0x5341_0001
#: Rows the export fetches from its server-side cursor at a time.
EXPORT_PREFETCH = 1000
#: Errors after which the turn, rolled back, may well succeed if tried again.
RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.LockNotAvailableError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    # what asyncpg says when the server ended a pooled connection while it sat idle
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)

#: Schema changes, in order; ``schema_version`` lists those applied.
MIGRATIONS: tuple[str, ...] = (
    # 1: everything SQLite's schema holds at its version 5: sessions (state and source as
    #    columns for reports), events with their daily totals, leads, the outbox of messages
    #    still owed, the live message per user and chat, and the tracked links.
    """
    CREATE TABLE sessions (
        chat_id     bigint NOT NULL,
        user_id     bigint NOT NULL,
        data        text   NOT NULL,
        first_name  text,
        last_update bigint NOT NULL DEFAULT 0,
        updated_at  bigint NOT NULL,
        state       text   NOT NULL DEFAULT '',
        source      text,
        PRIMARY KEY (chat_id, user_id)
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE INDEX sessions_report ON sessions (updated_at, state);
    CREATE TABLE events (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at      bigint NOT NULL,
        user_id bigint NOT NULL,
        source  text,
        kind    text   NOT NULL,
        detail  text
    );
    CREATE INDEX events_report ON events (at, source, kind, detail);
    CREATE INDEX events_user ON events (user_id, id);
    CREATE TABLE event_days (
        day    bigint NOT NULL,
        source text   NOT NULL,
        kind   text   NOT NULL,
        detail text   NOT NULL,
        count  bigint NOT NULL,
        PRIMARY KEY (day, source, kind, detail)
    );
    CREATE TABLE leads (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at             bigint NOT NULL,
        chat_id        bigint NOT NULL,
        user_id        bigint NOT NULL,
        name           text   NOT NULL,
        contact        text   NOT NULL,
        source         text,
        recommendation text   NOT NULL,
        answers        text   NOT NULL
    );
    CREATE INDEX leads_user ON leads (user_id);
    CREATE TABLE outbox (
        id      bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id bigint  NOT NULL,
        chat_id bigint  NOT NULL,
        kind    text    NOT NULL,
        body    text    NOT NULL,
        live    boolean NOT NULL DEFAULT false,
        digest  text    NOT NULL DEFAULT ''
    );
    CREATE INDEX outbox_user ON outbox (user_id, id);
    CREATE TABLE live (
        chat_id    bigint NOT NULL,
        user_id    bigint NOT NULL,
        message_id bigint NOT NULL,
        digest     text   NOT NULL DEFAULT '',
        PRIMARY KEY (chat_id, user_id)
    );
    CREATE INDEX live_user ON live (user_id);
    CREATE TABLE links (
        name       text   PRIMARY KEY,
        created_at bigint NOT NULL
    );
    """,
    # 2: leads get a unique key (their deliveries' idempotency key), and each lead a delivery
    #    per destination, retried until it is done (earlier leads went through the outbox).
    """
    ALTER TABLE leads ADD COLUMN key text;
    UPDATE leads SET key = gen_random_uuid()::text;
    ALTER TABLE leads ALTER COLUMN key SET NOT NULL;
    ALTER TABLE leads ADD CONSTRAINT leads_key UNIQUE (key);
    CREATE TABLE lead_deliveries (
        id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        lead_id         bigint  NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
        user_id         bigint  NOT NULL,
        destination     text    NOT NULL,
        status          text    NOT NULL DEFAULT 'pending',
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at bigint  NOT NULL,
        claimed_until   bigint,
        claim           text,
        last_error      text,
        failing_since   bigint,
        alerted         boolean NOT NULL DEFAULT false,
        delivered_at    bigint,
        created_at      bigint  NOT NULL,
        UNIQUE (lead_id, destination)
    );
    CREATE INDEX lead_deliveries_due ON lead_deliveries (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX lead_deliveries_user ON lead_deliveries (user_id);
    """,
    # 3: the ids of the updates applied to each user, so an update is applied once whatever
    #    instance gets it and whatever order updates come in (a lower id may still be new).
    """
    CREATE TABLE applied_updates (
        user_id   bigint NOT NULL,
        update_id bigint NOT NULL,
        at        bigint NOT NULL,
        PRIMARY KEY (user_id, update_id)
    );
    CREATE INDEX applied_updates_at ON applied_updates (at);
    """,
    # 4: a delivery's two steps as functions, one round trip each: take the user's delivery
    #    lock and read what is owed; mark one message delivered (releasing the delivery lock
    #    with the last). Each statement in a function sees what was committed before the locks
    #    it waited for were granted (a plain statement would read from before the wait).
    """
    CREATE FUNCTION begin_delivery(p_user bigint, p_key1 integer, p_key2 integer)
    RETURNS SETOF outbox LANGUAGE plpgsql
    SET search_path FROM CURRENT SET lock_timeout = '30s' AS $$
    BEGIN
        PERFORM pg_advisory_lock(p_key1, p_key2);
        -- a turn or a marking of this user's still in flight commits first
        PERFORM pg_advisory_xact_lock(p_user);
        RETURN QUERY SELECT * FROM outbox WHERE user_id = p_user ORDER BY id;
    END $$;
    CREATE FUNCTION mark_delivered(
        p_outbox bigint, p_user bigint, p_message bigint, p_key1 integer, p_key2 integer
    ) RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(p_user);
        -- only while it is still owed: after /forget, nothing about the user comes back
        INSERT INTO live (chat_id, user_id, message_id, digest)
            SELECT o.chat_id, o.user_id, p_message, o.digest FROM outbox o
            WHERE o.id = p_outbox AND o.live AND p_message IS NOT NULL
            ON CONFLICT (chat_id, user_id) DO UPDATE
            SET message_id = excluded.message_id, digest = excluded.digest;
        DELETE FROM outbox WHERE id = p_outbox;
        IF p_key1 IS NOT NULL THEN
            -- the next delivery waits for this transaction's user lock: it reads the commit
            PERFORM pg_advisory_unlock(p_key1, p_key2);
        END IF;
    END $$;
    """,
    # 5: the channel each lead came through: 'telegram' (the bot), 'web' (the web pages) or
    #    'mini_app' (the Telegram Mini App); earlier leads all came through the bot (and so do
    #    those an instance of an earlier version adds while a rolling upgrade runs).
    """
    ALTER TABLE leads ADD COLUMN channel text NOT NULL DEFAULT 'telegram';
    """,
    # 6: the person's language when the lead was stored ('pt'); '' for earlier leads (unknown,
    #    and so for those an instance of an earlier version adds while a rolling upgrade runs).
    """
    ALTER TABLE leads ADD COLUMN language text NOT NULL DEFAULT '';
    """,
)


class PostgresStore:
    """The PostgreSQL backend of :class:`storage.base.Store`; several instances may share it."""

    def __init__(
        self,
        url: str,
        knowledge: Knowledge,
        clock: Callable[[], float] = time.time,
        *,
        schema: str | None = None,
        pool_size: int = POOL_SIZE,
        statement_seconds: float = STATEMENT_SECONDS,
    ) -> None:
        self.url = url
        self.statement_seconds = statement_seconds
        self.schema = schema
        self.knowledge = knowledge
        self.clock = clock
        self.pool_size = pool_size
        self.location = describe(url, schema)
        self.migrated_from = self.schema_version = 0
        self._pool: asyncpg.Pool[Record] | None = None
        self._users: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        #: Deliveries holding a connection for their lock: at most half the pool, so the
        #: turns always find a connection.
        self._delivery_slots = asyncio.Semaphore(max(1, pool_size // 2))
        #: Server processes of pooled connections that may hold a session-level lock (a
        #: delivery's): only these are reset in full when they go back to the pool.
        self._unclean: set[int] = set()

    # -- opening and closing ------------------------------------------------------------------

    async def open(self) -> PostgresStore:
        """Connect, apply the migrations the database lacks, and open the pool."""
        connection = await self.connect()
        try:
            self.migrated_from, self.schema_version = await migrate(connection, self.schema)
        except asyncpg.PostgresError as exc:  # no right to create the schema or a table …
            reason = " ".join(str(exc).split())
            name = "DATABASE_SCHEMA" if self.schema else "DATABASE_URL"
            raise StorageError(f"{name}: {self.location}: cannot upgrade: {reason}") from exc
        except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:  # the server went away
            raise _cannot_connect(exc, self.url, self.location) from exc
        finally:
            await connection.close()
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=min(2, self.pool_size),
                max_size=self.pool_size,
                server_settings=connection_settings(self.schema, self.statement_seconds),
                timeout=CONNECT_SECONDS,
                # A statement the server does not answer in time raises TimeoutError: the turn
                # gives up rather than waiting for ever on a stalled connection.
                command_timeout=self.statement_seconds,
                reset=self._reset,
            )
        except Exception as exc:
            raise _cannot_connect(exc, self.url, self.location) from exc
        return self

    async def _reset(self, connection: Connection) -> None:
        """A connection going back to the pool. asyncpg has rolled back an open transaction;
        its full reset (unlock everything, reset settings …) is one more round trip, needed
        only after a delivery that may still hold its lock: nothing else leaves session state
        (settings are set per function or per transaction, cursors live in transactions)."""
        pid = connection.get_server_pid()
        if pid in self._unclean:
            self._unclean.discard(pid)
            await connection.execute(connection.get_reset_query())

    async def connect(self) -> Connection:
        """One connection outside the pool (for migrations); StorageError if there is none."""
        return await connect(self.url, self.schema)

    async def ping(self) -> None:
        try:
            async with asyncio.timeout(PING_SECONDS):
                await self.pool.fetchval("SELECT 1")
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise StoreUnavailable(f"DATABASE_URL: {self.location}: {reason}") from exc

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await pool.close()
        except TimeoutError:
            pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool[Record]:
        if self._pool is None:
            raise StorageError(f"the store at {self.location} is not open")
        return self._pool

    # -- turns ----------------------------------------------------------------------------------

    @asynccontextmanager
    async def unit(self, user_id: int) -> AsyncIterator[PostgresUnit]:
        """One transaction holding the user's advisory lock from its first statement.

        This process's other turns of the same user wait before taking a connection, so one
        busy user never ties up the pool; other processes' turns wait for the advisory lock.
        """
        lock = self._users.get(user_id)
        if lock is None:
            lock = self._users[user_id] = asyncio.Lock()
        async with lock, self._connection() as connection:
            async with _retryable():
                await connection.execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(user_id)})")
            unit = PostgresUnit(self, connection)
            try:
                yield unit
                await unit.flush(final=True)
                async with _retryable():
                    await connection.execute("COMMIT")
            except BaseException:
                # A broken connection cannot roll back: the pool then closes it, which ends the
                # transaction on the server all the same.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(PING_SECONDS):
                        await connection.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def delivering(self, user_id: int) -> AsyncIterator[PostgresDelivery]:
        """A session-level advisory lock on the user's delivery key, held on a pooled connection
        while the block runs and released after (with the connection, if the process dies).

        Its key space (two keys, the first :data:`DELIVERY_LOCK`) is apart from the turns', so a
        delivery never holds up a turn: people's next answers are applied while they are sent
        what they are owed. Waiting longer than :data:`DELIVERY_LOCK_SECONDS` is StoreBusy.
        Taking the lock and reading what is owed is one round trip (``begin_delivery``), and
        so is marking a message delivered; the last mark lets the lock go too.
        """
        key = _signed32((user_id ^ (user_id >> 32)) & 0xFFFF_FFFF)
        async with self._delivery_slots, self._connection() as connection:
            pid = connection.get_server_pid()
            self._unclean.add(pid)  # until the lock is known to be let go
            async with _retryable():
                rows = await connection.fetch(
                    "SELECT id, chat_id, kind, body, live, digest FROM begin_delivery($1, $2, $3)",
                    user_id,
                    DELIVERY_LOCK,
                    key,
                    timeout=DELIVERY_LOCK_SECONDS + PING_SECONDS,  # the lock wait it may do
                )
            delivery = PostgresDelivery(connection, user_id, key, _owed(user_id, rows))
            try:
                yield delivery
            finally:
                # A broken connection has let the lock go already; a live one the pool gets
                # back is reset (which unlocks everything) if this fails.
                if delivery.locked:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(PING_SECONDS):
                            await connection.execute(
                                "SELECT pg_advisory_unlock($1, $2)", DELIVERY_LOCK, key
                            )
                        delivery.locked = False
                if not delivery.locked:
                    self._unclean.discard(pid)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Pooled]:
        """A pooled connection (StoreBusy if none can be had); back to the pool afterwards."""
        pool = self.pool
        async with _retryable():
            connection = await pool.acquire(timeout=CONNECT_SECONDS)
        try:
            yield connection
        finally:
            try:
                await pool.release(connection, timeout=PING_SECONDS)
            except Exception:  # a stalled or broken connection: the pool gets a new one
                connection.terminate()
                await pool.release(connection)

    async def owing_users(self) -> list[int]:
        rows = await self._fetch("SELECT DISTINCT user_id FROM outbox")
        return [row[0] for row in rows]

    async def purge_idle(self, ttl_days: int) -> int:
        cutoff = int(self.clock() - ttl_days * DAY)
        async with _retryable():
            removed = await self.pool.fetchval(
                "WITH gone AS (DELETE FROM sessions WHERE updated_at < $1 "
                "RETURNING chat_id, user_id), "
                "unlive AS (DELETE FROM live l USING gone g "
                "WHERE l.chat_id = g.chat_id AND l.user_id = g.user_id), "
                "unapplied AS (DELETE FROM applied_updates WHERE at < $2) "
                "SELECT count(*) FROM gone",
                cutoff,
                int(self.clock()) - APPLIED_KEPT_SECONDS,
                timeout=LONG_STATEMENT_SECONDS,
            )
        return int(removed)

    # -- the lead queue (shared by every instance) -------------------------------------------------

    async def claim_deliveries(
        self,
        destinations: Sequence[str],
        *,
        lease: int,
        limit: int,
        lead_id: int | None = None,
    ) -> list[LeadDelivery]:
        """Rows another instance is claiming right now are skipped (FOR UPDATE SKIP LOCKED),
        so instances never wait for each other nor take the same delivery."""
        if not destinations:
            return []
        now = int(self.clock())
        rows = await self._fetch(
            "WITH due AS (SELECT id FROM lead_deliveries WHERE status = 'pending' "
            "AND next_attempt_at <= $1 AND destination = ANY($2::text[]) "
            "AND ($3::bigint IS NULL OR lead_id = $3) "
            "AND (claimed_until IS NULL OR claimed_until <= $1) "
            "ORDER BY lead_id, id LIMIT $4 FOR UPDATE SKIP LOCKED), "
            "claimed AS (UPDATE lead_deliveries d SET claim = $5, claimed_until = $6 "
            "FROM due WHERE d.id = due.id RETURNING d.*) "
            f"SELECT {DELIVERY_COLUMNS} FROM claimed d JOIN leads l ON l.id = d.lead_id "
            "ORDER BY d.lead_id, d.id",
            now,
            list(destinations),
            lead_id,
            limit,
            new_claim(),
            now + lease,
        )
        return [delivery(row) for row in rows]

    async def delivery_done(self, delivery: LeadDelivery) -> bool:
        return await self._update_one(
            "UPDATE lead_deliveries SET status = 'delivered', delivered_at = $1, "
            "attempts = attempts + 1, claim = NULL, claimed_until = NULL "
            "WHERE id = $2 AND claim = $3 AND status = 'pending'",
            int(self.clock()),
            delivery.id,
            delivery.claim,
        )

    async def delivery_failed(self, delivery: LeadDelivery, error: str, retry_at: int) -> bool:
        return await self._update_one(
            "UPDATE lead_deliveries SET attempts = attempts + 1, last_error = $1, "
            "next_attempt_at = $2, failing_since = coalesce(failing_since, $3), "
            "claim = NULL, claimed_until = NULL "
            "WHERE id = $4 AND claim = $5 AND status = 'pending'",
            _text(error),
            retry_at,
            int(self.clock()),
            delivery.id,
            delivery.claim,
        )

    async def delivery_postponed(self, delivery: LeadDelivery, error: str, until: int) -> None:
        await self._update_one(
            "UPDATE lead_deliveries SET last_error = $1, "
            "next_attempt_at = greatest(next_attempt_at, $2), "
            "failing_since = coalesce(failing_since, $3), claim = NULL, claimed_until = NULL "
            "WHERE id = $4 AND claim = $5 AND status = 'pending'",
            _text(error),
            until,
            int(self.clock()),
            delivery.id,
            delivery.claim,
        )

    async def _update_one(self, sql: str, *args: object) -> bool:
        async with _retryable():
            status = await self.pool.execute(sql, *args)
        return status.split()[-1] == "1"

    async def _count(self, sql: str, *args: object) -> int:
        async with _retryable():
            status = await self.pool.execute(sql, *args)
        return int(status.split()[-1])

    async def pending_deliveries(self, *, limit: int) -> list[LeadDelivery]:
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.lead_id IN ("
            "SELECT DISTINCT lead_id FROM lead_deliveries WHERE status = 'pending' "
            "ORDER BY lead_id LIMIT $1) ORDER BY d.lead_id, d.destination",
            limit,
        )
        return [delivery(row) for row in rows]

    async def deliveries_of(self, lead_id: int) -> list[LeadDelivery]:
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.lead_id = $1 "
            "ORDER BY d.destination",
            lead_id,
        )
        return [delivery(row) for row in rows]

    async def recent_leads(
        self, *, limit: int, before: int | None = None
    ) -> list[tuple[Lead, tuple[LeadDelivery, ...]]]:
        rows = await self._fetch(
            f"SELECT {DELIVERY_COLUMNS} FROM (SELECT * FROM leads "
            "WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT $2) l "
            "LEFT JOIN lead_deliveries d ON d.lead_id = l.id ORDER BY l.id DESC, d.destination",
            before,
            limit,
        )
        return history(rows)

    async def retry_now(self, *, lead_id: int | None = None, destination: str | None = None) -> int:
        return await self._count(
            "UPDATE lead_deliveries SET next_attempt_at = $1 WHERE status = 'pending' "
            "AND ($2::bigint IS NULL OR lead_id = $2) AND ($3::text IS NULL OR destination = $3)",
            int(self.clock()),
            lead_id,
            destination,
        )

    async def settle(self, lead_id: int) -> int:
        return await self._count(
            "UPDATE lead_deliveries SET status = 'handled', delivered_at = $1, claim = NULL, "
            "claimed_until = NULL WHERE lead_id = $2 AND status = 'pending'",
            int(self.clock()),
            lead_id,
        )

    async def claim_alerts(self, failing_since: int) -> list[LeadDelivery]:
        """The UPDATE marks each row once, whichever instance gets there first."""
        rows = await self._fetch(
            "WITH alerted AS (UPDATE lead_deliveries SET alerted = true WHERE status = 'pending' "
            "AND NOT alerted AND failing_since <= $1 RETURNING *) "
            f"SELECT {DELIVERY_COLUMNS} FROM alerted d JOIN leads l ON l.id = d.lead_id "
            "ORDER BY d.lead_id, d.destination",
            failing_since,
        )
        return [delivery(row) for row in rows]

    async def lead_counts(self) -> LeadCounts:
        rows = await self._fetch(
            "SELECT count(*) FILTER (WHERE waiting = 0), count(*) FILTER (WHERE waiting > 0) "
            "FROM (SELECT lead_id, count(*) FILTER (WHERE status = 'pending') AS waiting "
            "FROM lead_deliveries GROUP BY lead_id) per_lead"
        )
        return LeadCounts(int(rows[0][0]), int(rows[0][1]))

    async def backlog(self) -> Backlog:
        owed = await self._fetch("SELECT count(*) FROM outbox")
        return Backlog.of(owed[0][0], await self._fetch(BACKLOG_SQL))

    # -- reports --------------------------------------------------------------------------------

    async def _fetch(self, sql: str, *args: object) -> list[Record]:
        async with _retryable():
            return await self.pool.fetch(sql, *args)

    async def first_name(self, chat_id: int, user_id: int) -> str | None:
        rows = await self._fetch(
            "SELECT first_name FROM sessions WHERE chat_id = $1 AND user_id = $2", chat_id, user_id
        )
        return rows[0][0] if rows else None

    async def events_since(self, since: int) -> list[Event]:
        rows = await self._fetch(
            "SELECT at, user_id, kind, source, detail FROM events WHERE at >= $1 ORDER BY id",
            since,
        )
        return [Event(*row) for row in rows]

    async def event_totals(self, since: int) -> list[Event]:
        """Totals from whole (UTC) days: the day ``since`` falls in counts in full."""
        rows = await self._fetch(
            "SELECT source, kind, detail, sum(count) FROM event_days WHERE day >= $1 "
            "GROUP BY source, kind, detail",
            since // DAY,
        )
        return [
            Event(since, 0, kind, source or None, detail or None, int(n))
            for source, kind, detail, n in rows
        ]

    async def waiting_since(self, since: int) -> dict[str, int]:
        rows = await self._fetch(
            "SELECT state, count(*) FROM sessions WHERE updated_at >= $1 "
            "AND starts_with(state, $2) GROUP BY state",
            since,
            QUESTION_PREFIX,
        )
        return {state: n for state, n in rows}

    async def link_totals(self) -> list[LinkTotals]:
        rows = await self._fetch(LINK_TOTALS_SQL)
        return [LinkTotals(name, int(at), *(int(n) for n in counts)) for name, at, *counts in rows]

    async def all_sessions(self) -> list[SessionRow]:
        rows = await self._fetch(
            "SELECT chat_id, user_id, first_name, source, state, data, updated_at "
            "FROM sessions ORDER BY updated_at, chat_id, user_id"
        )
        return [
            SessionRow(chat, user, name, source, state, _answers(data), updated)
            for chat, user, name, source, state, data, updated in rows
        ]

    async def all_leads(self) -> list[Lead]:
        rows = await self._fetch(
            "SELECT chat_id, user_id, name, contact, source, recommendation, answers, at, id, "
            "key, channel, language FROM leads ORDER BY at, id"
        )
        return [
            Lead(chat, user, name, contact, src, rec, json.loads(answers), at, id_, key, ch, lang)
            for chat, user, name, contact, src, rec, answers, at, id_, key, ch, lang in rows
        ]

    async def export_csv(
        self, out: Path, *, language: str = "en", admins: Collection[int] = ()
    ) -> None:
        """Written by a child process at a lower CPU priority (``python -m storage.export``),
        which streams the rows through a server-side cursor, so the bot stays quick."""
        environment = {**os.environ, "DATABASE_URL": self.url}
        environment.pop("DATABASE_SCHEMA", None)
        if self.schema is not None:
            environment["DATABASE_SCHEMA"] = self.schema
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "storage.export",
            *csvfile.child_arguments(language, admins),
            "--postgres",
            str(out),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=csvfile.PROJECT_ROOT,
            env=environment,
        )
        _, err = await child.communicate(csvfile.knowledge_input(self.knowledge))
        if child.returncode != 0:
            text = err.decode(errors="replace").replace(self.url, self.location)
            problem = text.strip().splitlines()[-1:] or ["no output"]
            raise StorageError(f"the export failed ({child.returncode}): {problem[0]}")


def connection_settings(
    schema: str | None, statement_seconds: float = STATEMENT_SECONDS
) -> dict[str, str]:
    """What every connection sets at start: ours, and the schema to keep the tables in.

    A lock wait is two thirds of a statement's time (10 s of the default 15 s), so a statement
    waiting for a lock gives up as StoreBusy (tried again) before it times out."""
    lock_ms = max(500, int(statement_seconds * 1000 * 2 / 3))
    found = {**CONNECTION_SETTINGS, "lock_timeout": f"{lock_ms}ms"}
    return found if schema is None else {**found, "search_path": schema}


def describe(url: str, schema: str | None) -> str:
    """Where the data is, for messages: the URL without its password, and the schema."""
    return redact_url(url) + (f" (schema {schema})" if schema else "")


async def connect(url: str, schema: str | None) -> Connection:
    """One connection, or StorageError naming DATABASE_URL (without the password) and why."""
    try:
        return await asyncpg.connect(
            url, server_settings=connection_settings(schema), timeout=CONNECT_SECONDS
        )
    except Exception as exc:
        raise _cannot_connect(exc, url, describe(url, schema)) from exc


def _cannot_connect(exc: Exception, url: str, location: str) -> StorageError:
    reason = str(exc).replace(url, location) or type(exc).__name__
    if isinstance(exc, (OSError, TimeoutError, asyncpg.CannotConnectNowError)):
        return StoreUnavailable(f"DATABASE_URL: cannot reach {location}: {reason}")
    return StorageError(f"DATABASE_URL: {location}: {reason}")


@asynccontextmanager
async def _retryable() -> AsyncIterator[None]:
    """Turn a lost connection, a deadlock or a lock wait that timed out into StoreBusy."""
    try:
        yield
    except TimeoutError as exc:  # a stalled server: trying again at once would only wait again
        raise StoreUnavailable("PostgreSQL did not answer in time") from exc
    except (ConnectionRefusedError, asyncpg.CannotConnectNowError) as exc:  # down, or starting
        raise StoreUnavailable(f"PostgreSQL: {str(exc) or type(exc).__name__}") from exc
    except RETRYABLE as exc:
        raise StoreBusy(f"PostgreSQL: {str(exc) or type(exc).__name__}") from exc


def _answers(data: str) -> dict[str, str]:
    try:
        answers = json.loads(data).get("a", {})
    except (ValueError, AttributeError):
        return {}
    return answers if isinstance(answers, dict) else {}


def _text(value: str) -> str:
    """PostgreSQL's text cannot hold NUL characters, which SQLite keeps: store a stand-in."""
    return value.replace("\x00", "\ufffd")


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


async def migrate(connection: Connection, schema: str | None) -> tuple[int, int]:
    """Apply the migrations the database lacks; return the version found and the version left.

    The connection holds an advisory lock (keyed by the schema) while it migrates, so two
    instances starting at once never apply a change twice. Each migration is applied with its
    row in ``schema_version`` in one transaction.
    """
    where = schema or str(await connection.fetchval("SELECT current_schema()") or "public")
    key = _signed32(zlib.crc32(where.encode()))
    await connection.execute(f"SET lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'")
    await connection.execute("SELECT pg_advisory_lock($1, $2)", MIGRATION_LOCK, key)
    try:
        if schema is not None:
            found = await connection.fetchval(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1", schema
            )
            if found is None:  # (IF NOT EXISTS would still need the right to create schemas)
                await connection.execute(f'CREATE SCHEMA "{schema}"')
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        found_version = int(
            await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
        )
        for number, script in enumerate(MIGRATIONS[found_version:], start=found_version + 1):
            async with connection.transaction():
                await connection.execute(script)
                await connection.execute("INSERT INTO schema_version (version) VALUES ($1)", number)
            logger.info("storage schema upgraded to version %d", number)
        if found_version > len(MIGRATIONS):
            logger.warning(
                "the database schema is at version %d, newer than this bot's %d",
                found_version,
                len(MIGRATIONS),
            )
        return found_version, max(found_version, len(MIGRATIONS))
    finally:  # (a broken connection has let the lock go with it)
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await connection.execute("SELECT pg_advisory_unlock($1, $2)", MIGRATION_LOCK, key)
            await connection.execute("RESET lock_timeout")


async def schema_version(connection: Connection) -> int:
    """The version the database's schema is at (0: never migrated)."""
    exists = await connection.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))


class PostgresUnit:
    """The repositories of one transaction, on the connection holding the user's lock.

    Writes are buffered and sent together as one statement (data-modifying ``WITH`` parts,
    one per table, each table's rows in one ``unnest``) just before the commit, or before a
    read of a table they touch, so a turn is four round trips: ``BEGIN`` with the lock,
    :meth:`open_turn`, the writes, ``COMMIT``. The daily event totals, rows many users' turns
    add to, are only written with the commit, to hold their row locks briefly.
    """

    def __init__(self, store: PostgresStore, connection: Pooled) -> None:
        self.store = store
        self.connection = connection
        self.day_counts: Counter[tuple[int, str, str, str]] = Counter()
        #: Buffered writes: sessions by key (the last put wins), events and outgoing messages
        #: in order, applied updates, released live messages.
        self.saved: dict[tuple[int, int], tuple[object, ...]] = {}
        self.added_events: list[tuple[int, int, str | None, str, str | None]] = []
        self.put_messages: list[tuple[int, int, str, str, bool, str]] = []
        self.applied: dict[tuple[int, int], int] = {}
        self.released: dict[tuple[int, int], None] = {}
        self.sessions = _Sessions(self)
        self.events = _Events(self)
        self.leads = _Leads(self)
        self.outbox = _Outbox(self)
        self.links = _Links(self)
        self.updates = _Updates(self)

    @property
    def now(self) -> int:
        return int(self.store.clock())

    async def execute(self, sql: str, *args: object) -> None:
        await self.flush()
        async with _retryable():
            await self.connection.execute(sql, *args)

    async def fetch(self, sql: str, *args: object, reads: str = "") -> list[Record]:
        """A read; buffered writes to the tables it ``reads`` (space-separated) go first."""
        await self.flush(*reads.split())
        async with _retryable():
            return await self.connection.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: object, reads: str = "") -> Record | None:
        await self.flush(*reads.split())
        async with _retryable():
            return await self.connection.fetchrow(sql, *args)

    def _buffered(self) -> dict[str, bool]:
        return {
            "sessions": bool(self.saved),
            "events": bool(self.added_events),
            "outbox": bool(self.put_messages),
            "applied_updates": bool(self.applied),
            "live": bool(self.released),
        }

    async def flush(self, *tables: str, final: bool = False) -> None:
        """Send the buffered writes as one statement: all of them when ``tables`` is empty,
        else only when one of those tables has writes waiting. ``final``: with the daily
        totals (in key order: no deadlocks), just before the commit."""
        buffered = self._buffered()
        if tables and not any(buffered.get(table) for table in tables):
            return
        parts: list[tuple[str, list[object]]] = []
        if self.applied:
            rows = [(*key, at) for key, at in self.applied.items()]
            parts.append((APPLIED_SQL, _columns(rows)))
        if self.saved:
            parts.append((SESSIONS_PUT_SQL, _columns(list(self.saved.values()))))
        if self.released:
            parts.append((RELEASE_SQL, _columns(list(self.released))))
        if self.added_events:
            parts.append((EVENTS_SQL, _columns(self.added_events)))
        if self.put_messages:
            parts.append((OUTBOX_SQL, _columns(self.put_messages)))
        if final and self.day_counts:
            days = [(*key, n) for key, n in sorted(self.day_counts.items())]
            parts.append((EVENT_DAYS_SQL, _columns(days)))
            self.day_counts = Counter()
        self.saved, self.added_events, self.put_messages = {}, [], []
        self.applied, self.released = {}, {}
        if parts:
            sql, args = _together(parts)
            async with _retryable():
                await self.connection.execute(sql, *args)

    async def open_turn(
        self, chat_id: int, user_id: int, update_id: int, *, link: str | None = None
    ) -> Opening:
        """The session, the live message, the link and the applied update in one statement."""
        row = await self.fetchrow(
            OPEN_TURN_SQL,
            chat_id,
            user_id,
            update_id,
            self.now,
            self.now - APPLIED_KEPT_SECONDS,
            None if link is None else _text(link),
            reads="sessions applied_updates live",
        )
        assert row is not None  # one row, whatever is stored
        data, first_name, last_update, updated_at, message_id, digest, repeat, known = row
        stored = None
        if data is not None:
            stored = _stored(data, first_name, last_update, updated_at, self.store.knowledge)
        if repeat:
            return Opening(stored, repeat=True)
        live = Live(message_id, digest) if message_id is not None else None
        return Opening(stored, live, known_link=known)

    async def forget(self, user_id: int) -> int:
        await self.flush()
        async with _retryable():
            removed = await self.connection.fetchval(
                "WITH s AS (DELETE FROM sessions WHERE user_id = $1 RETURNING 1), "
                "e AS (DELETE FROM events WHERE user_id = $1 RETURNING 1), "
                "d AS (DELETE FROM lead_deliveries WHERE user_id = $1 RETURNING 1), "
                "l AS (DELETE FROM leads WHERE user_id = $1 RETURNING 1), "
                "o AS (DELETE FROM outbox WHERE user_id = $1 RETURNING 1), "
                "v AS (DELETE FROM live WHERE user_id = $1 RETURNING 1), "
                "u AS (DELETE FROM applied_updates WHERE user_id = $1 RETURNING 1) "
                "SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM e) "
                "+ (SELECT count(*) FROM d) + (SELECT count(*) FROM l) + (SELECT count(*) FROM o) "
                "+ (SELECT count(*) FROM v) + (SELECT count(*) FROM u)",
                user_id,
            )
        return int(removed)


#: The buffered writes of a unit, one statement each (``$n`` numbered from 1; :func:`_together`
#: renumbers them); each table's rows come as arrays, inserted in their order.
APPLIED_SQL = (
    "INSERT INTO applied_updates (user_id, update_id, at) "
    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) "
    "ON CONFLICT (user_id, update_id) DO UPDATE SET at = excluded.at"
)
SESSIONS_PUT_SQL = (
    "INSERT INTO sessions (chat_id, user_id, data, first_name, last_update, updated_at, "
    "state, source) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], "
    "$5::bigint[], $6::bigint[], $7::text[], $8::text[]) "
    "ON CONFLICT (chat_id, user_id) DO UPDATE SET data = excluded.data, "
    "first_name = excluded.first_name, last_update = excluded.last_update, "
    "updated_at = excluded.updated_at, state = excluded.state, source = excluded.source"
)
RELEASE_SQL = (
    "DELETE FROM live l USING unnest($1::bigint[], $2::bigint[]) AS r (chat_id, user_id) "
    "WHERE l.chat_id = r.chat_id AND l.user_id = r.user_id"
)
EVENTS_SQL = (
    "INSERT INTO events (at, user_id, source, kind, detail) "
    "SELECT at, user_id, source, kind, detail FROM unnest($1::bigint[], $2::bigint[], "
    "$3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS e (at, user_id, source, kind, "
    "detail, n) ORDER BY n"
)
OUTBOX_SQL = (
    "INSERT INTO outbox (user_id, chat_id, kind, body, live, digest) "
    "SELECT user_id, chat_id, kind, body, live, digest FROM unnest($1::bigint[], $2::bigint[], "
    "$3::text[], $4::text[], $5::boolean[], $6::text[]) WITH ORDINALITY AS m (user_id, chat_id, "
    "kind, body, live, digest, n) ORDER BY n"
)
EVENT_DAYS_SQL = (
    "INSERT INTO event_days (day, source, kind, detail, count) "
    "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[]) "
    "ON CONFLICT (day, source, kind, detail) "
    "DO UPDATE SET count = event_days.count + excluded.count"
)
#: A turn's first read: the session, the live message, whether the link ($6) exists, and the
#: update ($3, 0: none) recorded as applied unless it was within the kept window ($5).
OPEN_TURN_SQL = (
    "WITH fresh AS (INSERT INTO applied_updates (user_id, update_id, at) "
    "SELECT $2::bigint, $3::bigint, $4::bigint WHERE $3::bigint <> 0 "
    "ON CONFLICT (user_id, update_id) DO UPDATE SET at = excluded.at "
    "WHERE applied_updates.at < $5::bigint RETURNING 1) "
    "SELECT s.data, s.first_name, s.last_update, s.updated_at, v.message_id, v.digest, "
    "$3::bigint <> 0 AND NOT EXISTS (SELECT 1 FROM fresh) AS repeat, "
    "$6::text IS NOT NULL AND EXISTS (SELECT 1 FROM links WHERE name = $6::text) AS known "
    "FROM (VALUES (1)) AS one (x) "
    "LEFT JOIN sessions s ON s.chat_id = $1::bigint AND s.user_id = $2::bigint "
    "LEFT JOIN live v ON v.chat_id = $1::bigint AND v.user_id = $2::bigint"
)
_PLACEHOLDER = re.compile(r"\$(\d+)")


def _together(parts: Sequence[tuple[str, Sequence[object]]]) -> tuple[str, list[object]]:
    """Several data-modifying statements as one: all but the last as ``WITH`` parts (each
    touches its own table, so their order within the statement does not matter)."""
    texts: list[str] = []
    args: list[object] = []
    for sql, values in parts:
        texts.append(_PLACEHOLDER.sub(functools.partial(_shifted, offset=len(args)), sql))
        args.extend(values)
    *first, last = texts
    if not first:
        return last, args
    ctes = ", ".join(f"w{n} AS ({text})" for n, text in enumerate(first))
    return f"WITH {ctes} {last}", args


def _columns(rows: Sequence[Sequence[object]]) -> list[object]:
    """Rows as one list per column (a statement's arrays for ``unnest``)."""
    return [list(column) for column in zip(*rows, strict=True)]


def _shifted(match: re.Match[str], *, offset: int) -> str:
    return f"${int(match[1]) + offset}"


def _stored(
    data: str, first_name: str | None, last_update: int, updated_at: int, knowledge: Knowledge
) -> Stored:
    try:
        session = Session.from_dict(orjson.loads(data), knowledge)
    except ValueError:
        session = None
    if session is None:
        return Stored(Session(), first_name, last_update, updated_at, restored_fresh=True)
    return Stored(session, first_name, last_update, updated_at)


def _owed(user_id: int, rows: Sequence[Record]) -> list[Owed]:
    return [
        Owed(id_, user_id, Outgoing(chat, kind, orjson.loads(body), live, digest))
        for id_, chat, kind, body, live, digest in rows
    ]


class PostgresDelivery:
    """What is owed to one user, read as their delivery lock was taken, on the connection
    that holds it. Each mark is one statement (``mark_delivered``), its own transaction, taking
    the user's turn lock (so /forget and a mark never cross); the last lets the delivery lock
    go in the same round trip."""

    def __init__(self, connection: Pooled, user_id: int, key: int, owed: list[Owed]) -> None:
        self.connection = connection
        self.user_id = user_id
        self.key = key
        self._owed = owed
        #: Whether the delivery lock may still be held.
        self.locked = True

    async def owed(self) -> list[Owed]:
        return list(self._owed)

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        last = self.locked and bool(self._owed) and owed.id == self._owed[-1].id
        async with _retryable():
            await self.connection.execute(
                "SELECT mark_delivered($1, $2, $3, $4, $5)",
                owed.id,
                owed.user_id,
                message_id,
                DELIVERY_LOCK if last else None,
                self.key if last else None,
            )
        if last:
            self.locked = False

    async def delivered_all(self, marks: Sequence[tuple[Owed, int | None]]) -> None:
        """Each mark its own statement, in order (the last one lets the delivery lock go)."""
        for owed, message_id in marks:
            await self.delivered(owed, message_id)


class _Sessions:
    def __init__(self, unit: PostgresUnit) -> None:
        self.unit = unit

    async def get(self, chat_id: int, user_id: int) -> Stored | None:
        row = await self.unit.fetchrow(
            "SELECT data, first_name, last_update, updated_at FROM sessions "
            "WHERE chat_id = $1 AND user_id = $2",
            chat_id,
            user_id,
            reads="sessions",
        )
        if row is None:
            return None
        data, first_name, last_update, updated_at = row
        return _stored(data, first_name, last_update, updated_at, self.unit.store.knowledge)

    async def put(self, chat_id: int, user_id: int, stored: Stored) -> None:
        session = stored.session
        self.unit.saved[(chat_id, user_id)] = (
            chat_id,
            user_id,
            orjson.dumps(session.to_dict()).decode(),
            _optional_text(stored.first_name),
            stored.last_update,
            self.unit.now,
            session.state,
            _optional_text(session.source),
        )


class _Events:
    def __init__(self, unit: PostgresUnit) -> None:
        self.unit = unit

    async def add(
        self, user_id: int, kind: str, *, source: str | None = None, detail: str | None = None
    ) -> None:
        now = self.unit.now
        source, detail = _optional_text(source), _optional_text(detail)
        self.unit.added_events.append((now, user_id, source, kind, detail))
        day_detail = (detail or "") if kind == FINISHED else ""
        self.unit.day_counts[(now // DAY, source or "", kind, day_detail)] += 1

    async def latest(self, user_id: int, kinds: Sequence[str]) -> str | None:
        row = await self.unit.fetchrow(
            "SELECT kind FROM events WHERE user_id = $1 AND kind = ANY($2::text[]) "
            "ORDER BY id DESC LIMIT 1",
            user_id,
            list(kinds),
            reads="events",
        )
        return row[0] if row else None

    async def exists(self, user_id: int, kind: str, detail: str) -> bool:
        row = await self.unit.fetchrow(
            "SELECT 1 FROM events WHERE user_id = $1 AND kind = $2 AND detail = $3 LIMIT 1",
            user_id,
            kind,
            _text(detail),
            reads="events",
        )
        return row is not None


class _Leads:
    def __init__(self, unit: PostgresUnit) -> None:
        self.unit = unit

    async def add(self, lead: Lead, destinations: Sequence[str] = ()) -> None:
        """The lead and its deliveries in one statement."""
        await self.unit.execute(
            "WITH lead AS (INSERT INTO leads (key, at, chat_id, user_id, name, contact, source, "
            "recommendation, answers, channel, language) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $12) "
            "RETURNING id, user_id, at) "
            "INSERT INTO lead_deliveries (lead_id, user_id, destination, next_attempt_at, "
            "created_at) SELECT lead.id, lead.user_id, destination, lead.at, lead.at "
            "FROM lead, unnest($10::text[]) AS destination",
            lead.key or new_key(),
            self.unit.now,
            lead.chat_id,
            lead.user_id,
            _text(lead.name),
            _text(lead.contact),
            _optional_text(lead.source),
            lead.recommendation,
            json.dumps(dict(lead.answers), separators=(",", ":")),
            list(destinations),
            _text(lead.channel),
            _text(lead.language),
        )

    async def reach(self, user_id: int) -> LeadReach:
        """Locks the user's delivery rows (FOR UPDATE) until the unit ends: a claim skips them."""
        leads = await self.unit.fetchrow("SELECT count(*) FROM leads WHERE user_id = $1", user_id)
        states = await self.unit.fetch(
            "SELECT destination, status, claimed_until FROM lead_deliveries WHERE user_id = $1 "
            "FOR UPDATE",
            user_id,
        )
        return reach(int(leads[0]) if leads else 0, states, self.unit.now)


class _Outbox:
    def __init__(self, unit: PostgresUnit) -> None:
        self.unit = unit

    async def put(self, user_id: int, messages: Sequence[Outgoing]) -> None:
        self.unit.put_messages.extend(
            (
                user_id,
                m.chat_id,
                m.kind,
                orjson.dumps(m.body).decode(),
                m.live,
                m.digest,
            )
            for m in messages
        )

    async def owed(self, user_id: int) -> list[Owed]:
        rows = await self.unit.fetch(
            "SELECT id, chat_id, kind, body, live, digest FROM outbox WHERE user_id = $1 "
            "ORDER BY id",
            user_id,
            reads="outbox",
        )
        return _owed(user_id, rows)

    async def live(self, chat_id: int, user_id: int) -> Live | None:
        row = await self.unit.fetchrow(
            "SELECT message_id, digest FROM live WHERE chat_id = $1 AND user_id = $2",
            chat_id,
            user_id,
            reads="live",
        )
        return Live(row[0], row[1]) if row else None

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        message = owed.message
        if message.live and message_id is not None:
            # Only while it is still owed: after /forget, nothing about the user comes back.
            await self.unit.execute(
                "INSERT INTO live (chat_id, user_id, message_id, digest) "
                "SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM outbox WHERE id = $5) "
                "ON CONFLICT (chat_id, user_id) DO UPDATE SET message_id = excluded.message_id, "
                "digest = excluded.digest",
                message.chat_id,
                owed.user_id,
                message_id,
                message.digest,
                owed.id,
            )
        await self.unit.execute("DELETE FROM outbox WHERE id = $1", owed.id)

    async def release(self, chat_id: int, user_id: int) -> None:
        self.unit.released[(chat_id, user_id)] = None


class _Links:
    def __init__(self, unit: PostgresUnit) -> None:
        self.unit = unit

    async def add(self, name: str) -> None:
        await self.unit.execute(
            "INSERT INTO links (name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            _text(name),
            self.unit.now,
        )

    async def exists(self, name: str) -> bool:
        row = await self.unit.fetchrow("SELECT 1 FROM links WHERE name = $1", _text(name))
        return row is not None


class _Updates:
    def __init__(self, unit: PostgresUnit) -> None:
        self.unit = unit

    async def applied(self, user_id: int, update_id: int) -> bool:
        row = await self.unit.fetchrow(
            "SELECT 1 FROM applied_updates WHERE user_id = $1 AND update_id = $2 AND at >= $3",
            user_id,
            update_id,
            self.unit.now - APPLIED_KEPT_SECONDS,
            reads="applied_updates",
        )
        return row is not None

    async def add(self, user_id: int, update_id: int) -> None:
        self.unit.applied[(user_id, update_id)] = self.unit.now


# -- the export (run in a child process by ``python -m storage.export --postgres OUT``) -------


async def connect_from_environment() -> Connection:
    """The export's connection, as the child process opens it: DATABASE_URL and
    DATABASE_SCHEMA from the environment (so the password is never on a command line)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise StorageError("DATABASE_URL is not set")
    return await connect(url, os.environ.get("DATABASE_SCHEMA") or None)
