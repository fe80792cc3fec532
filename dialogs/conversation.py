"""The conversation service: what one person did, applied once and in a safe order.

Front ends (the console, Telegram) decode their input into an :data:`Action` and call
:meth:`Conversation.handle`. In one transaction the service loads the person's session, runs
the dialog engine, records statistics events and leads, and commits the messages the person is
now owed, as the front end's :class:`Presenter` rendered them, to the store's outbox. Only then
does :meth:`Conversation.deliver` hand them to the front end's :class:`Transport`, marking each
one delivered when the front end confirms it. Whatever is still owed — after a timeout, a
server error or a crash — is delivered on the person's next update or at start-up.

So a screen is never shown before the state behind it is committed, a result is never sent
twice in part, and ``/forget`` runs in the same per-person order as every other update.

A lead (a contact given after consent) is committed in its turn with a delivery owed to each
destination of the :class:`~handoff.HandOff`; the person is thanked right away, and the lead
desk (:mod:`handoff.desk`) delivers it afterwards. Nothing about that delivery is in the
person's outbox, so no problem of ours on the way to the sales team ever reaches them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from email_validator import EmailNotValidError, validate_email

from advisor import Knowledge, Recommendation, recommend
from handoff import HandOff
from storage.base import (
    FINISHED,
    LEAD,
    SHARED,
    STARTED,
    Lead,
    LeadReach,
    Live,
    Outgoing,
    Owed,
    Store,
    StoreBusy,
    Stored,
    UnitOfWork,
    new_key,
)

from .engine import PAGES_READABLE, DialogEngine, HandOffStep, Page
from .session import AFTER_RESULT, LEAD_CONTACT, PREVIEW, RESULT, WELCOME, WHAT_IF, Session
from .sharecode import ShareCodes
from .views import Asking, Finished, Goodbye, Languages, Notice, View, Welcome

logger = logging.getLogger(__name__)

#: A tracked-link name: what ``/start <name>`` may carry (``r_…`` is a share code).
PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Delivery attempts of one owed message within a turn before it waits for the next update.
DELIVERY_ATTEMPTS = 3
DELIVERY_BACKOFF_SECONDS = 0.5
#: A turn the store could not run now (another program holds SQLite's write lock, another
#: instance the user's PostgreSQL lock) is tried again, with a pause of BUSY_PAUSE_SECONDS
#: doubling each time, until it has been tried at least BUSY_ATTEMPTS times and for at least
#: BUSY_SECONDS; the pauses are asynchronous, so nobody else waits meanwhile. After that its
#: update is left for Telegram to send again.
BUSY_ATTEMPTS = 3
BUSY_SECONDS = 8.0
BUSY_PAUSE_SECONDS = 0.25

#: What the buttons that belong to no question do; each is a trigger of the dialog machine
#: (``quiz`` — take the quiz from a shared result — works from anywhere).
BACK, WHY, RESTART, SEE_NOW, CHANGE = "<", "?", "!", ">", "*"
QUIZ, LEAD_BUTTON, CONSENT, DECLINE = "quiz", "lead", "consent", "decline"
BUTTON_TRIGGERS: dict[str, HandOffStep | Literal["restart"] | None] = {
    RESTART: "restart",
    QUIZ: None,
    LEAD_BUTTON: "lead",
    CONSENT: "consent",
    DECLINE: "decline",
}
#: The result's pages, edited into the result's message: the summary, the details of the six
#: criteria (a menu, or ``d1``…``d6``), the full report and the list of answers.
SUMMARY, DETAILS, REPORT, ANSWERS = "sum", "d", "full", "ans"
PAGES: dict[str, tuple[Page, int | None]] = {
    SUMMARY: ("summary", None),
    DETAILS: ("details", None),
    REPORT: ("report", None),
    ANSWERS: ("answers", None),
    **{f"{DETAILS}{number}": ("details", number) for number in range(1, 10)},
}
#: "What if…": keep the answer tried, or go back to pick another.
TAKE, UNDO = "take", "undo"
#: How many people's languages are remembered for replies outside a turn (most recent).
REMEMBERED_LANGUAGES = 10_000
#: In an owed message's body: it is the result's summary (see :meth:`Conversation._unseen`).
RESULT_MARK = "result"
#: How long a /forget's answer is remembered, to be said again on a second tap, in seconds.
FORGOTTEN_SECONDS = 600.0
#: A language button of /language: the prefix, then the language's code ("lang_es").
LANGUAGE = "lang_"


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
    step's, a shared result's); its action is one of :data:`BUTTON_TRIGGERS`, :data:`PAGES`,
    :data:`TAKE` or :data:`UNDO`. ``what_if`` marks a "What if…" button of a question: its
    action is :data:`CHANGE` (try another answer to it) or the option to try.
    """

    round: int
    question: str | None
    action: str
    message_id: int | None = None
    what_if: bool = False


