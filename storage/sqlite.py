"""The embedded store: SQLite in WAL mode, off the event loop.

Every statement runs in a worker thread, so a slow disk or a long report never freezes the
bot. Turns go through one writer connection, one transaction at a time; reports (``/stats``,
``/export``) read through a second connection, which WAL lets run beside the writer. WAL with
``synchronous=NORMAL`` survives the process being killed at any moment (only a power loss can
drop the newest transactions, the trade-off SQLite documents for WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson

from advisor import Knowledge
from advisor.session import QUESTION_PREFIX, Session

from . import csvfile, export
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
    UnitDelivery,
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
T = TypeVar("T")
DAY = 86400
#: How much lower the report thread's CPU priority is than the bot's.
REPORT_NICENESS = 10
#: Where ``python -m storage.export`` runs from.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Schema changes, in order; ``PRAGMA user_version`` counts how many are applied.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, events and leads (the first schema; files made before versioning have it).
    """
    CREATE TABLE IF NOT EXISTS sessions (
        chat_id     INTEGER NOT NULL,
        user_id     INTEGER NOT NULL,
        data        TEXT    NOT NULL,
        message_id  INTEGER,
        first_name  TEXT,
        last_update INTEGER NOT NULL DEFAULT 0,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (chat_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS sessions_updated ON sessions (updated_at);
    CREATE TABLE IF NOT EXISTS events (
        at      INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        source  TEXT,
        kind    TEXT    NOT NULL,
        detail  TEXT
    );
    CREATE INDEX IF NOT EXISTS events_at ON events (at);
    CREATE INDEX IF NOT EXISTS events_user ON events (user_id);
    CREATE TABLE IF NOT EXISTS leads (
        at             INTEGER NOT NULL,
        chat_id        INTEGER NOT NULL,
        user_id        INTEGER NOT NULL,
        name           TEXT    NOT NULL,
        contact        TEXT    NOT NULL,
        source         TEXT,
        recommendation TEXT    NOT NULL,
        answers        TEXT    NOT NULL
    );
    CREATE INDEX IF NOT EXISTS leads_user ON leads (user_id);
    """,
    # 2: the outbox of messages still owed, and the live message apart from the session;
    #    the session's state and source as columns, so reports need not parse every session.
    """
    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id    INTEGER NOT NULL,
        chat_id    INTEGER NOT NULL,
        kind       TEXT    NOT NULL,
        body       TEXT    NOT NULL,
        live       INTEGER NOT NULL DEFAULT 0,
        digest     TEXT    NOT NULL DEFAULT ''
    );
    CREATE INDEX outbox_user ON outbox (user_id, id);
    CREATE TABLE live (
        chat_id    INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        digest     TEXT    NOT NULL DEFAULT '',
        PRIMARY KEY (chat_id, user_id)
    ) WITHOUT ROWID;
    INSERT INTO live (chat_id, user_id, message_id)
        SELECT chat_id, user_id, message_id FROM sessions WHERE message_id IS NOT NULL;
    ALTER TABLE sessions DROP COLUMN message_id;
    ALTER TABLE sessions ADD COLUMN state TEXT NOT NULL DEFAULT '';
    ALTER TABLE sessions ADD COLUMN source TEXT;
    UPDATE sessions SET
        state = coalesce(json_extract(data, '$.s'), ''),
        source = json_extract(data, '$.src')
        WHERE json_valid(data);
    """,
    # 3: the tracked links admins made with /link (only these count as a source).
    """
    CREATE TABLE links (
        name       TEXT    PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO links (name, created_at)
        SELECT DISTINCT source, 0 FROM sessions WHERE source IS NOT NULL AND source != 'shared';
    """,
    # 4: covering indexes, so /stats counts without looking up every row.
    """
    CREATE INDEX events_report ON events (at, source, kind, detail);
    DROP INDEX events_at;
    CREATE INDEX sessions_report ON sessions (updated_at, state);
    DROP INDEX sessions_updated;
    """,
    # 5: daily totals of the events (no user ids), so /stats reads a few hundred rows.
    """
    CREATE TABLE event_days (
        day    INTEGER NOT NULL,
        source TEXT    NOT NULL,
        kind   TEXT    NOT NULL,
        detail TEXT    NOT NULL,
        count  INTEGER NOT NULL,
        PRIMARY KEY (day, source, kind, detail)
    ) WITHOUT ROWID;
    INSERT INTO event_days (day, source, kind, detail, count)
        SELECT at / 86400, coalesce(source, ''), kind,
               CASE WHEN kind = 'finished' THEN coalesce(detail, '') ELSE '' END, count(*)
        FROM events GROUP BY 1, 2, 3, 4;
    """,
    # 6: leads get an id and a unique key (their deliveries' idempotency key), and each lead a
    #    delivery per destination, retried until it is done (leads of earlier versions were
    #    sent through the outbox and get none).
    """
    CREATE TABLE leads_keyed (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        key            TEXT    NOT NULL UNIQUE,
        at             INTEGER NOT NULL,
        chat_id        INTEGER NOT NULL,
        user_id        INTEGER NOT NULL,
        name           TEXT    NOT NULL,
        contact        TEXT    NOT NULL,
        source         TEXT,
        recommendation TEXT    NOT NULL,
        answers        TEXT    NOT NULL
    );
    INSERT INTO leads_keyed (id, key, at, chat_id, user_id, name, contact, source,
                             recommendation, answers)
        SELECT rowid, lower(hex(randomblob(16))), at, chat_id, user_id, name, contact, source,
               recommendation, answers
        FROM leads ORDER BY rowid;
    DROP TABLE leads;
    ALTER TABLE leads_keyed RENAME TO leads;
    CREATE INDEX leads_user ON leads (user_id);
    CREATE TABLE lead_deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        lead_id         INTEGER NOT NULL,
        user_id         INTEGER NOT NULL,
        destination     TEXT    NOT NULL,
        status          TEXT    NOT NULL DEFAULT 'pending',
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        claimed_until   INTEGER,
        claim           TEXT,
        last_error      TEXT,
        failing_since   INTEGER,
        alerted         INTEGER NOT NULL DEFAULT 0,
        delivered_at    INTEGER,
        created_at      INTEGER NOT NULL,
        UNIQUE (lead_id, destination)
    );
    CREATE INDEX lead_deliveries_due ON lead_deliveries (status, next_attempt_at);
    CREATE INDEX lead_deliveries_user ON lead_deliveries (user_id);
    """,
    # 7: the ids of the updates applied to each user, so an update is applied once whatever
    #    order updates come in (a lower id than the last applied may still be new).
    """
    CREATE TABLE applied_updates (
        user_id   INTEGER NOT NULL,
        update_id INTEGER NOT NULL,
        at        INTEGER NOT NULL,
        PRIMARY KEY (user_id, update_id)
    ) WITHOUT ROWID;
    CREATE INDEX applied_updates_at ON applied_updates (at);
    """,
    # 8: the channel each lead came through: "telegram" (the bot), "web" (the web pages) or
    #    "mini_app" (the Telegram Mini App); leads of earlier versions all came through the bot.
    """
    ALTER TABLE leads ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
    """,
    # 9: the person's language when the lead was stored ("pt"); "" for earlier leads (unknown).
    """
    ALTER TABLE leads ADD COLUMN language TEXT NOT NULL DEFAULT '';
    """,
)


#: How long work on the writer thread waits for another program's write lock, in seconds.
BUSY_SECONDS = 5.0
BUSY_PAUSE_SECONDS = 0.02


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite said another connection holds the lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def _patiently(fn: Callable[[], T]) -> T:
    """``fn()`` on the writer thread, tried again while the file is locked, for a while."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(BUSY_PAUSE_SECONDS)


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=5000")
    return db


class SqliteStore:
    """The SQLite backend of :class:`storage.base.Store`."""

    def __init__(
        self, path: Path | str, knowledge: Knowledge, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = self.location = str(path)
        self.knowledge = knowledge
        self.migrated_from = self.schema_version = 0
        self.clock = clock
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="sqlite-reader")
        self._lock = asyncio.Lock()
        self._db: sqlite3.Connection | None = None
        self._read_db: sqlite3.Connection | None = None
        #: Units that ended since the last commit share one transaction (see :meth:`unit`):
        #: whether it is open, who waits for its commit (and whose writes are in it), whether
        #: its commit is due, and the tasks that wait for the store to commit it.
        self._group_open = False
        self._group: list[asyncio.Future[None]] = []
        self._group_users: set[int] = set()
        self._committing = False
        self._commits: set[asyncio.Task[None]] = set()

    # -- opening and closing ------------------------------------------------------------------

    async def open(self) -> SqliteStore:
        """Open (creating and upgrading as needed); raise :class:`StorageError` naming STATE_DB
        and the cause, in one line, if it can't."""
        try:
            self._db = await self._write(self._open_writer)
            if self.path == ":memory:":
                self._read_db = self._db
            else:
                self._read_db = await self._read(self._open_reader)
        except (sqlite3.Error, OSError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise StorageError(f"STATE_DB: {self.path}: cannot be opened: {reason}") from None
        return self

    def _open_writer(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = _connect(self.path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA secure_delete=ON")  # what /forget deletes is overwritten
        self.migrated_from = int(db.execute("PRAGMA user_version").fetchone()[0])
        self.schema_version = migrate(db)
        # Only this process uses the file (STATE_DB is locked): deliveries a killed process had
        # claimed are free again, rather than waiting for their claims to run out.
        db.execute(
            "UPDATE lead_deliveries SET claim = NULL, claimed_until = NULL WHERE claim IS NOT NULL"
        )
        # A crash right after a /forget can leave copies of deleted rows in the log: fold the
        # log into the (securely overwritten) database and empty it before anything else.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # From here on this connection never waits for another program's write lock: a turn
        # runs on the event loop's thread, where waiting would hold up every user (even /help).
        # A turn that finds the file locked gives up at once (StoreBusy) and is tried again
        # later; work on the writer thread waits for the lock there (see _write).
        db.execute("PRAGMA busy_timeout=0")
        return db

    def _open_reader(self) -> sqlite3.Connection:
        # Reports are long and nobody waits on them like on a reply: this thread yields the
        # CPU to the event loop's (Linux schedules threads apart; elsewhere this is skipped).
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), REPORT_NICENESS)
        db = _connect(self.path)
        db.execute("PRAGMA query_only=ON")
        return db

    async def ping(self) -> None:
        """Read the file's schema, which needs the file to be there and readable."""
        if self._db is None:
            raise StorageError(f"the store at {self.path} is not open")
        try:
            await self._write(
                lambda: self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            )
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: {exc}") from exc

    async def close(self) -> None:
        try:
            if self._db is not None and (self._group_open or self._group):
                async with self._alone():  # the units that ended are committed first
                    pass
        finally:
            for db in {id(d): d for d in (self._db, self._read_db) if d is not None}.values():
                db.close()
            self._db = self._read_db = None
            self._writer.shutdown(wait=False)
            self._reader.shutdown(wait=False)

    async def _write(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the writer thread, waiting there (not on the event loop) up to
        :data:`BUSY_SECONDS` while another program holds the file's write lock."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, _patiently, fn)
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreBusy(f"{self.path}: {exc}") from exc
            raise

    def _inline(self, fn: Callable[[], T]) -> T:
        """Run a turn's statements right here, on the event loop's thread.

        They are a few short statements on indexed rows of a file this process alone writes
        (WAL, ``synchronous=NORMAL``: a commit does not wait for the disk), so they take less
        time than a trip to the writer thread and back, which costs the bot more CPU than the
        statements themselves. Long work (purges, reports, the lead queue) stays on threads.
        Callers hold ``_lock``, so a unit's statements never interleave with another's (units
        share a transaction only one after the other, see :meth:`unit`)."""
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreBusy(f"{self.path}: {exc}") from exc
            raise

    async def _read(self, fn: Callable[[], T]) -> T:
        if self._read_db is self._db:  # in memory: one connection, so wait for open units
            async with self._alone():
                return await self._write(fn)
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError(f"the store at {self.path} is not open")
        return self._db

    # -- turns ----------------------------------------------------------------------------------

    @asynccontextmanager
    async def unit(self, user_id: int) -> AsyncIterator[SqliteUnit]:
        """One unit of work, one at a time (SQLite has a single writer anyway), done once its
        commit is on disk (as far as ``synchronous=NORMAL`` goes).

        Writes are buffered and applied when the unit ends, in a transaction that the units
        ending before the next commit share (each one after the first in a savepoint): under
        load, one commit for many people's turns rather than one each. The commit comes as
        soon as the event loop is done with what it has in hand. A unit that fails takes back
        its own writes only; a commit that fails fails every unit waiting on it (none of them
        is done). Reads see the buffered writes (they are applied first when a read follows a
        write), and those of the units waiting for the commit: a unit that only read waits for
        that commit too when its person has writes in it.
        """
        async with self._lock:
            unit = SqliteUnit(self)
            try:
                yield unit
            except BaseException:
                if unit.begun:
                    self._inline(unit.rollback)
                raise
            if unit.pending or unit.begun:
                self._inline(unit.commit)
                if unit.forgot:  # no copy of what was deleted may stay behind, even for a while
                    self._inline(self._commit_group)
                    await self._write(self._scrub)
                    return
            elif user_id not in self._group_users:
                return  # it only read, and nothing of this person's waits for a commit
            # A unit that only read may have read this person's writes still waiting for their
            # commit: it is done when they are (if they fail, what it read never was).
            done = self._join_group(user_id)
        await done

    def _join_group(self, user_id: int) -> asyncio.Future[None]:
        """The commit this unit waits for, due as soon as the event loop is free (under
        ``_lock``)."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._group.append(done)
        self._group_users.add(user_id)
        if not self._committing:
            self._committing = True
            loop.call_soon(self._commit_soon)
        return done

    def _commit_soon(self) -> None:
        """Commit the units that ended in this turn of the event loop, at once if no unit is
        under way (one that waits for the writer thread), else as soon as it is done."""
        if self._lock.locked():
            task = asyncio.get_running_loop().create_task(self._commit_when_free())
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
            return
        self._commit_due()

    async def _commit_when_free(self) -> None:
        try:
            async with self._lock:
                self._commit_due()
        finally:
            # Cancelled before it had the store (the bot is stopping): the next unit, or
            # close(), commits what waits.
            self._committing = False

    def _commit_due(self) -> None:
        """The commit :meth:`_join_group` asked for (under ``_lock``)."""
        self._committing = False
        with contextlib.suppress(Exception):  # the units waiting on it have the error
            self._commit_group()

    def _begin_group(self) -> bool:
        """Open the shared transaction, unless it is open (under ``_lock``); whether this
        opened it."""
        if self._group_open and not self.db.in_transaction:
            # SQLite gave the transaction up by itself (a full disk, an I/O error).
            self._group_lost(sqlite3.OperationalError("the transaction was rolled back"))
        if self._group_open:
            return False
        self.db.execute("BEGIN IMMEDIATE")
        self._group_open = True
        return True

    def _commit_group(self) -> None:
        """Commit the shared transaction, and tell each unit in it how that went (under
        ``_lock``): done, or the error (StoreBusy when the file was locked)."""
        waiting, self._group = self._group, []
        self._group_users.clear()
        try:
            if self._group_open:
                self._group_open = False
                try:
                    self.db.execute("COMMIT")
                except BaseException:
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
                    raise
        except BaseException as exc:
            busy = isinstance(exc, sqlite3.OperationalError) and _busy(exc)
            failure = StoreBusy(f"{self.path}: {exc}") if busy else exc
            for done in waiting:
                if not done.done():
                    done.set_exception(failure)
            if failure is exc:
                raise
            raise failure from exc
        for done in waiting:
            if not done.done():
                done.set_result(None)

    def _group_lost(self, cause: BaseException) -> None:
        """SQLite rolled the shared transaction back by itself (a full disk, an I/O error):
        every unit waiting for it failed."""
        self._group_open = False
        waiting, self._group = self._group, []
        self._group_users.clear()
        for done in waiting:
            if not done.done():
                done.set_exception(StorageError(f"{self.path}: {cause}"))

    @asynccontextmanager
    async def _alone(self) -> AsyncIterator[None]:
        """The connection with no unit's transaction open: for work that runs its own (purges,
        the lead queue) or must see every unit committed."""
        async with self._lock:
            if self._group_open or self._group:
                # A failed commit is the waiting units' (they have the error), not this work's.
                with contextlib.suppress(Exception):
                    self._commit_group()
            if self.db.in_transaction:
                raise StorageError(f"{self.path}: a transaction could not be ended")
            yield

    @asynccontextmanager
    async def delivering(self, user_id: int) -> AsyncIterator[UnitDelivery]:
        """Nothing to hold: one process owns the file, and the conversation service already
        delivers to each user one at a time within a process. Deliveries that finish together
        have their marks committed together (see :meth:`unit`)."""
        yield UnitDelivery(self, user_id)

    def _scrub(self) -> None:
        """Leave no copy of deleted rows in the write-ahead log (secure_delete covers the file)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def owing_users(self) -> list[int]:
        async with self._alone():  # not those whose turn is still to commit
            rows = await self._write(
                lambda: self.db.execute("SELECT DISTINCT user_id FROM outbox").fetchall()
            )
        return [user_id for (user_id,) in rows]

    async def purge_idle(self, ttl_days: int) -> int:
        cutoff = int(self.clock() - ttl_days * 86400)
        async with self._alone():
            return await self._write(lambda: self._purge(cutoff))

    def _purge(self, cutoff: int) -> int:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            removed = db.execute("DELETE FROM sessions WHERE updated_at < ?", (cutoff,)).rowcount
            db.execute(
                "DELETE FROM applied_updates WHERE at < ?",
                (int(self.clock()) - APPLIED_KEPT_SECONDS,),
            )
            db.execute(
                "DELETE FROM live WHERE NOT EXISTS (SELECT 1 FROM sessions s "
                "WHERE s.chat_id = live.chat_id AND s.user_id = live.user_id)"
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return removed

    # -- the lead queue (on the writer, one transaction each) ----------------------------------

    async def _queue(self, fn: Callable[[sqlite3.Connection, int], T]) -> T:
        """Run ``fn(db, now)`` in one write transaction, between turns."""
        now = int(self.clock())

        def run() -> T:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db, now)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            return result

        async with self._alone():
            return await self._write(run)

    async def claim_deliveries(
        self,
        destinations: Sequence[str],
        *,
        lease: int,
        limit: int,
        lead_id: int | None = None,
    ) -> list[LeadDelivery]:
        if not destinations:
            return []
        token = new_claim()
        marks = ", ".join("?" for _ in destinations)
        one_lead = "AND lead_id = ?" if lead_id is not None else ""

        def claim(db: sqlite3.Connection, now: int) -> list[LeadDelivery]:
            db.execute(
                "UPDATE lead_deliveries SET claim = ?, claimed_until = ? WHERE id IN ("
                "SELECT id FROM lead_deliveries WHERE status = 'pending' "
                f"AND next_attempt_at <= ? AND destination IN ({marks}) {one_lead} "
                "AND (claimed_until IS NULL OR claimed_until <= ?) "
                "ORDER BY lead_id, id LIMIT ?)",
                (
                    token,
                    now + lease,
                    now,
                    *destinations,
                    *([lead_id] if lead_id is not None else []),
                    now,
                    limit,
                ),
            )
            rows = db.execute(
                f"SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.claim = ? "
                "ORDER BY d.lead_id, d.id",
                (token,),
            ).fetchall()
            return [delivery(row) for row in rows]

        return await self._queue(claim)

    async def delivery_done(self, delivery: LeadDelivery) -> bool:
        def done(db: sqlite3.Connection, now: int) -> bool:
            return _one(
                db.execute(
                    "UPDATE lead_deliveries SET status = 'delivered', delivered_at = ?, "
                    "attempts = attempts + 1, claim = NULL, claimed_until = NULL "
                    "WHERE id = ? AND claim = ? AND status = 'pending'",
                    (now, delivery.id, delivery.claim),
                )
            )

        return await self._queue(done)

    async def delivery_failed(self, delivery: LeadDelivery, error: str, retry_at: int) -> bool:
        def failed(db: sqlite3.Connection, now: int) -> bool:
            return _one(
                db.execute(
                    "UPDATE lead_deliveries SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ?, failing_since = coalesce(failing_since, ?), "
                    "claim = NULL, claimed_until = NULL "
                    "WHERE id = ? AND claim = ? AND status = 'pending'",
                    (error, retry_at, now, delivery.id, delivery.claim),
                )
            )

        return await self._queue(failed)

    async def delivery_postponed(self, delivery: LeadDelivery, error: str, until: int) -> None:
        def postpone(db: sqlite3.Connection, now: int) -> None:
            db.execute(
                "UPDATE lead_deliveries SET last_error = ?, "
                "next_attempt_at = max(next_attempt_at, ?), "
                "failing_since = coalesce(failing_since, ?), claim = NULL, claimed_until = NULL "
                "WHERE id = ? AND claim = ? AND status = 'pending'",
                (error, until, now, delivery.id, delivery.claim),
            )

        await self._queue(postpone)

    async def pending_deliveries(self, *, limit: int) -> list[LeadDelivery]:
        def pending(db: sqlite3.Connection, now: int) -> list[LeadDelivery]:
            rows = db.execute(
                f"SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.lead_id IN ("
                "SELECT DISTINCT lead_id FROM lead_deliveries WHERE status = 'pending' "
                "ORDER BY lead_id LIMIT ?) ORDER BY d.lead_id, d.destination",
                (limit,),
            ).fetchall()
            return [delivery(row) for row in rows]

        return await self._queue(pending)

    async def deliveries_of(self, lead_id: int) -> list[LeadDelivery]:
        def of(db: sqlite3.Connection, now: int) -> list[LeadDelivery]:
            rows = db.execute(
                f"SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.lead_id = ? "
                "ORDER BY d.destination",
                (lead_id,),
            ).fetchall()
            return [delivery(row) for row in rows]

        return await self._queue(of)

    async def recent_leads(
        self, *, limit: int, before: int | None = None
    ) -> list[tuple[Lead, tuple[LeadDelivery, ...]]]:
        rows = await self._read(
            lambda: self._reads.execute(
                f"SELECT {DELIVERY_COLUMNS} FROM (SELECT * FROM leads "
                "WHERE ? IS NULL OR id < ? ORDER BY id DESC LIMIT ?) l "
                "LEFT JOIN lead_deliveries d ON d.lead_id = l.id ORDER BY l.id DESC, d.destination",
                (before, before, limit),
            ).fetchall()
        )
        return history(rows)

    async def retry_now(self, *, lead_id: int | None = None, destination: str | None = None) -> int:
        def retry(db: sqlite3.Connection, now: int) -> int:
            return db.execute(
                "UPDATE lead_deliveries SET next_attempt_at = ? WHERE status = 'pending' "
                "AND (? IS NULL OR lead_id = ?) AND (? IS NULL OR destination = ?)",
                (now, lead_id, lead_id, destination, destination),
            ).rowcount

        return await self._queue(retry)

    async def settle(self, lead_id: int) -> int:
        def settle(db: sqlite3.Connection, now: int) -> int:
            return db.execute(
                "UPDATE lead_deliveries SET status = 'handled', delivered_at = ?, claim = NULL, "
                "claimed_until = NULL WHERE lead_id = ? AND status = 'pending'",
                (now, lead_id),
            ).rowcount

        return await self._queue(settle)

    async def claim_alerts(self, failing_since: int) -> list[LeadDelivery]:
        def alerts(db: sqlite3.Connection, now: int) -> list[LeadDelivery]:
            ids = [
                row[0]
                for row in db.execute(
                    "UPDATE lead_deliveries SET alerted = 1 WHERE status = 'pending' "
                    "AND alerted = 0 AND failing_since <= ? RETURNING id",
                    (failing_since,),
                ).fetchall()
            ]
            if not ids:
                return []
            marks = ", ".join("?" for _ in ids)
            rows = db.execute(
                f"SELECT {DELIVERY_COLUMNS} {DELIVERY_FROM} WHERE d.id IN ({marks}) "
                "ORDER BY d.lead_id, d.destination",
                ids,
            ).fetchall()
            return [delivery(row) for row in rows]

        return await self._queue(alerts)

    async def lead_counts(self) -> LeadCounts:
        row = await self._read(
            lambda: self._reads.execute(
                "SELECT count(*) FILTER (WHERE waiting = 0), count(*) FILTER (WHERE waiting > 0) "
                "FROM (SELECT lead_id, sum(status = 'pending') AS waiting FROM lead_deliveries "
                "GROUP BY lead_id)"
            ).fetchone()
        )
        return LeadCounts(int(row[0] or 0), int(row[1] or 0))

    async def backlog(self) -> Backlog:
        def look() -> Backlog:
            reads = self._reads
            (owed,) = reads.execute("SELECT count(*) FROM outbox").fetchone()
            rows = reads.execute(BACKLOG_SQL).fetchall()
            return Backlog.of(owed, rows)

        return await self._read(look)

    # -- reports (second connection) -----------------------------------------------------------

    async def first_name(self, chat_id: int, user_id: int) -> str | None:
        row = await self._read(
            lambda: self._reads.execute(
                "SELECT first_name FROM sessions WHERE chat_id = ? AND user_id = ?",
                (chat_id, user_id),
            ).fetchone()
        )
        return row[0] if row else None

    async def events_since(self, since: int) -> list[Event]:
        rows = await self._read(
            lambda: self._reads.execute(
                "SELECT at, user_id, kind, source, detail FROM events WHERE at >= ?", (since,)
            ).fetchall()
        )
        return [Event(*row) for row in rows]

    async def event_totals(self, since: int) -> list[Event]:
        """Totals from whole (UTC) days: the day ``since`` falls in counts in full."""
        rows = await self._read(
            lambda: self._reads.execute(
                "SELECT source, kind, detail, sum(count) FROM event_days WHERE day >= ? "
                "GROUP BY source, kind, detail",
                (since // DAY,),
            ).fetchall()
        )
        return [
            Event(since, 0, kind, source or None, detail or None, n)
            for source, kind, detail, n in rows
        ]

    async def waiting_since(self, since: int) -> dict[str, int]:
        rows = await self._read(
            lambda: self._reads.execute(
                "SELECT state, count(*) FROM sessions WHERE updated_at >= ? AND state GLOB ? "
                "GROUP BY state",
                (since, QUESTION_PREFIX + "*"),
            ).fetchall()
        )
        return {state: n for state, n in rows}

    async def link_totals(self) -> list[LinkTotals]:
        rows = await self._read(lambda: self._reads.execute(LINK_TOTALS_SQL).fetchall())
        return [LinkTotals(name, int(at), *(int(n) for n in counts)) for name, at, *counts in rows]

    async def all_sessions(self) -> list[SessionRow]:
        return await self._read(self._session_rows)

    def _session_rows(self) -> list[SessionRow]:
        rows = self._reads.execute(
            "SELECT chat_id, user_id, first_name, source, state, data, updated_at "
            "FROM sessions ORDER BY updated_at"
        ).fetchall()
        return [
            SessionRow(chat, user, name, source, state, _answers(data), updated)
            for chat, user, name, source, state, data, updated in rows
        ]

    async def all_leads(self) -> list[Lead]:
        rows = await self._read(
            lambda: self._reads.execute(
                "SELECT chat_id, user_id, name, contact, source, recommendation, answers, at, id, "
                "key, channel, language FROM leads ORDER BY at, id"
            ).fetchall()
        )
        return [
            Lead(chat, user, name, contact, src, rec, json.loads(answers), at, id_, key, ch, lang)
            for chat, user, name, contact, src, rec, answers, at, id_, key, ch, lang in rows
        ]

    async def export_csv(
        self, out: Path, *, language: str = "en", admins: Collection[int] = ()
    ) -> None:
        if self.path == ":memory:":  # nothing to open from another process: export here
            sheet = export.Sheet(self.knowledge, language, admins)
            async with self._alone():
                await self._write(lambda: export.export_from(self.db, out, sheet))
            return
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "storage.export",
            *csvfile.child_arguments(language, admins),
            self.path,
            str(out),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            cwd=PROJECT_ROOT,
        )
        _, err = await child.communicate(csvfile.knowledge_input(self.knowledge))
        if child.returncode != 0:
            problem = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise StorageError(f"the export failed ({child.returncode}): {problem[0]}")

    @property
    def _reads(self) -> sqlite3.Connection:
        if self._read_db is None:
            raise StorageError(f"the store at {self.path} is not open")
        return self._read_db


def _answers(data: str) -> dict[str, str]:
    try:
        answers = json.loads(data).get("a", {})
    except (ValueError, AttributeError):
        return {}
    return answers if isinstance(answers, dict) else {}


def _one(cursor: sqlite3.Cursor) -> bool:
    return cursor.rowcount == 1


def migrate(db: sqlite3.Connection) -> int:
    """Apply the schema changes this file lacks, each in its own transaction; return the version."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        statements = [s.strip() for s in script.split(";") if s.strip()]
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        logger.info("storage schema upgraded to version %d", number)
    return len(MIGRATIONS)


#: The reads a turn opens with (see :meth:`SqliteUnit.open_turn`).
SESSION_SQL = (
    "SELECT data, first_name, last_update, updated_at FROM sessions "
    "WHERE chat_id = ? AND user_id = ?"
)
APPLIED_SQL = "SELECT 1 FROM applied_updates WHERE user_id = ? AND update_id = ? AND at >= ?"
LIVE_SQL = "SELECT message_id, digest FROM live WHERE chat_id = ? AND user_id = ?"
LINK_SQL = "SELECT 1 FROM links WHERE name = ?"


class SqliteUnit:
    """The repositories of one transaction; each call runs on the writer thread."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.forgot = False
        self.begun = False
        #: Whether this unit opened the shared transaction (see :meth:`SqliteStore.unit`).
        self.first = False
        self.pending: list[tuple[str, Sequence[Sequence[object]]]] = []
        self.sessions = _Sessions(self)
        self.events = _Events(self)
        self.leads = _Leads(self)
        self.outbox = _Outbox(self)
        self.links = _Links(self)
        self.updates = _Updates(self)

    def write(self, sql: str, *rows: Sequence[object]) -> None:
        """Buffer a statement (once per row of arguments) until the next read or the commit."""
        self.pending.append((sql, rows))

    def _apply(self) -> None:
        """Open this unit's savepoint if need be (and the shared transaction), and run the
        buffered statements."""
        db = self.store.db
        if not self.begun:
            # The first unit of a transaction needs no savepoint: rolling it back is a ROLLBACK.
            self.first = self.store._begin_group()
            if not self.first:
                db.execute("SAVEPOINT unit")
            self.begun = True
        pending, self.pending = self.pending, []
        for sql, rows in pending:
            db.executemany(sql, rows)

    def commit(self) -> None:
        """Apply what is buffered and end the savepoint: the writes join the shared
        transaction (the store commits it). On failure, roll this unit's writes back."""
        try:
            self._apply()
            if not self.first:
                self.store.db.execute("RELEASE unit")
        except BaseException:
            if self.begun:
                self.rollback()
            raise

    def rollback(self) -> None:
        """Undo this unit's writes, and only them."""
        db = self.store.db
        if not db.in_transaction:  # SQLite gave the whole transaction up (disk full, I/O)
            self.store._group_lost(sqlite3.OperationalError("the transaction was rolled back"))
        elif self.first:  # nothing else is in the transaction yet
            db.execute("ROLLBACK")
            self.store._group_open = False
        else:
            db.execute("ROLLBACK TO unit")
            db.execute("RELEASE unit")

    async def query(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        def run() -> list[Any]:
            if self.pending:
                self._apply()
            return self.store.db.execute(sql, args).fetchall()

        return self.store._inline(run)

    async def fetchone(self, sql: str, args: Sequence[object] = ()) -> Any:
        rows = await self.query(sql, args)
        return rows[0] if rows else None

    @property
    def now(self) -> int:
        return int(self.store.clock())

    async def open_turn(
        self, chat_id: int, user_id: int, update_id: int, *, link: str | None = None
    ) -> Opening:
        """The turn's reads in one trip to the writer thread (each trip costs more CPU than
        the reads themselves): the session, whether the update was applied (else it is
        recorded), the live message and the link."""
        now = self.now

        def run() -> tuple[Any, bool, Any, bool]:
            db = self.store.db
            if self.pending:
                self._apply()
            session = db.execute(SESSION_SQL, (chat_id, user_id)).fetchone()
            if (
                update_id
                and db.execute(
                    APPLIED_SQL, (user_id, update_id, now - APPLIED_KEPT_SECONDS)
                ).fetchone()
            ):
                return session, True, None, False
            live = db.execute(LIVE_SQL, (chat_id, user_id)).fetchone()
            known = bool(link) and db.execute(LINK_SQL, (link,)).fetchone() is not None
            return session, False, live, known

        row, repeat, live, known = self.store._inline(run)
        stored = self.sessions.restore(row)
        if repeat:
            return Opening(stored, repeat=True)
        if update_id:
            await self.updates.add(user_id, update_id)
        return Opening(stored, Live(live[0], live[1]) if live else None, known_link=known)

    async def forget(self, user_id: int) -> int:
        def delete() -> int:
            self._apply()
            return sum(
                self.store.db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount
                for table in (
                    "sessions",
                    "events",
                    "leads",
                    "lead_deliveries",
                    "outbox",
                    "live",
                    "applied_updates",
                )
            )

        self.forgot = True
        return await self.store._write(delete)


class _Sessions:
    def __init__(self, unit: SqliteUnit) -> None:
        self.unit = unit

    async def get(self, chat_id: int, user_id: int) -> Stored | None:
        return self.restore(await self.unit.fetchone(SESSION_SQL, (chat_id, user_id)))

    def restore(self, row: Any) -> Stored | None:
        """A stored session from its row (None: no row)."""
        if row is None:
            return None
        data, first_name, last_update, updated_at = row
        try:
            session = Session.from_dict(orjson.loads(data), self.unit.store.knowledge)
        except ValueError:
            session = None
        if session is None:
            return Stored(Session(), first_name, last_update, updated_at, restored_fresh=True)
        return Stored(session, first_name, last_update, updated_at)

    async def put(self, chat_id: int, user_id: int, stored: Stored) -> None:
        session = stored.session
        data = orjson.dumps(session.to_dict()).decode()
        self.unit.write(
            "INSERT INTO sessions (chat_id, user_id, data, first_name, last_update, updated_at, "
            "state, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (chat_id, user_id) DO UPDATE SET data = excluded.data, "
            "first_name = excluded.first_name, last_update = excluded.last_update, "
            "updated_at = excluded.updated_at, state = excluded.state, source = excluded.source",
            (
                chat_id,
                user_id,
                data,
                stored.first_name,
                stored.last_update,
                self.unit.now,
                session.state,
                session.source,
            ),
        )


class _Events:
    def __init__(self, unit: SqliteUnit) -> None:
        self.unit = unit

    async def add(
        self, user_id: int, kind: str, *, source: str | None = None, detail: str | None = None
    ) -> None:
        now = self.unit.now
        self.unit.write(
            "INSERT INTO events (at, user_id, source, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (now, user_id, source, kind, detail),
        )
        self.unit.write(
            "INSERT INTO event_days (day, source, kind, detail, count) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT (day, source, kind, detail) DO UPDATE SET count = count + 1",
            (now // DAY, source or "", kind, (detail or "") if kind == FINISHED else ""),
        )

    async def latest(self, user_id: int, kinds: Sequence[str]) -> str | None:
        marks = ", ".join("?" for _ in kinds)
        row = await self.unit.fetchone(
            f"SELECT kind FROM events WHERE user_id = ? AND kind IN ({marks}) "
            "ORDER BY rowid DESC LIMIT 1",
            (user_id, *kinds),
        )
        return row[0] if row else None

    async def exists(self, user_id: int, kind: str, detail: str) -> bool:
        row = await self.unit.fetchone(
            "SELECT 1 FROM events WHERE user_id = ? AND kind = ? AND detail = ? LIMIT 1",
            (user_id, kind, detail),
        )
        return row is not None


class _Leads:
    def __init__(self, unit: SqliteUnit) -> None:
        self.unit = unit

    async def add(self, lead: Lead, destinations: Sequence[str] = ()) -> None:
        key, now = lead.key or new_key(), self.unit.now
        self.unit.write(
            "INSERT INTO leads (key, at, chat_id, user_id, name, contact, source, recommendation, "
            "answers, channel, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                now,
                lead.chat_id,
                lead.user_id,
                lead.name,
                lead.contact,
                lead.source,
                lead.recommendation,
                json.dumps(dict(lead.answers), separators=(",", ":")),
                lead.channel,
                lead.language,
            ),
        )
        if destinations:
            self.unit.write(
                "INSERT INTO lead_deliveries (lead_id, user_id, destination, next_attempt_at, "
                "created_at) SELECT id, user_id, ?, ?, ? FROM leads WHERE key = ?",
                *[(destination, now, now, key) for destination in destinations],
            )

    async def reach(self, user_id: int) -> LeadReach:
        now = self.unit.now
        leads = await self.unit.fetchone("SELECT count(*) FROM leads WHERE user_id = ?", (user_id,))
        states = await self.unit.query(
            "SELECT destination, status, claimed_until FROM lead_deliveries WHERE user_id = ?",
            (user_id,),
        )
        return reach(int(leads[0]), states, now)


class _Outbox:
    def __init__(self, unit: SqliteUnit) -> None:
        self.unit = unit

    async def put(self, user_id: int, messages: Sequence[Outgoing]) -> None:
        self.unit.write(
            "INSERT INTO outbox (user_id, chat_id, kind, body, live, digest) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            *[
                (
                    user_id,
                    m.chat_id,
                    m.kind,
                    orjson.dumps(m.body).decode(),
                    int(m.live),
                    m.digest,
                )
                for m in messages
            ],
        )

    async def owed(self, user_id: int) -> list[Owed]:
        rows = await self.unit.query(
            "SELECT id, chat_id, kind, body, live, digest FROM outbox WHERE user_id = ? "
            "ORDER BY id",
            (user_id,),
        )
        return [
            Owed(id_, user_id, Outgoing(chat, kind, orjson.loads(body), bool(live), digest))
            for id_, chat, kind, body, live, digest in rows
        ]

    async def live(self, chat_id: int, user_id: int) -> Live | None:
        row = await self.unit.fetchone(LIVE_SQL, (chat_id, user_id))
        return Live(row[0], row[1]) if row else None

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        message = owed.message
        if message.live and message_id is not None:
            # Only while it is still owed: after /forget, nothing about the user comes back.
            self.unit.write(
                "INSERT INTO live (chat_id, user_id, message_id, digest) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM outbox WHERE id = ?) "
                "ON CONFLICT (chat_id, user_id) DO UPDATE SET message_id = excluded.message_id, "
                "digest = excluded.digest",
                (message.chat_id, owed.user_id, message_id, message.digest, owed.id),
            )
        self.unit.write("DELETE FROM outbox WHERE id = ?", (owed.id,))

    async def release(self, chat_id: int, user_id: int) -> None:
        self.unit.write("DELETE FROM live WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))


class _Links:
    def __init__(self, unit: SqliteUnit) -> None:
        self.unit = unit

    async def add(self, name: str) -> None:
        self.unit.write(
            "INSERT OR IGNORE INTO links (name, created_at) VALUES (?, ?)", (name, self.unit.now)
        )

    async def exists(self, name: str) -> bool:
        return await self.unit.fetchone(LINK_SQL, (name,)) is not None


class _Updates:
    def __init__(self, unit: SqliteUnit) -> None:
        self.unit = unit

    async def applied(self, user_id: int, update_id: int) -> bool:
        row = await self.unit.fetchone(
            APPLIED_SQL, (user_id, update_id, self.unit.now - APPLIED_KEPT_SECONDS)
        )
        return row is not None

    async def add(self, user_id: int, update_id: int) -> None:
        self.unit.write(
            "INSERT INTO applied_updates (user_id, update_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, update_id) DO UPDATE SET at = excluded.at",
            (user_id, update_id, self.unit.now),
        )
