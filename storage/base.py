"""What the conversation service needs from storage: small protocols and the records they hold.

A backend (SQLite, or PostgreSQL for several instances) implements :class:`Store`. Everything
a turn writes — the session, statistics events, a lead with a delivery owed to each of its
destinations, the messages still owed to the user — goes through one :class:`UnitOfWork`,
committed together or not at all. Leads are then delivered through :class:`LeadQueue`, whose
rows any instance may claim for a while (a lease), so each is sent by one instance at a time.
Every backend passes the same contract tests (``tests/test_storage_contract.py``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from advisor import StackAdvisorError
from advisor.session import Session

#: Event kinds recorded for the statistics.
STARTED, FINISHED, SHARED, LEAD = "started", "finished", "shared", "lead"
#: Where a lead's delivery to one destination stands: still to do, done, or settled by an admin.
PENDING, DELIVERED, HANDLED = "pending", "delivered", "handled"
#: Where a person acts, and so the channel a lead comes through: the Telegram bot, the web
#: pages, the Telegram Mini App.
BOT_CHANNEL, WEB_CHANNEL, MINI_APP_CHANNEL = "telegram", "web", "mini_app"
CHANNELS = (BOT_CHANNEL, WEB_CHANNEL, MINI_APP_CHANNEL)


def new_key() -> str:
    """A lead's key: a random UUID, unique wherever the lead goes (its idempotency key)."""
    return str(uuid.uuid4())


def new_claim() -> str:
    """A token naming one claim of deliveries."""
    return secrets.token_hex(8)


#: How long the ids of applied updates are kept, in seconds: Telegram redelivers an update for
#: at most a day, and restarts update ids at a random number after a week without updates.
APPLIED_KEPT_SECONDS = 24 * 3600


class StorageError(StackAdvisorError):
    """The store cannot be opened or used; the message says why in one line."""


class StoreBusy(StorageError):
    """Another program held the store's write lock for too long; trying again may work."""


class StoreUnavailable(StorageError):
    """The database server cannot be reached now; trying again later may work."""


@dataclass(slots=True)
class Stored:
    """One user's session in one chat, with what the service keeps around it."""

    session: Session = field(default_factory=Session)
    first_name: str | None = None
    #: The highest update id applied to this session (for reading; repeats are recognised by
    #: :class:`Updates`, which knows every id applied, in whatever order they came).
    last_update: int = 0
    #: When the record was last saved (Unix time; 0 for a new one).
    updated_at: int = 0
    #: True when stored data could not be restored and the session started over.
    restored_fresh: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    """One statistics event (or, in totals, ``count`` alike events)."""

    at: int
    user_id: int
    kind: str
    source: str | None = None
    detail: str | None = None
    count: int = 1


@dataclass(frozen=True, slots=True)
class Lead:
    """A prospect who asked to talk to an expert, with their consent."""

    chat_id: int
    user_id: int
    name: str
    contact: str
    source: str | None
    recommendation: str
    answers: Mapping[str, str]
    #: When it was stored (Unix time): the moment the person gave their contact, after consent.
    at: int = 0
    #: The store's number for it (0 until stored).
    id: int = 0
    #: A random, unique key (a UUID): the idempotency key of its deliveries; the store makes
    #: one when it is empty.
    key: str = ""
    #: The channel it came through (one of :data:`CHANNELS`; leads stored before channels were
    #: kept all came through the bot).
    channel: str = BOT_CHANNEL
    #: The person's language when the lead was stored ("pt"); "" when unknown (leads stored
    #: before languages were kept).
    language: str = ""


@dataclass(frozen=True, slots=True)
class LeadDelivery:
    """A lead's delivery to one destination (the sales chat, the CRM hook …), as it stands.

    ``claim`` is set while an instance holds it (until ``claimed_until``): only that claim may
    record how the attempt went."""

    id: int
    lead: Lead
    destination: str
    status: str = PENDING
    attempts: int = 0
    next_attempt_at: int = 0
    last_error: str | None = None
    #: When it first failed (None: it never failed, or it was delivered at the first try).
    failing_since: int | None = None
    delivered_at: int | None = None
    claim: str = ""
    claimed_until: int | None = None


@dataclass(frozen=True, slots=True)
class LeadReach:
    """Where one person's leads went, read before they are forgotten."""

    #: How many leads the person left.
    leads: int = 0
    #: Destinations that have one of them, or may have (a delivery in flight right now).
    delivered: frozenset[str] = frozenset()
    #: Whether an admin settled one by hand (with /leads) instead of the bot delivering it.
    handled: bool = False


