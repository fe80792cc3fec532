"""The one composition root: the knowledge, store, dialog, conversation service and lead desk,
built once (Cosmic Python's ``bootstrap.py``).

Every front end calls :func:`bootstrap` and gets an :class:`Advisor`: the console with an
in-memory store and a transport that prints, Telegram with the configured store and a transport
that calls the Bot API; the benchmarks and tests the same way, passing fakes as arguments.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from advisor import Knowledge
from dialogs.admin import Admin
from dialogs.conversation import Conversation
from dialogs.engine import DialogEngine
from dialogs.outbox import Transport
from dialogs.sharecode import ShareCodes
from dialogs.turns import Presenter
from handoff import HandOff, LeadDesk, LeadOffice, hand_off_for
from settings import Settings
from storage.base import OpenableStore, Store
from storage.configured import configured_store

#: Starts a background task (a front end's own, so it is awaited at shutdown).
Spawn = Callable[[Coroutine[Any, Any, Any]], object]
#: The front end's presenter.
P = TypeVar("P", bound=Presenter)


@dataclass(frozen=True, slots=True)
class Parts:
    """What a front end's presenter may need to draw its screens."""

    knowledge: Knowledge
    engine: DialogEngine
    share_codes: ShareCodes
    hand_off: HandOff
    #: The web pages' public address (WEB_URL), if they have one.
    web_url: str | None = None


@dataclass(frozen=True, slots=True)
class Advisor(Generic[P]):
    """Everything built once, for one front end."""

    settings: Settings
    knowledge: Knowledge
    store: Store
    engine: DialogEngine
    share_codes: ShareCodes
    hand_off: HandOff
    #: Leads: the desk that delivers them, the sales chat's health, the admins' use cases.
    leads: LeadOffice
    conversation: Conversation
    #: The admins' use cases: tracked links, statistics, the export.
    admin: Admin
    #: The front end's presenter, the one the conversation renders with.
    presenter: P
    #: The store :func:`bootstrap` made, to be opened at start-up (None: the caller's own).
    opening: OpenableStore | None = None


def bootstrap(
    settings: Settings,
    knowledge: Knowledge,
    *,
    presenter: Callable[[Parts], P],
    transport: Transport | None = None,
    store: Store | None = None,
    engine: DialogEngine | None = None,
    hand_off: HandOff | None = None,
    spawn: Spawn | None = None,
    leads: LeadOffice | None = None,
    warm: bool = True,
) -> Advisor[P]:
    """Wire the advisor for a front end.

    ``presenter`` makes the front end's renderer from the parts; ``transport`` delivers one
    rendered message. ``store`` defaults to the configured one (SQLite at ``STATE_DB``, or
    PostgreSQL at ``DATABASE_URL``), not opened yet (see :attr:`Advisor.opening`); ``hand_off``
    to where the settings send leads. ``spawn`` starts the lead deliveries a turn makes due
    (default: a task of the running loop). ``leads``: another front end's lead office, when
    both serve one process (the web beside Telegram: one desk, one sales chat). ``warm``:
    every language's dialog is made now, not for the first person who speaks it (a server
    wants that; the console speaks one).
    """
    engine = engine or DialogEngine(knowledge)
    for language in knowledge.languages if warm else ():
        engine.speaking(language)
    opening: OpenableStore | None = None
    if store is None:
        store = opening = configured_store(settings, knowledge)
    hand_off = hand_off or hand_off_for(settings)
    leads = leads or LeadOffice(LeadDesk(store, hand_off), settings)
    codes = share_codes(settings, knowledge)
    parts = Parts(knowledge, engine, codes, hand_off, settings.web_url)
    start = spawn or _background()

    def deliver_leads() -> None:
        start(leads.deliver_due())

    renderer = presenter(parts)
    conversation = Conversation(
        engine,
        store,
        renderer,
        share_codes=codes,
        hand_off=hand_off,
        transport=transport,
        on_lead=deliver_leads,
    )
    admin = Admin(conversation, leads)
    return Advisor(
        settings,
        knowledge,
        store,
        engine,
        codes,
        hand_off,
        leads,
        conversation,
        admin,
        renderer,
        opening,
    )


def share_codes(settings: Settings, knowledge: Knowledge) -> ShareCodes:
    """Share codes signed with :func:`signing_key`."""
    return ShareCodes(knowledge, signing_key(settings))


def signing_key(settings: Settings, purpose: str | None = None) -> bytes:
    """A key every instance of a bot shares: SHARE_SECRET, else one derived from the bot token,
    else (the console, which shares nothing) this process's own. A ``purpose`` (the web's
    cookies) gets a key of its own derived from it."""
    secret = settings.share_secret
    if secret is None and settings.bot_token is not None:
        secret = hashlib.sha256(settings.bot_token.encode()).hexdigest()
    if secret is None:
        return secrets.token_bytes(32)
    if purpose is None:
        return secret.encode()
    return hashlib.sha256(f"stack-advisor-{purpose}|{secret}".encode()).digest()


def _background() -> Spawn:
    """Start tasks on the running loop, each kept until it ends."""
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coroutine: Coroutine[Any, Any, Any]) -> object:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    return spawn
