"""What the conversation service needs from storage: small protocols and the records they hold.

A backend (SQLite, or PostgreSQL for several instances) implements :class:`Store`. Everything
a turn writes — the session, statistics events, a lead, the messages still owed to the user —
goes through one :class:`UnitOfWork`, committed together or not at all. Every backend passes
the same contract tests (``tests/test_storage_contract.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from advisor import StackAdvisorError
from dialogs.session import Session

#: Event kinds recorded for the statistics.
STARTED, FINISHED, SHARED, LEAD = "started", "finished", "shared", "lead"
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
    at: int = 0


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
    async def add(self, lead: Lead) -> None:
        """Store a lead handed to the sales team."""


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

    async def forget(self, user_id: int) -> int:
        """Delete every row about this user (all chats, all tables); return how many."""


class Store(Protocol):
    """A storage backend."""

    clock: Callable[[], float]

    def unit(self, user_id: int) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction for one user's turn: committed when the block ends without error."""

    def delivering(self, user_id: int) -> AbstractAsyncContextManager[None]:
        """Held while messages owed to this user are sent: one delivery per user at a time,
        across every instance sharing the store (so no instance sends what another is sending)."""

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

    async def all_sessions(self) -> list[SessionRow]:
        """Every stored session, oldest first."""

    async def all_leads(self) -> list[Lead]:
        """Every lead, oldest first."""

    async def export_csv(self, out: Path) -> None:
        """Write every session and lead to ``out`` as CSV, without slowing the bot down."""

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