@dataclass(frozen=True, slots=True)
class LeadCounts:
    """Leads whose every delivery is done (delivered or handled), and leads still waiting."""

    delivered: int = 0
    waiting: int = 0


#: A pending delivery whose last attempt failed, as :class:`Backlog` counts it.
FAILING = "failing"


@dataclass(frozen=True, slots=True)
class Backlog:
    """What is still owed, for the metrics (read at every scrape: one cheap look)."""

    #: Messages committed to the outbox and not yet delivered.
    outbox: int = 0
    #: Leads' deliveries by (state, destination); the state is :data:`PENDING`,
    #: :data:`FAILING` (pending, its last attempt failed), :data:`DELIVERED` or :data:`HANDLED`.
    deliveries: Mapping[tuple[str, str], int] = field(default_factory=dict)
    #: When the oldest delivery still pending to each destination was made (Unix time).
    oldest_waiting: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, outbox: int, rows: Iterable[Any]) -> Backlog:
        """From the outbox's count and rows of (destination, status, failing, count, oldest)
        grouped by the first three (what both backends' query returns)."""
        deliveries: dict[tuple[str, str], int] = {}
        oldest: dict[str, int] = {}
        for destination, status, failing, count, at in rows:
            state = FAILING if status == PENDING and failing else str(status)
            key = (state, str(destination))
            deliveries[key] = deliveries.get(key, 0) + int(count)
            if status == PENDING:
                oldest[destination] = min(oldest.get(destination, int(at)), int(at))
        return cls(int(outbox), deliveries, oldest)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message owed to someone, as the front end rendered it (``body`` is JSON-compatible).

    ``kind`` and ``body`` belong to the front end; storage keeps them as they are. A ``live``
    message becomes, once delivered, the one later screens of this user and chat edit.
    """

    chat_id: int
    kind: str
    body: Mapping[str, Any]
    live: bool = False
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Owed:
    """An outgoing message committed to the outbox and not yet confirmed as delivered."""

    id: int
    user_id: int
    message: Outgoing


@dataclass(frozen=True, slots=True)
class Live:
    """The message that shows a user's current step in a chat, and a digest of its content."""

    message_id: int
    digest: str = ""


@dataclass(frozen=True, slots=True)
class Opening:
    """What a turn starts from: read, with the update recorded as applied, by
    :meth:`UnitOfWork.open_turn`."""

    #: The stored record (None: a new user in this chat).
    stored: Stored | None = None
    #: The message showing the user's current step in this chat, if any.
    live: Live | None = None
    #: The update was applied before (a redelivery): nothing was recorded.
    repeat: bool = False
    #: Whether the tracked link asked about was made with /link.
    known_link: bool = False


@dataclass(frozen=True, slots=True)
class LinkTotals:
    """A tracked link made with /link, and what came of it since it was made (all time)."""

    name: str
    #: When it was made (Unix time; 0 for links made before the time was kept).
    created_at: int
    started: int = 0
    finished: int = 0
    shared: int = 0
    leads: int = 0


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A stored session as reports see it."""

    chat_id: int
    user_id: int
    first_name: str | None
    source: str | None
    state: str
    answers: Mapping[str, str]
    updated_at: int


class Sessions(Protocol):
    async def get(self, chat_id: int, user_id: int) -> Stored | None:
        """The stored record, or None for a new user; corrupt data gives a fresh session."""

    async def put(self, chat_id: int, user_id: int, stored: Stored) -> None:
        """Store the record (committed with the unit of work)."""


class Events(Protocol):
    async def add(
        self, user_id: int, kind: str, *, source: str | None = None, detail: str | None = None
    ) -> None:
        """Append one statistics event."""

    async def latest(self, user_id: int, kinds: Sequence[str]) -> str | None:
        """The kind of this user's most recent event among ``kinds``."""

    async def exists(self, user_id: int, kind: str, detail: str) -> bool:
        """Whether this user has an event of this kind and detail."""


class Leads(Protocol):
    async def add(self, lead: Lead, destinations: Sequence[str] = ()) -> None:
        """Store a lead, with a delivery owed to each destination (due at once)."""

    async def reach(self, user_id: int) -> LeadReach:
        """Where this user's leads went (on PostgreSQL their deliveries stay locked until the
        unit ends, so no instance claims one in between)."""


