"""The conversation service: what one person did, applied once and in a safe order.

Front ends (the console, Telegram) decode their input into an :data:`~dialogs.turns.Action`
and call :meth:`Conversation.turn`. In one transaction the service loads the person's session, runs
the dialog engine, records statistics events and leads, and commits the messages the person is
now owed, as the front end's presenter rendered them, to the store's outbox. Only then does the
:class:`~dialogs.outbox.Outbox` hand them to the front end's transport, marking each one
delivered when the front end confirms it. Whatever is still owed — after a timeout, a
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
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import get_args

from advisor import Knowledge, recommend
from advisor.session import (
    AFTER_RESULT,
    LEAD_CONSENT,
    LEAD_CONTACT,
    RESULT,
    WELCOME,
    WHAT_IF,
    Session,
)
from handoff import HandOff
from handoff.retry import DeliveryFailed
from storage.base import (
    FINISHED,
    LEAD,
    SHARED,
    STARTED,
    LeadReach,
    Outgoing,
    Store,
    StoreBusy,
    Stored,
    UnitOfWork,
)

from . import actions
from .engine import DialogEngine, Page
from .expert import Expert
from .outbox import Delivered, Outbox, Transport
from .sharecode import ShareCodes
from .turns import (
    Action,
    Answer,
    Audience,
    Begin,
    Commanded,
    Forgetting,
    Forgot,
    Forgotten,
    Outcome,
    Paused,
    Person,
    Presenter,
    Pressed,
    Reply,
    Rewrite,
    Say,
    SharedContact,
    Show,
    ShowShared,
    Tapped,
    Turn,
    Typed,
    Unbutton,
    Unreadable,
    UnreadableKind,
)
from .views import (
    About,
    Asking,
    Finished,
    ForgetAsk,
    Goodbye,
    Help,
    Hint,
    Languages,
    Notice,
    Summary,
    View,
    Welcome,
)

logger = logging.getLogger(__name__)

#: A tracked-link name: what ``/start <name>`` may carry (``r_…`` is a share code).
PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: A turn the store could not run now (another program holds SQLite's write lock, another
#: instance the user's PostgreSQL lock) is tried again, with a pause of BUSY_PAUSE_SECONDS
#: doubling each time, until it has been tried at least BUSY_ATTEMPTS times and for at least
#: BUSY_SECONDS; the pauses are asynchronous, so nobody else waits meanwhile. After that its
#: update is left for Telegram to send again.
BUSY_ATTEMPTS = 3
BUSY_SECONDS = 8.0
BUSY_PAUSE_SECONDS = 0.25

#: A stale button tapped this soon after the last step, in seconds, is a double tap: the screen
#: that step showed is not sent again.
DOUBLE_TAP_SECONDS = 3.0

#: How many people's languages are remembered for replies outside a turn (most recent).
REMEMBERED_LANGUAGES = 10_000
#: How long a /forget's answer is remembered, to be said again on a second tap, in seconds.
FORGOTTEN_SECONDS = 600.0

#: The actions that only inform, and what they show (see :meth:`Conversation._inform`).
_INFORMATION: dict[object, View] = {
    Commanded("help"): Help(),
    Commanded("about"): About(),
    Commanded("forget"): ForgetAsk(),
    **{Unreadable(kind): Hint(Notice(f"telegram.{kind}")) for kind in get_args(UnreadableKind)},
}


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
        transport: Transport | None = None,
        on_lead: Callable[[], object] | None = None,
    ) -> None:
        self.engine = engine
        self.knowledge: Knowledge = engine.knowledge
        self.store = store
        self.presenter = presenter
        self.share_codes = share_codes
        #: Where leads go; None: no hand-off to an expert at all.
        self.hand_off = hand_off
        #: The rules of the hand-off to an expert.
        self.expert = Expert(hand_off)
        #: How the front end delivers a message (:meth:`turn` delivers through it).
        self.transport = transport
        #: Called when a turn stored a lead: its deliveries to the sales team start now.
        self.on_lead = on_lead
        #: The language of each person's last turn here, for replies outside a turn.
        self._spoken: OrderedDict[int, str] = OrderedDict()
        #: Recent /forget answers, by person: a second tap of "Yes, delete everything" (nothing
        #: left to delete then) says again where their contact had already gone.
        self._forgotten: OrderedDict[int, tuple[float, LeadReach]] = OrderedDict()
        #: What people are owed, delivered in order and once.
        self.outbox = Outbox(store)

    # -- a turn ------------------------------------------------------------------------------

    async def turn(
        self,
        person: Person,
        action: Action,
        *,
        update_id: int = 0,
        committed: Callable[[], object] | None = None,
    ) -> Outcome:
        """The use case every front end calls: apply the action (:meth:`handle`), start the
        deliveries of a lead it stored, deliver what the person is owed, older messages first
        (:meth:`deliver`), and answer the tap, if it was one. ``outcome.delivered`` says
        whether all of it arrived (when not, and nothing may have, the person is told their
        answers are safe).

        ``committed`` is called once the action is applied and its replies owed (before they
        are delivered): Telegram stops waiting to say "one moment" then."""
        query_id = action.query_id if isinstance(action, Pressed) else ""
        outcome = await self._turn(person, action, update_id, committed)
        await self._tell(person, outcome, query_id)
        return outcome

    async def _turn(
        self,
        person: Person,
        action: Action,
        update_id: int,
        committed: Callable[[], object] | None,
    ) -> Outcome:
        if isinstance(action, Pressed):
            read = await self._read_press(person, action)
            if isinstance(read, Outcome):  # not a button of this person's: nothing to apply
                return read
            action = read
        if (view := _INFORMATION.get(action)) is not None:
            if committed is not None:
                committed()
            return await self._inform(person, view)
        if isinstance(action, Forgetting) and action.delete:
            outcome = await self._forget(person, action.message_id)
        else:
            outcome = await self.handle(person, action, update_id=update_id)
        if committed is not None:
            committed()
        if outcome.lead_stored and self.on_lead is not None:  # committed: deliveries start
            self.on_lead()
        if self.transport is None:
            return outcome
        delivered = await self.deliver(person.user_id, self.transport)
        return replace(outcome, delivered=delivered)

    async def _tell(self, person: Person, outcome: Outcome, query_id: str) -> None:
        """After the delivery, what is said outside the outbox: that the answers are safe when
        replies are still owed (and none may have arrived), and the answer to the tap."""
        replies: list[Reply] = []
        if not outcome.delivered and not outcome.delivered.maybe_delivered:
            replies.append(Show(Hint(Notice("telegram.error"))))
        if query_id:  # last: the spinner stops as the new screen shows
            replies.append(Answer(query_id, outcome.toast))
        if replies:
            await self._say_now(person, replies, outcome.language)

    async def _say_now(self, person: Person, replies: list[Reply], language: str) -> None:
        """Replies sent at once, not stored: nothing of them is owed if they fail."""
        if self.transport is None:
            return
        audience = Audience(person, Session(language=language), None)
        for message in self.presenter.present(replies, audience):
            try:
                await self.transport(message)
            except DeliveryFailed as failure:
                logger.warning("could not say a %s: %s", message.kind, failure)

    async def _read_press(self, person: Person, pressed: Pressed) -> Tapped | Forgetting | Outcome:
        """The press a button's data describes, when the button is this person's; else what
        to tell them (a forged button; someone else's, named)."""
        press = actions.decode(pressed.data)
        language = self.language_of(person)
        if press is None:
            return Outcome(toast=Notice("telegram.forged"), language=language)
        if press.user_id != person.user_id:
            name = await self.owner_name(person.chat_id, press.user_id)
            someone = self.knowledge.speaking(language).text("telegram.someone")
            return Outcome(
                toast=Notice("telegram.not_yours", {"name": name or someone}), language=language
            )
        if press.question == actions.NO_QUESTION and press.action in (actions.FORGET, actions.KEEP):
            return Forgetting(press.action == actions.FORGET, pressed.message_id)
        question = None if press.question == actions.NO_QUESTION else press.question
        return Tapped(
            press.round, question, press.action, pressed.message_id, what_if=press.what_if
        )

    async def _inform(self, person: Person, view: View) -> Outcome:
        """Help, about, /forget's question, a hint for what the bot can't read: said at once,
        without the store (they change nothing, and need no database to be answered)."""
        language = self.language_of(person)
        await self._say_now(person, [Show(view)], language)
        return Outcome(language=language)

    async def _forget(self, person: Person, message_id: int | None) -> Outcome:
        """/forget confirmed: everything about the person deleted (:meth:`forget`), and what
        was deleted said over the question, committed with the deletion."""
        language = self.language_of(person)
        audience = Audience(person, Session(language=language), None)

        def answer(forgotten: Forgotten) -> list[Outgoing]:
            return self.presenter.present([Forgot(forgotten.reach, message_id)], audience)

        await self.forget(person.user_id, answer)
        return Outcome(language=language)

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
            turn = Turn(person, stored, opening.live, is_new=found is None)
            turn.known_link = opening.known_link
            self._speak(turn)
            before = (turn.session.state, turn.session.round)
            self._apply(turn, action)
            self._never_the_welcome(turn)
            if not turn.save:
                return await self._owe(uow, turn)
            self.expert.after(turn, before[0])
            self._restored_notice(turn)
            stored.first_name = person.first_name or stored.first_name
            stored.last_update = max(stored.last_update, update_id)
            await uow.sessions.put(person.chat_id, person.user_id, stored)
            await self._record(uow, turn, before)
            return await self._owe(uow, turn)

    async def _owe(self, uow: UnitOfWork, turn: Turn) -> Outcome:
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

    async def _record(self, uow: UnitOfWork, turn: Turn, before: tuple[str, int]) -> None:
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

    def _speak(self, turn: Turn) -> None:
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

    def _never_the_welcome(self, turn: Turn) -> None:
        """A screen of the welcome (e.g. "back" before anything) begins the questions."""
        for index, reply in enumerate(turn.replies):
            if isinstance(reply, Show) and isinstance(reply.view, Welcome):
                view = turn.dialog.start(turn.session)
                turn.replies[index] = Show(view, edit=reply.edit, welcome=True)

    def _restored_notice(self, turn: Turn) -> None:
        """Tell the person when stored data could not be restored."""
        if not turn.stored.restored_fresh:
            return
        turn.stored.restored_fresh = False
        for index, reply in enumerate(turn.replies):
            if isinstance(reply, Show) and isinstance(reply.view, Asking) and not reply.view.notice:
                view = turn.dialog.view(turn.session, notice=Notice("dialog.notice.restored_fresh"))
                turn.replies[index] = Show(view, reply.edit, reply.welcome)
                return

    # -- the rules of each action ------------------------------------------------------------

    def _apply(self, turn: Turn, action: Action) -> None:
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
            case Forgetting(message_id=message_id):  # keep it (deleting is :meth:`_forget`)
                turn.save = False
                turn.replies.append(Rewrite(message_id, Notice("privacy.kept")))
            case Paused():
                if turn.is_new:
                    turn.save = False
                    turn.replies.append(Say(Notice("telegram.nothing_to_cancel")))
                else:
                    turn.release = True
                    turn.replies += [Unbutton(), Say(Notice("telegram.cancelled"))]
            case SharedContact(phone, own):
                self.expert.contact(turn, phone, own)

    def _begin(self, turn: Turn, payload: str | None) -> None:
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

    def _continue(self, turn: Turn) -> None:
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

    def _typed(self, turn: Turn, text: str) -> None:
        session = turn.session
        if not turn.person.private and session.state == WELCOME:
            turn.save = False  # group chatter is not meant for us; members start with /start
            return
        if session.state == LEAD_CONTACT:
            self.expert.contact_text(turn, text)
            return
        if session.state == LEAD_CONSENT and self.expert.consent_text(turn, text):
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

    def _switch_language(self, turn: Turn, code: str, message_id: int | None) -> None:
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

    def _tapped(self, turn: Turn, tap: Tapped) -> None:
        """A button: found in the table of actions, valid if the machine may fire its trigger
        now (and it was made for this round and question), then its effect."""
        place: actions.Place = "question" if tap.question is not None else "screen"
        found = actions.find("what_if" if tap.what_if else place, tap.action)
        if found is not None and found.act is actions.LANGUAGE:
            if found.language in self.knowledge.languages:
                self._switch_language(turn, found.language, tap.message_id)
            else:
                turn.toast = Notice("telegram.forged")
                turn.save = not turn.is_new
            return
        if found is None or not self._is_current(turn, tap, found):
            self._stale(turn, tap)
            return
        act = found.act
        if act is not None and act.shows == "instead":
            turn.replies.append(Unbutton(tap.message_id))
        view = self._effect(turn, tap, found)
        if view is not None:
            edit = act is None or act.shows == "edit"
            turn.replies.append(Show(view, edit=edit))

    def _effect(self, turn: Turn, tap: Tapped, found: actions.Found) -> View | None:
        """What a valid button does: the engine's method of its trigger (None: the service
        has said what to show)."""
        engine, session = turn.dialog, turn.session
        match found.trigger:
            case "answer":
                assert found.option is not None
                return engine.answer(session, found.option)
            case "revise":
                view = engine.revise(session, tap.question or "")
                return view if found.option is None else engine.try_answer(session, found.option)
            case "page":
                assert found.act is not None
                page: Page = "details" if found.act is actions.DETAILS else "report"
                if found.act is actions.ANSWERS:
                    page = "answers"
                return engine.page(session, page, found.number)
            case "lead" | "consent" as step:
                return engine.hand_off(session, step)
            case "decline":
                self.expert.decline(turn)
            case "quiz":
                self._continue(turn)
            case trigger:
                return engine.fire(session, trigger)
        return None

    def _is_current(self, turn: Turn, tap: Tapped, found: actions.Found) -> bool:
        """Made for this round (a shared result's quiz: any), for the question asked (a "What
        if…": one that is asked), and its trigger one the machine may fire now."""
        session, dialog = turn.session, turn.dialog
        if tap.round != session.round and found.act is not actions.QUIZ:
            return False
        if tap.what_if:
            question = turn.knowledge.question(tap.question or "")
            return (
                question is not None
                and question.applies(session.answers)
                and (found.option is None or question.option(found.option) is not None)
                and dialog.may(session, "revise")
            )
        if tap.question is not None and tap.question != session.question_id:
            return False
        if found.act in (actions.LEAD, actions.CONSENT) and not self.expert.open(turn):
            return False
        return dialog.may(session, found.trigger)

    def _stale(self, turn: Turn, tap: Tapped) -> None:
        """An old or double-tapped button: say so ("Here is where you are now"), and show the
        current screen: a button of the live message makes sure that message shows it (an
        earlier edit may have been lost; nothing is sent when it already does), any other
        sends it anew, as the live message. A second tap right after a step (a double tap)
        only says so: the screen that step showed is on its way."""
        session, live = turn.session, turn.live
        turn.toast = Notice("telegram.stale")
        if session.state == WELCOME:  # e.g. stored data was lost: begin again
            turn.replies.append(Show(turn.dialog.start(session)))
            return
        on_live = live is not None and tap.message_id == live.message_id
        if on_live and tap.question is not None and session.question_id is not None:
            turn.toast = Notice("telegram.stale_same")
            turn.replies.append(Show(turn.dialog.view(session), edit=True))
            return
        just_now = time.time() - turn.stored.updated_at < DOUBLE_TAP_SECONDS
        if live is not None and just_now:
            return
        turn.replies.append(Show(self._current(turn), edit=on_live))

    @staticmethod
    def _current(turn: Turn) -> View:
        """The screen of where the person is, changing nothing: the question asked, the
        result's summary, the step of "What if…" or of the hand-off."""
        session = turn.session
        if session.state == RESULT:
            return Summary(recommend(turn.knowledge, session.answers))
        return turn.dialog.view(session)

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
        """Deliver what is owed to this person, in order (:meth:`Outbox.deliver`)."""
        return await self.outbox.deliver(user_id, transport)

    async def deliver_all(self, transport: Transport) -> int:
        """Deliver everything still owed to anyone; how many people still have messages owed."""
        return await self.outbox.deliver_all(transport)
