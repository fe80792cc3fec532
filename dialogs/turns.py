"""What goes into a turn of the conversation service and what comes out: who acts
(:class:`Person`), what they did (an :data:`Action`), what they are shown (a :data:`Reply`,
rendered by the front end's :class:`Presenter`), and what the turn decided (:class:`Outcome`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from advisor import Knowledge, Recommendation
from advisor.session import Session
from storage.base import Lead, LeadReach, Live, Outgoing, Stored

from .engine import DialogEngine
from .outbox import ALL_DELIVERED, Delivered
from .views import Notice, View

# -- who, and what they did -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """Who acts, and where: a user in a chat (the same id twice in a private chat)."""

    chat_id: int
    user_id: int
    first_name: str = ""
    full_name: str = ""
    private: bool = True
    #: The person's interface language as Telegram (or the system) gives it: "es-419", "pt-br".
    language: str | None = None
    #: Where the person acts: "telegram" (the bot), "web" (the web pages) or "mini_app" (the
    #: Telegram Mini App); their lead names it (``storage.base.CHANNELS``).
    channel: str = "telegram"


@dataclass(frozen=True, slots=True)
class Begin:
    """``/start``, perhaps with a tracked-link name or a share code."""

    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Typed:
    """A typed message."""

    text: str


@dataclass(frozen=True, slots=True)
class Tapped:
    """A button of ours: the round and question it was made for, and its action.

    ``question`` None marks a button that belongs to no question (the result's, a hand-off
    step's, a shared result's). ``what_if`` marks a "What if…" button of a question. The
    action is a code of :mod:`dialogs.actions` (or an option's id, under a question).
    """

    round: int
    question: str | None
    action: str
    message_id: int | None = None
    what_if: bool = False


@dataclass(frozen=True, slots=True)
class Pressed:
    """A button of ours, its data as it came back (read by :func:`dialogs.actions.decode`:
    whose it is, for which round and question, and what it does)."""

    data: str
    message_id: int | None = None
    #: The tap to answer once the turn is done (Telegram's callback query), if any.
    query_id: str = ""


@dataclass(frozen=True, slots=True)
class Commanded:
    """A command sent as such (``/back``, ``/restart``, ``/language``, ``/help``, ``/about``,
    ``/forget``: which asks first)."""

    command: Literal["back", "restart", "language", "help", "about", "forget"]


@dataclass(frozen=True, slots=True)
class Forgetting:
    """The answer to /forget's question: delete everything about the person, or keep it."""

    delete: bool
    message_id: int | None = None


UnreadableKind = Literal["unknown_command", "unsupported", "edited"]


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Something the bot can't read: a command it does not have, a sticker or photo, an edited
    message. The person gets a hint; nothing else changes."""

    kind: UnreadableKind


@dataclass(frozen=True, slots=True)
class Paused:
    """``/cancel``: take the buttons away and keep the answers."""


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A phone contact shared with the bot; ``own`` when it is the sender's own."""

    phone: str
    own: bool


Action = (
    Begin | Typed | Pressed | Tapped | Commanded | Forgetting | Paused | SharedContact | Unreadable
)


# -- what the person is shown -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Show:
    """A screen: edited into the live message where ``edit`` allows, else sent anew."""

    view: View
    edit: bool = False
    welcome: bool = False


@dataclass(frozen=True, slots=True)
class Say:
    """A short message on its own. It takes away a contact keyboard, unless ``keep``: the
    message names the keyboard's buttons ("or tap “No thanks”"), so the keyboard stays."""

    notice: Notice
    keep: bool = False


@dataclass(frozen=True, slots=True)
class ShowShared:
    """Someone else's shared result (None: the link is broken), with an offer to take the quiz."""

    recommendation: Recommendation | None


@dataclass(frozen=True, slots=True)
class Unbutton:
    """Take the buttons off a message (None: off the live message)."""

    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A message of ours rewritten to one line, its buttons gone (None: a new message)."""

    message_id: int | None
    notice: Notice


@dataclass(frozen=True, slots=True)
class Forgot:
    """What /forget deleted, and where the person's contact had already gone, written over
    its question (``message_id``; None: a new message)."""

    reach: LeadReach
    message_id: int | None


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to a tap (Telegram's callback query): a toast, or nothing to say."""

    query_id: str
    toast: Notice | None = None


Reply = Show | Say | ShowShared | Unbutton | Rewrite | Forgot | Answer


@dataclass(frozen=True, slots=True)
class Audience:
    """What a presenter needs to render replies for one person."""

    person: Person
    session: Session
    live: Live | None


class Presenter(Protocol):
    """A front end's renderer: replies to outgoing messages (committed before delivery)."""

    def present(self, replies: Sequence[Reply], audience: Audience) -> list[Outgoing]: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a turn decided: the replies (already committed as owed messages) and a toast."""

    replies: tuple[Reply, ...] = ()
    #: A short answer to a button tap (Telegram shows it over the chat).
    toast: Notice | None = None
    #: The update was applied before (a redelivery): nothing was done.
    repeat: bool = False
    #: A lead was stored: its deliveries are due now.
    lead_stored: bool = False
    #: The language the person is spoken to in (for the toast).
    language: str = ""
    #: What delivering the replies achieved (:meth:`Conversation.turn`).
    delivered: Delivered = ALL_DELIVERED


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``/forget`` deleted, and where the person's leads had already gone."""

    removed: int
    reach: LeadReach = field(default_factory=LeadReach)


@dataclass(slots=True)
class Turn:
    """One action's working state inside the transaction."""

    person: Person
    stored: Stored
    live: Live | None
    is_new: bool
    replies: list[Reply] = field(default_factory=list)
    toast: Notice | None = None
    save: bool = True
    lead: Lead | None = None
    release: bool = False
    #: For ``/start <name>``: whether an admin made that tracked link with /link.
    known_link: bool = False
    #: The dialog in the person's language (set once the session is loaded).
    engine: DialogEngine | None = None

    @property
    def session(self) -> Session:
        return self.stored.session

    @property
    def dialog(self) -> DialogEngine:
        assert self.engine is not None
        return self.engine

    @property
    def knowledge(self) -> Knowledge:
        return self.dialog.knowledge