class Outbox(Protocol):
    async def put(self, user_id: int, messages: Sequence[Outgoing]) -> None:
        """Owe these messages to the user, in this order."""

    async def owed(self, user_id: int) -> list[Owed]:
        """What is still owed to this user, oldest first."""

    async def live(self, chat_id: int, user_id: int) -> Live | None:
        """The message showing the user's current step in this chat, if any."""

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        """The message arrived: it is no longer owed (and, if live, is now the live one)."""

    async def release(self, chat_id: int, user_id: int) -> None:
        """No message shows the user's current step any more."""


class Updates(Protocol):
    """The ids of the updates applied to each user, kept :data:`APPLIED_KEPT_SECONDS`."""

    async def applied(self, user_id: int, update_id: int) -> bool:
        """Whether this update was applied (an older one than the last may still be new)."""

    async def add(self, user_id: int, update_id: int) -> None:
        """Record the update as applied (committed with the unit of work, like its effects)."""


class Links(Protocol):
    async def add(self, name: str) -> None:
        """Register a tracked link made with /link (again: nothing changes)."""

    async def exists(self, name: str) -> bool:
        """Whether a tracked link of this name was made with /link."""


class UnitOfWork(Protocol):
    """One transaction over everything about one user."""

    @property
    def sessions(self) -> Sessions: ...
    @property
    def events(self) -> Events: ...
    @property
    def leads(self) -> Leads: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def links(self) -> Links: ...
    @property
    def updates(self) -> Updates: ...

    async def open_turn(
        self, chat_id: int, user_id: int, update_id: int, *, link: str | None = None
    ) -> Opening:
        """Start a turn: the user's record in this chat and its live message, and whether the
        tracked link ``link`` exists; ``update_id`` (0: none) is recorded as applied, unless it
        was applied before (``repeat``). One trip to the database on either backend."""

    async def forget(self, user_id: int) -> int:
        """Delete every row about this user (all chats, all tables); return how many."""


class Delivery(Protocol):
    """What is owed to one user, while :meth:`Store.delivering` holds that user's delivery."""

    async def owed(self) -> list[Owed]:
        """What was owed to the user when the delivery began, oldest first."""

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        """The message arrived: it is no longer owed (and, if live, is now the live one)."""

    async def delivered_all(self, marks: Sequence[tuple[Owed, int | None]]) -> None:
        """Several messages arrived, in this order: :meth:`delivered` for each, together."""


class UnitDelivery:
    """:class:`Delivery` through units of work, for a backend whose units cost little."""

    def __init__(self, store: Store, user_id: int) -> None:
        self.store = store
        self.user_id = user_id

    async def owed(self) -> list[Owed]:
        async with self.store.unit(self.user_id) as uow:
            return await uow.outbox.owed(self.user_id)

    async def delivered(self, owed: Owed, message_id: int | None) -> None:
        await self.delivered_all([(owed, message_id)])

    async def delivered_all(self, marks: Sequence[tuple[Owed, int | None]]) -> None:
        """The marks in one unit: one commit."""
        async with self.store.unit(self.user_id) as uow:
            for owed, message_id in marks:
                await uow.outbox.delivered(owed, message_id)