@dataclass(frozen=True, slots=True)
class Commanded:
    """A navigation command sent as such (``/back``, ``/restart``)."""

    command: Literal["back", "restart", "language"]


@dataclass(frozen=True, slots=True)
class Paused:
    """``/cancel``: take the buttons away and keep the answers."""


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A phone contact shared with the bot; ``own`` when it is the sender's own."""

    phone: str
    own: bool


Action = Begin | Typed | Tapped | Commanded | Paused | SharedContact


# -- what the person is shown -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Show:
    """A screen: edited into the live message where ``edit`` allows, else sent anew."""

    view: View
    edit: bool = False
    welcome: bool = False


@dataclass(frozen=True, slots=True)
class Say:
    """A short message on its own (it also takes away a contact keyboard)."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class ShowShared:
    """Someone else's shared result (None: the link is broken), with an offer to take the quiz."""

    recommendation: Recommendation | None


@dataclass(frozen=True, slots=True)
class Unbutton:
    """Take the buttons off a message (None: off the live message)."""

    message_id: int | None = None


Reply = Show | Say | ShowShared | Unbutton


@dataclass(frozen=True, slots=True)
class Audience:
    """What a presenter needs to render replies for one person."""

    person: Person
    session: Session
    live: Live | None


class Presenter(Protocol):
    """A front end's renderer: replies to outgoing messages (committed before delivery)."""

    def present(self, replies: Sequence[Reply], audience: Audience) -> list[Outgoing]: ...