class LeadQueue(Protocol):
    """Leads' deliveries, shared by every instance; ``now`` is the store's clock."""

    async def claim_deliveries(
        self,
        destinations: Sequence[str],
        *,
        lease: int,
        limit: int,
        lead_id: int | None = None,
    ) -> list[LeadDelivery]:
        """Claim up to ``limit`` pending deliveries to these destinations that are due and not
        claimed by anyone (or whose claim ran out), oldest lead first, for ``lease`` seconds.
        Atomic: two instances never get the same delivery while a claim holds."""

    async def delivery_done(self, delivery: LeadDelivery) -> bool:
        """Record a claimed delivery as delivered; False if the claim was no longer held (it
        ran out and another claim took it, the lead was forgotten or settled)."""

    async def delivery_failed(self, delivery: LeadDelivery, error: str, retry_at: int) -> bool:
        """Count a failed attempt of a claimed delivery and release it until ``retry_at``;
        False if the claim was no longer held."""

    async def delivery_postponed(self, delivery: LeadDelivery, error: str, until: int) -> None:
        """Release a claimed delivery untried (its destination just failed): due no earlier
        than ``until``, failing for the same reason, its attempts unchanged."""

    async def pending_deliveries(self, *, limit: int) -> list[LeadDelivery]:
        """Every delivery of the oldest ``limit`` leads that still have a pending one, by lead
        and destination."""

    async def deliveries_of(self, lead_id: int) -> list[LeadDelivery]:
        """Every delivery of one lead (none: no such lead, or it was forgotten)."""

    async def recent_leads(
        self, *, limit: int, before: int | None = None
    ) -> list[tuple[Lead, tuple[LeadDelivery, ...]]]:
        """The newest ``limit`` leads (of those numbered below ``before``, when given), newest
        first, each with every delivery of it by destination (none: it was stored with no
        destination). One query, whatever the number."""

    async def retry_now(self, *, lead_id: int | None = None, destination: str | None = None) -> int:
        """Make pending deliveries due now (of one lead, to one destination, or all); how many."""

    async def settle(self, lead_id: int) -> int:
        """Mark a lead's pending deliveries handled (an admin took care of it); how many."""

    async def claim_alerts(self, failing_since: int) -> list[LeadDelivery]:
        """Pending deliveries failing since ``failing_since`` or earlier that no one was
        alerted about yet, now marked alerted (atomic: one instance gets each, once)."""

    async def lead_counts(self) -> LeadCounts:
        """How many leads are delivered everywhere, and how many still wait."""

    async def backlog(self) -> Backlog:
        """Messages still owed, and the leads' deliveries by state and destination (for the
        metrics: no personal data)."""


class Store(LeadQueue, Protocol):
    """A storage backend."""

    clock: Callable[[], float]

    def unit(self, user_id: int) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction for one user's turn: committed when the block ends without error."""

    def delivering(self, user_id: int) -> AbstractAsyncContextManager[Delivery]:
        """Held while messages owed to this user are sent: one delivery per user at a time,
        across every instance sharing the store (so no instance sends what another is sending).
        What it gives reads what is owed and marks each message delivered."""

    async def owing_users(self) -> list[int]:
        """Users with messages still owed (resumed at start-up)."""

    async def purge_idle(self, ttl_days: int) -> int:
        """Delete sessions idle for longer than ``ttl_days`` (and ids of updates applied longer
        than :data:`APPLIED_KEPT_SECONDS` ago); return how many sessions."""

    async def first_name(self, chat_id: int, user_id: int) -> str | None:
        """The first name stored with a user's session in a chat."""

    async def events_since(self, since: int) -> list[Event]:
        """Events at or after ``since`` (Unix time)."""

    async def event_totals(self, since: int) -> list[Event]:
        """Events of the (UTC) day of ``since`` and after, added up per source, kind and (for
        "finished" only) recommendation. Kept as daily totals without user ids, so reports
        never read every event (and a forgotten user's past visits still count in them)."""

    async def waiting_since(self, since: int) -> dict[str, int]:
        """How many sessions updated at or after ``since`` stand at each question state."""

    async def link_totals(self) -> list[LinkTotals]:
        """Every tracked link made with /link, newest first, with its started, finished,
        shared and leads of all time (links nobody used yet with zeros), in one query."""

    async def all_sessions(self) -> list[SessionRow]:
        """Every stored session, oldest first."""

    async def all_leads(self) -> list[Lead]:
        """Every lead, oldest first."""

    async def export_csv(
        self, out: Path, *, language: str = "en", admins: Collection[int] = ()
    ) -> None:
        """Write every session (and lead) to ``out`` as a spreadsheet's CSV, one row per
        session, in ``language`` (headers, answers, the separator), the sessions of ``admins``
        flagged; without slowing the bot down."""

    async def ping(self) -> None:
        """Return when the database answers; raise :class:`StorageError` when it does not."""

    async def close(self) -> None:
        """Release the backend's resources."""


class OpenableStore(Store, Protocol):
    """A backend as configured, before it connects: :meth:`open` connects and applies the
    schema changes the database lacks (``storage.configured`` makes one from the settings)."""

    #: Where the data lives, for messages: a file's path, or a URL without its password.
    location: str
    #: The schema version found by :meth:`open`, and the one it left (0 before opening).
    migrated_from: int
    schema_version: int

    async def open(self) -> Store:
        """Connect and upgrade the schema; raise :class:`StorageError` saying why it can't."""