class DeliveryFailed(Exception):
    """A front end could not deliver a message; ``transient`` ones are tried again later.

    ``maybe_delivered``: the answer was lost, not refused (the connection died after the
    message went out), so the person may well have it."""

    def __init__(self, reason: str, *, transient: bool, maybe_delivered: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a delivery achieved: true when nothing is owed any more. When something is still
    owed, ``maybe_delivered`` says the last try may have reached the person all the same (so
    no apology: it would be false)."""

    complete: bool
    maybe_delivered: bool = False

    def __bool__(self) -> bool:
        return self.complete


#: A front end's way to deliver one message: returns the delivered message's id (if any) or
#: raises :class:`DeliveryFailed`. A transport may also have ``prepare(messages)``, awaited
#: before a batch is sent, to do slow work (drawing a chart) before the first message rather
#: than in a pause between two.
Transport = Callable[[Outgoing], Awaitable[int | None]]


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


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``/forget`` deleted, and where the person's leads had already gone."""

    removed: int
    reach: LeadReach = field(default_factory=LeadReach)


@dataclass(slots=True)
class _Turn:
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


class Conversation:
    """Applies people's actions to their sessions; the one place with the product's rules."""

    def __init__(
        self,
        engine: DialogEngine,
        store: Store,
        presenter: Presenter,
        *,
        share_codes: ShareCodes | None = None,
        hand_off: HandOff | None = None,
    ) -> None:
        self.engine = engine
        self.knowledge: Knowledge = engine.knowledge
        self.store = store
        self.presenter = presenter
        self.share_codes = share_codes
        #: Where leads go; None: no hand-off to an expert at all.
        self.hand_off = hand_off
        #: The language of each person's last turn here, for replies outside a turn.
        self._spoken: OrderedDict[int, str] = OrderedDict()
        #: Recent /forget answers, by person: a second tap of "Yes, delete everything" (nothing
        #: left to delete then) says again where their contact had already gone.
        self._forgotten: OrderedDict[int, tuple[float, LeadReach]] = OrderedDict()
        #: One delivery at a time per person (a lock lives while anyone holds or awaits it).
        self._delivering: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # -- a turn ------------------------------------------------------------------------------

    async def handle(self, person: Person, action: Action, *, update_id: int = 0) -> Outcome:
        """Apply one action: load, run the dialog, save, record events, owe the replies.

        When the store cannot run it now (StoreBusy), the whole turn (rolled back, so nothing
        of it was kept) is tried again, a while (see :data:`BUSY_SECONDS`), rather than losing
        the answer; then StoreBusy goes up, and the update is not acknowledged.
        """
        loop = asyncio.get_running_loop()
        began = loop.time()
        pause = BUSY_PAUSE_SECONDS
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._handle(person, action, update_id)
            except StoreBusy:
                if attempt >= BUSY_ATTEMPTS and loop.time() - began >= BUSY_SECONDS:
                    raise
                logger.warning("the store was busy; trying the turn again")
                await asyncio.sleep(pause)
                pause *= 2

    async def _handle(self, person: Person, action: Action, update_id: int) -> Outcome:
        link = None
        if isinstance(action, Begin) and action.payload and PAYLOAD_RE.match(action.payload):
            link = action.payload
        async with self.store.unit(person.user_id) as uow:
            # One read: the session, the live message, the link; and the update recorded as
            # applied, exactly (an update another instance got later but applied first, a lower
            # id than the last applied, is still applied, once).
            opening = await uow.open_turn(person.chat_id, person.user_id, update_id, link=link)
            if opening.repeat:
                spoken = opening.stored.session.language if opening.stored else ""
                return Outcome(repeat=True, language=spoken)
            found = opening.stored
            stored = found or Stored()
            turn = _Turn(person, stored, opening.live, is_new=found is None)
            turn.known_link = opening.known_link
            self._speak(turn)
            before = (turn.session.state, turn.session.round)
            self._apply(turn, action)
            self._never_the_welcome(turn)
            if not turn.save:
                return await self._owe(uow, turn)
            self._mind_the_hand_off(turn, before[0])
            self._restored_notice(turn)
            stored.first_name = person.first_name or stored.first_name
            stored.last_update = max(stored.last_update, update_id)
            await uow.sessions.put(person.chat_id, person.user_id, stored)
            await self._record(uow, turn, before)
            return await self._owe(uow, turn)

    async def _owe(self, uow: UnitOfWork, turn: _Turn) -> Outcome:
        person = turn.person
        if turn.release:
            await uow.outbox.release(person.chat_id, person.user_id)
        audience = Audience(person, turn.session, turn.live)
        messages = self.presenter.present(turn.replies, audience)
        if messages:
            await uow.outbox.put(person.user_id, messages)
        language = turn.session.language
        self._remember_language(person.user_id, language)
        return Outcome(
            tuple(turn.replies), turn.toast, lead_stored=turn.lead is not None, language=language
        )

    async def _record(self, uow: UnitOfWork, turn: _Turn, before: tuple[str, int]) -> None:
        """Statistics: a dialog started, finished, or ended in a lead."""
        session, user_id = turn.session, turn.person.user_id
        began = before[0] == WELCOME or session.round != before[1]
        if began and session.question_id is not None:
            await uow.events.add(user_id, STARTED, source=session.source)
        entered_result = session.state == RESULT and before[0] != RESULT
        if entered_result and await uow.events.latest(user_id, (STARTED, FINISHED)) != FINISHED:
            choice = recommend(turn.knowledge, session.answers).choice
            await uow.events.add(user_id, FINISHED, source=session.source, detail=choice)
        if turn.lead is not None:
            destinations = self.hand_off.destinations if self.hand_off else ()
            await uow.leads.add(turn.lead, destinations)
            await uow.events.add(
                user_id, LEAD, source=session.source, detail=turn.lead.recommendation
            )

    def _speak(self, turn: _Turn) -> None:
        """Speak the person's language: the one in their session, else (on first contact) the
        one their Telegram is in, when we have it."""
        session = turn.session
        if not session.language:
            session.language = self.knowledge.language_for(turn.person.language)
        turn.engine = self.engine.speaking(session.language)

    def language_of(self, person: Person) -> str:
        """The language to answer someone in outside a turn (help, an unknown command, a
        sticker): the one of their last turn in this process, else their Telegram's."""
        return self._spoken.get(person.user_id) or self.knowledge.language_for(person.language)

    def _remember_language(self, user_id: int, language: str) -> None:
        self._spoken[user_id] = language
        self._spoken.move_to_end(user_id)
        if len(self._spoken) > REMEMBERED_LANGUAGES:
            self._spoken.popitem(last=False)

    def _never_the_welcome(self, turn: _Turn) -> None:
        """A screen of the welcome (e.g. "back" before anything) begins the questions."""
        for index, reply in enumerate(turn.replies):
            if isinstance(reply, Show) and isinstance(reply.view, Welcome):
                view = turn.dialog.start(turn.session)
                turn.replies[index] = Show(view, edit=reply.edit, welcome=True)

    def _restored_notice(self, turn: _Turn) -> None:
        """Tell the person when stored data could not be restored."""
        if not turn.stored.restored_fresh:
            return
        turn.stored.restored_fresh = False
        for index, reply in enumerate(turn.replies):
            if isinstance(reply, Show) and isinstance(reply.view, Asking) and not reply.view.notice:
                view = turn.dialog.view(turn.session, notice=Notice("dialog.notice.restored_fresh"))
                turn.replies[index] = Show(view, reply.edit, reply.welcome)
                return

    def _mind_the_hand_off(self, turn: _Turn, state_before: str) -> None:
        """Leaving the contact step any other way than answering it says nothing is passed on."""
        if state_before != LEAD_CONTACT or turn.session.state == LEAD_CONTACT:
            return
        first = turn.replies[0] if turn.replies else None
        if isinstance(first, Show) and isinstance(first.view, Finished) and first.view.notice:
            return  # the reply already says what happened (thanks, or nothing was shared)
        turn.replies.insert(0, Say(Notice("lead.left")))

    # -- the rules of each action ------------------------------------------------------------

    def _apply(self, turn: _Turn, action: Action) -> None:
        match action:
            case Begin(payload):
                self._begin(turn, payload)
            case Typed(text):
                self._typed(turn, text)
            case Tapped():
                self._tapped(turn, action)
            case Commanded("back"):
                turn.replies.append(Show(turn.dialog.back(turn.session)))
            case Commanded("restart"):
                turn.replies.append(Show(turn.dialog.restart(turn.session)))
            case Commanded("language"):
                turn.replies.append(Show(Languages(self._languages(), turn.session.language)))
            case Paused():
                if turn.is_new:
                    turn.save = False
                    turn.replies.append(Say(Notice("telegram.nothing_to_cancel")))
                else:
                    turn.release = True
                    turn.replies += [Unbutton(), Say(Notice("telegram.cancelled"))]
            case SharedContact(phone, own):
                self._contact(turn, phone, own)

    def _begin(self, turn: _Turn, payload: str | None) -> None:
        session = turn.session
        if payload and ShareCodes.is_share_payload(payload):
            answers = self.share_codes.decode(payload) if self.share_codes else None
            if turn.is_new and not session.source:
                session.source = "shared"
            rec = recommend(turn.knowledge, answers) if answers is not None else None
            turn.replies.append(ShowShared(rec))
            return
        if turn.known_link and not session.source:  # a made-up /start name is not a source
            session.source = payload
        self._continue(turn)

    def _continue(self, turn: _Turn) -> None:
        """Start the questions, or continue where the person was."""
        session = turn.session
        if session.question_id is not None:
            view = turn.dialog.view(session, notice=Notice("telegram.welcome_back"))
            turn.replies.append(Show(view))
        elif session.state == RESULT and session.unseen:  # it never reached them: show it
            session.unseen = False
            rec = recommend(turn.knowledge, session.answers)
            turn.replies.append(Show(Finished(rec, intro=Notice("telegram.welcome_back"))))
        elif session.state in AFTER_RESULT:
            turn.replies.append(Show(turn.dialog.restart(session), welcome=True))
        else:
            turn.replies.append(Show(turn.dialog.start(session), welcome=True))

    def _typed(self, turn: _Turn, text: str) -> None:
        session = turn.session
        if not turn.person.private and session.state == WELCOME:
            turn.save = False  # group chatter is not meant for us; members start with /start
            return
        if session.state == LEAD_CONTACT:
            self._contact_text(turn, text)
            return
        view = turn.dialog.handle_text(session, text)
        if isinstance(view, Goodbye):  # "thanks, bye": like /cancel, with a goodbye
            turn.release = True
            turn.replies.append(Unbutton())
        turn.replies.append(Show(view))

    def _languages(self) -> tuple[tuple[str, str], ...]:
        """Each language's code and its name in its own words."""
        return tuple(
            (code, self.knowledge.speaking(code).text("language.name"))
            for code in self.knowledge.languages
        )

    def _switch_language(self, turn: _Turn, code: str, message_id: int | None) -> None:
        """Speak another language from now on; the answers and the step stay as they were,
        and the current screen is shown again in the new language."""
        session = turn.session
        session.language = code
        turn.engine = self.engine.speaking(code)
        if message_id is not None:  # the language menu
            turn.replies.append(Unbutton(message_id))
        turn.replies.append(Say(Notice("language.changed")))
        if session.state == WELCOME:
            turn.replies.append(Show(turn.dialog.start(session), welcome=True))
        elif session.state in (RESULT, *WHAT_IF):
            turn.replies.append(Show(turn.dialog.page(session, "summary", None)))
        else:  # a question, or a step of the hand-off
            turn.replies.append(Show(turn.dialog.view(session)))

    def _tapped(self, turn: _Turn, tap: Tapped) -> None:
        if tap.action.startswith(LANGUAGE) and tap.question is None:
            code = tap.action.removeprefix(LANGUAGE)
            if code in self.knowledge.languages:
                self._switch_language(turn, code, tap.message_id)
            else:
                turn.toast = Notice("telegram.forged")
                turn.save = not turn.is_new
            return
        engine, session = turn.dialog, turn.session
        if not self._is_current(turn, tap):
            self._stale(turn, tap)
            return
        if tap.what_if:  # another answer to a question: its options, or one of them tried
            assert tap.question is not None
            view = engine.revise(session, tap.question)
            if tap.action != CHANGE:
                view = engine.try_answer(session, tap.action)
            turn.replies.append(Show(view, edit=True))
            return
        if tap.question is not None:
            if tap.action == BACK:
                view = engine.back(session)
            elif tap.action == WHY:
                view = engine.why(session)
            elif tap.action == RESTART:
                view = engine.restart(session)
            elif tap.action == SEE_NOW:
                view = engine.skip(session)
            else:
                view = engine.answer(session, tap.action)
            turn.replies.append(Show(view, edit=True))
            return
        if tap.action in PAGES:
            page, number = PAGES[tap.action]
            turn.replies.append(Show(engine.page(session, page, number), edit=True))
            return
        if tap.action == TAKE:
            turn.replies.append(Show(engine.keep(session), edit=True))
            return
        if tap.action == UNDO:
            turn.replies.append(Show(engine.back(session), edit=True))
            return
        if tap.action not in (LEAD_BUTTON, RESTART):  # keep Share under the result
            turn.replies.append(Unbutton(tap.message_id))
        if tap.action == RESTART:
            turn.replies.append(Show(engine.restart(session)))
        elif tap.action == QUIZ:
            self._continue(turn)
        elif tap.action in (LEAD_BUTTON, CONSENT):
            step: HandOffStep = "lead" if tap.action == LEAD_BUTTON else "consent"
            turn.replies.append(Show(engine.hand_off(session, step)))
        elif tap.action == DECLINE:
            self._decline(turn)

    def _is_current(self, turn: _Turn, tap: Tapped) -> bool:
        session = turn.session
        if tap.round != session.round and tap.action != QUIZ:
            return False
        if tap.what_if:
            question = turn.knowledge.question(tap.question or "")
            return (
                question is not None
                and question.applies(session.answers)
                and (tap.action == CHANGE or question.option(tap.action) is not None)
                and turn.dialog.may(session, "revise")
            )
        if tap.question is not None:
            return tap.question == session.question_id
        if tap.action in PAGES:
            return session.state in PAGES_READABLE or (
                tap.action == SUMMARY and session.state in WHAT_IF
            )
        if tap.action in (TAKE, UNDO):
            return session.state == PREVIEW
        if tap.action not in BUTTON_TRIGGERS:
            return False
        trigger = BUTTON_TRIGGERS[tap.action]
        if trigger is None:
            return True
        if trigger in ("lead", "consent") and not self._hand_off_open(turn):
            return False
        return turn.dialog.may(session, trigger)

    def _hand_off_open(self, turn: _Turn) -> bool:
        """The hand-off is offered only in a private chat, and only while leads can reach the
        sales team somewhere (the sales chat checked and working, or the CRM hook)."""
        return self._hand_off_allowed(turn) and self.hand_off is not None and self.hand_off.is_open

    def _hand_off_allowed(self, turn: _Turn) -> bool:
        """A contact is taken only in a private chat, and only with a sales team to get it
        (someone who consented keeps their step if a destination failed meanwhile: the lead is
        stored and delivered once it works again)."""
        return (
            turn.person.private and self.hand_off is not None and bool(self.hand_off.destinations)
        )

    def _stale(self, turn: _Turn, tap: Tapped) -> None:
        """An old or double-tapped button: say so, and make sure the current step is shown."""
        session, live = turn.session, turn.live
        turn.toast = Notice("telegram.stale")
        if session.state == WELCOME:  # e.g. stored data was lost: begin again
            turn.replies.append(Show(turn.dialog.start(session)))
        elif session.question_id is None:
            return
        elif live is not None and tap.message_id == live.message_id and tap.question is not None:
            # The live question message: make sure it shows the current question (an earlier
            # edit may have been lost); nothing is sent when it already does.
            turn.toast = Notice("telegram.stale_same")
            turn.replies.append(Show(turn.dialog.view(session), edit=True))
        elif live is None:
            turn.replies.append(Show(turn.dialog.view(session)))

    # -- the hand-off to an expert -------------------------------------------------------------

    def _contact_text(self, turn: _Turn, text: str) -> None:
        """A typed answer while we wait for a contact: an e-mail address, or "No thanks"."""
        if not self._hand_off_allowed(turn):
            self._decline(turn)
            return
        if text.strip().casefold() == turn.knowledge.text("lead.consent_no").casefold():
            self._decline(turn)
            return
        try:
            email = validate_email(text.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            turn.replies.append(Say(Notice("lead.bad_email")))
            return
        self._hand_over(turn, email)

    def _contact(self, turn: _Turn, phone: str, own: bool) -> None:
        if turn.session.state != LEAD_CONTACT or not self._hand_off_allowed(turn):
            turn.save = not turn.is_new
            turn.replies.append(Say(Notice("telegram.unsupported")))
        elif not own:  # someone else's card: not consented by them
            turn.replies.append(Say(Notice("lead.not_own_contact")))
        else:
            self._hand_over(turn, f"+{phone.lstrip('+')}")

    def _decline(self, turn: _Turn) -> None:
        turn.dialog.hand_off(turn.session, "decline")
        view = turn.dialog.view(turn.session, notice=Notice("lead.declined"))
        turn.replies.append(Show(view))

    def _hand_over(self, turn: _Turn, contact: str) -> None:
        """Store the lead (with a delivery owed to each destination) and thank the person."""
        session, person = turn.session, turn.person
        rec = recommend(turn.knowledge, session.answers)
        turn.lead = Lead(
            chat_id=person.chat_id,
            user_id=person.user_id,
            name=person.full_name,
            contact=contact,
            source=session.source,
            recommendation=rec.choice,
            answers=dict(rec.answers),
            key=new_key(),
        )
        turn.dialog.hand_off(session, "contacted")
        view = turn.dialog.view(session, notice=Notice("lead.thanks"))
        turn.replies.append(Show(view))

    # -- outside the dialog ----------------------------------------------------------------------

    async def forget(
        self, user_id: int, answer: Callable[[Forgotten], Sequence[Outgoing]] | None = None
    ) -> Forgotten:
        """Delete every row about this person, in every chat (their leads and the deliveries
        still owed too); say how many, and where their leads had already gone.

        ``answer`` renders what the person is then owed; it is committed with the deletion (in
        the outbox, which holds nothing else of theirs then), so the person learns where their
        contact went even if the process dies before telling them. A second /forget soon
        after (a double tap: nothing left to delete) says the same again."""
        async with self.store.unit(user_id) as uow:
            reach = await uow.leads.reach(user_id)
            removed = await uow.forget(user_id)
            if not removed:
                reach = self._recently_forgotten(user_id) or reach
            forgotten = Forgotten(removed, reach)
            if answer is not None:
                await uow.outbox.put(user_id, list(answer(forgotten)))
        if removed:
            self._forgotten[user_id] = (time.monotonic(), reach)
            while len(self._forgotten) > REMEMBERED_LANGUAGES:
                self._forgotten.popitem(last=False)
        logger.info("deleted %d rows on a user's request", removed)
        return forgotten

    def _recently_forgotten(self, user_id: int) -> LeadReach | None:
        found = self._forgotten.get(user_id)
        if found is None or time.monotonic() - found[0] > FORGOTTEN_SECONDS:
            return None
        return found[1]

    async def shared(self, user_id: int, code: str) -> None:
        """Count a result shared through inline mode, once per person and code."""
        async with self.store.unit(user_id) as uow:
            if await uow.events.exists(user_id, SHARED, code):
                return
            stored = await uow.sessions.get(user_id, user_id)
            source = stored.session.source if stored else None
            await uow.events.add(user_id, SHARED, source=source, detail=code)

    async def register_link(self, admin_id: int, name: str) -> None:
        """Remember a tracked link an admin made, so people who come through it are counted."""
        async with self.store.unit(admin_id) as uow:
            await uow.links.add(name)

    async def owner_name(self, chat_id: int, user_id: int) -> str | None:
        """The first name of the person a button belongs to."""
        return await self.store.first_name(chat_id, user_id)

    # -- delivery ------------------------------------------------------------------------------

    async def deliver(self, user_id: int, transport: Transport) -> Delivered:
        """Deliver what is owed to this person, in order; false when some is still owed.

        One delivery per person at a time, in this process and (through the store) across
        every instance sharing the store, so what one sends no other sends too. A message sent
        just before its sender died, before it was marked delivered, is sent once more.
        """
        lock = self._delivering.get(user_id)
        if lock is None:
            lock = self._delivering[user_id] = asyncio.Lock()
        async with lock, self.store.delivering(user_id) as delivery:
            owed = await delivery.owed()
            prepare = getattr(transport, "prepare", None)
            if owed and prepare is not None:
                await prepare([item.message for item in owed])
            dropped_in: int | None = None  # the chat a result could not reach
            for item in owed:
                delivered, message_id, maybe = await self._deliver_one(item, transport)
                if not delivered:
                    return Delivered(False, maybe)
                await delivery.delivered(item, message_id)
                if message_id is None and item.message.body.get(RESULT_MARK):
                    dropped_in = item.message.chat_id
        if dropped_in is not None:
            await self._unseen(dropped_in, user_id)
        return Delivered(True)

    async def _unseen(self, chat_id: int, user_id: int) -> None:
        """The result could not be delivered (the person had blocked the bot): note it, so
        their next /start shows it."""
        async with self.store.unit(user_id) as uow:
            stored = await uow.sessions.get(chat_id, user_id)
            if stored is not None and stored.session.state == RESULT:
                stored.session.unseen = True
                await uow.sessions.put(chat_id, user_id, stored)

    async def _deliver_one(self, item: Owed, transport: Transport) -> tuple[bool, int | None, bool]:
        """(False, None, whether it may have arrived anyway) when it is still owed; else (True,
        the delivered message's id, False)."""
        maybe = False
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                return True, await transport(item.message), False
            except DeliveryFailed as failure:
                if not failure.transient:
                    logger.warning("dropped an undeliverable %s: %s", item.message.kind, failure)
                    return True, None, False
                maybe = maybe or failure.maybe_delivered
                logger.warning("delivery failed, will try again: %s", failure)
                if attempt + 1 < DELIVERY_ATTEMPTS:
                    await asyncio.sleep(DELIVERY_BACKOFF_SECONDS * 2**attempt)
        return False, None, maybe

    async def deliver_all(self, transport: Transport) -> int:
        """Deliver everything still owed to anyone (at start-up and now and then); return how
        many people still have messages owed."""
        pending = 0
        for user_id in await self.store.owing_users():
            if not await self.deliver(user_id, transport):
                pending += 1
        return pending
