"""The conversation service on its own: real engine, store and Telegram presenter, a fake transport.

Each test drives :class:`Conversation` as a front end would — an action, then a delivery — and
checks what the store holds and what reached the (pretend) chat. Buttons are tapped from the
messages the transport delivered, so a test can only tap what the user could see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from advisor import Knowledge
from advisor.session import LEAD_CONSENT, LEAD_CONTACT, RESULT, Session
from bootstrap import bootstrap
from dialogs import actions, outbox
from dialogs import conversation as conversation_module
from dialogs.conversation import Conversation
from dialogs.engine import DialogEngine
from dialogs.turns import Action, Begin, Commanded, Outcome, Person, SharedContact, Tapped, Typed
from dialogs.views import Notice
from frontends.telegram.presenter import EDIT, PHOTO, SEND, UNBUTTON, TelegramPresenter
from handoff import OUTBOX_SCHEDULE, TELEGRAM, WEBHOOK, DeliveryFailed, HandOff, RetrySchedule
from settings import Settings
from storage.base import FINISHED, LEAD, PENDING, STARTED, LeadReach, Live, Outgoing, Owed
from storage.sqlite import SqliteStore

ADA, BOB = 501, 502
GROUP = -600
#: Answers whose result needs two messages.
TWO_PART_RESULT = {
    "team": "javascript",
    "size": "small",
    "services": "microservices",
    "realtime": "core",
}


# -- a pretend chat on the other side of the transport -------------------------------------------


@dataclass
class _Failure:
    times: int
    transient: bool
    when: Callable[[Outgoing], bool]


class FakeTransport:
    """Delivers into a pretend chat: records every message, numbers new ones, fails on request."""

    def __init__(self) -> None:
        self.delivered: list[Outgoing] = []
        self.attempts = 0
        #: What each message shows now: message id -> body (text, html, markup).
        self.screen: dict[int, dict[str, Any]] = {}
        #: The chat of each message.
        self.chat_of: dict[int, int] = {}
        self._next_id = 100
        self._failures: list[_Failure] = []
        #: Each batch handed to ``prepare``, and how many messages had been delivered then.
        self.prepared: list[tuple[list[str], int]] = []

    async def prepare(self, messages: list[Outgoing]) -> None:
        self.prepared.append(([m.kind for m in messages], len(self.delivered)))

    def fail(
        self,
        times: int = OUTBOX_SCHEDULE.attempts,
        *,
        transient: bool = True,
        when: Callable[[Outgoing], bool] = lambda message: True,
    ) -> None:
        """Fail the next ``times`` deliveries of messages ``when`` picks."""
        self._failures.append(_Failure(times, transient, when))

    async def __call__(self, message: Outgoing) -> int | None:
        self.attempts += 1
        for failure in self._failures:
            if failure.times and failure.when(message):
                failure.times -= 1
                raise DeliveryFailed("planned failure", transient=failure.transient)
        self.delivered.append(message)
        body = message.body
        if message.kind == EDIT:
            self.screen[body["message_id"]] = {k: v for k, v in body.items() if k != "message_id"}
            return int(body["message_id"])
        if message.kind == UNBUTTON:
            self.screen[body["message_id"]].pop("markup", None)
            return None
        self._next_id += 1
        self.screen[self._next_id] = dict(body)
        self.chat_of[self._next_id] = message.chat_id
        return self._next_id

    def texts(self, chat_id: int | None = None, *, since: int = 0) -> list[str]:
        """The text of every message sent or edited, in order (in one chat, if given), from
        the ``since``-th delivery on."""
        return [
            m.body["text"]
            for m in self.delivered[since:]
            if m.kind not in (UNBUTTON, PHOTO) and (chat_id is None or m.chat_id == chat_id)
        ]


@dataclass
class Visitor:
    """One person using the bot in one chat; delivers after each action unless told not to."""

    conversation: Conversation
    transport: FakeTransport
    person: Person

    @property
    def store(self) -> SqliteStore:
        store = self.conversation.store
        assert isinstance(store, SqliteStore)
        return store

    async def act(self, action: Action, *, update_id: int = 0, deliver: bool = True) -> Outcome:
        outcome = await self.conversation.handle(self.person, action, update_id=update_id)
        if deliver:
            await self.deliver()
        return outcome

    async def deliver(self) -> bool:
        return await self.conversation.deliver(self.person.user_id, self.transport)

    def button(self, action: str, message_id: int | None = None) -> Tapped:
        """The tap of the button with this action on a message (by default the newest with
        buttons in this chat)."""
        if message_id is None:
            message_id = max(
                mid
                for mid, body in self.transport.screen.items()
                if self.transport.chat_of[mid] == self.person.chat_id
                and "inline_keyboard" in body.get("markup", {})
            )
        markup = self.transport.screen[message_id].get("markup", {})
        for row in markup.get("inline_keyboard", []):
            for key in row:
                press = actions.decode(key.get("callback_data"))
                if press is not None and press.action == action:
                    question = None if press.question == actions.NO_QUESTION else press.question
                    return Tapped(press.round, question, press.action, message_id)
        raise AssertionError(f"no {action!r} button on message {message_id}")

    async def tap(
        self,
        action: str,
        message_id: int | None = None,
        *,
        update_id: int = 0,
        deliver: bool = True,
    ) -> Outcome:
        return await self.act(self.button(action, message_id), update_id=update_id, deliver=deliver)

    async def answer_all(
        self,
        knowledge: Knowledge,
        answers: dict[str, str] | None = None,
        *,
        stop_at: str | None = None,
    ) -> None:
        """Tap through the questions (up to ``stop_at``): these answers, else the neutral one."""
        answers = answers or {}
        while (question_id := (await self.session()).question_id) not in (None, stop_at):
            question = knowledge.question(question_id)
            assert question is not None
            neutral = next(o.id for o in question.options if o.is_neutral)
            await self.tap(answers.get(question_id, neutral))

    async def session(self) -> Session:
        async with self.store.unit(self.person.user_id) as uow:
            stored = await uow.sessions.get(self.person.chat_id, self.person.user_id)
        assert stored is not None
        return stored.session

    async def live(self) -> Live | None:
        async with self.store.unit(self.person.user_id) as uow:
            return await uow.outbox.live(self.person.chat_id, self.person.user_id)

    async def owed(self) -> list[Owed]:
        async with self.store.unit(self.person.user_id) as uow:
            return await uow.outbox.owed(self.person.user_id)


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries within a turn happen at once (the tests count attempts, not seconds)."""
    monkeypatch.setattr(outbox, "OUTBOX_SCHEDULE", RetrySchedule(first=0, attempts=3))


@pytest.fixture
async def store(knowledge: Knowledge) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore(":memory:", knowledge).open()
    yield opened
    await opened.close()


def working_sales_chat() -> HandOff:
    """Leads go to a sales chat that passed its check."""
    return HandOff([TELEGRAM], unchecked=[TELEGRAM])


def build_conversation(
    engine: DialogEngine, store: SqliteStore, *, hand_off: HandOff | None = None
) -> Conversation:
    """Wired by the composition root as Telegram wires it (by default with a working sales
    chat)."""
    advisor = bootstrap(
        Settings(share_secret="secret"),
        engine.knowledge,
        presenter=TelegramPresenter.of,
        store=store,
        engine=engine,
        hand_off=hand_off or working_sales_chat(),
    )
    return advisor.conversation


@pytest.fixture
def conversation(engine: DialogEngine, store: SqliteStore) -> Conversation:
    return build_conversation(engine, store)


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


def visitor(
    conversation: Conversation,
    transport: FakeTransport,
    *,
    user_id: int = ADA,
    chat_id: int | None = None,
    private: bool = True,
    channel: str = "telegram",
) -> Visitor:
    chat = user_id if chat_id is None else chat_id
    person = Person(chat, user_id, "Ada", "Ada Lovelace", private=private, channel=channel)
    return Visitor(conversation, transport, person)


@pytest.fixture
def ada(conversation: Conversation, transport: FakeTransport) -> Visitor:
    return visitor(conversation, transport)


def prompt_of(knowledge: Knowledge, question_id: str) -> str:
    question = knowledge.question(question_id)
    assert question is not None
    return question.prompt


# -- starting and answering ------------------------------------------------------------------------


async def test_starting_sends_the_first_question_as_the_live_message(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    [sent] = transport.delivered
    assert (sent.kind, sent.chat_id, sent.live) == (SEND, ADA, True)
    assert "Question 1 of 9" in sent.body["text"]
    assert prompt_of(knowledge, "team") in sent.body["text"]
    assert await ada.live() == Live(max(transport.screen), sent.digest)
    assert (await ada.session()).state == "q_team"
    assert await ada.owed() == []


async def test_a_tapped_answer_is_committed_and_owes_an_edit_before_anything_is_delivered(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    first = await ada.live()
    assert first is not None

    await ada.tap("python", deliver=False)

    session = await ada.session()
    assert (session.state, session.answers) == ("q_security", {"team": "python"})
    [owed] = await ada.owed()
    assert (owed.message.kind, owed.message.live) == (EDIT, True)
    assert owed.message.body["message_id"] == first.message_id
    assert prompt_of(knowledge, "security") in owed.message.body["text"]
    assert len(transport.delivered) == 1  # only the first question so far

    assert await ada.deliver()
    assert await ada.live() == Live(first.message_id, owed.message.digest)
    assert await ada.owed() == []


async def test_typed_help_shows_help_and_keeps_the_user_where_they_were(
    ada: Visitor, transport: FakeTransport, conversation: Conversation
) -> None:
    await ada.act(Begin())
    await ada.tap("python")
    before = await ada.session()

    await ada.act(Typed("help"))

    assert await ada.session() == before
    presenter = conversation.presenter
    assert isinstance(presenter, TelegramPresenter)
    assert transport.texts()[-1] == presenter.t("telegram.help")


async def test_an_update_seen_before_is_ignored(ada: Visitor, transport: FakeTransport) -> None:
    await ada.act(Begin(), update_id=10)
    tap = ada.button("python")
    await ada.act(tap, update_id=11)
    delivered = len(transport.delivered)

    again = await ada.act(tap, update_id=11)
    first_again = await ada.act(Commanded("restart"), update_id=10)  # 10 was /start: applied

    assert again.repeat and first_again.repeat
    session = await ada.session()
    assert (session.state, session.answers, session.round) == ("q_security", {"team": "python"}, 0)
    assert len(transport.delivered) == delivered
    assert await ada.owed() == []


async def test_an_update_that_comes_after_a_newer_one_is_applied_and_then_only_once(
    ada: Visitor, transport: FakeTransport
) -> None:
    await ada.act(Begin(), update_id=10)
    await ada.tap("python", update_id=12)  # another instance got 12 and applied it first

    late = await ada.act(Commanded("back"), update_id=11)
    again = await ada.act(Commanded("back"), update_id=11)

    assert not late.repeat and again.repeat
    session = await ada.session()
    assert session.state == "q_team"
    assert [e.kind for e in await ada.store.events_since(0)] == [STARTED]


async def test_a_reply_committed_but_never_sent_is_sent_when_the_update_comes_again_once(
    ada: Visitor, transport: FakeTransport
) -> None:
    await ada.act(Begin(), update_id=10, deliver=False)  # the instance died before sending

    again = await ada.act(Begin(), update_id=10)  # redelivered: a repeat, still delivered
    once_more = await ada.act(Begin(), update_id=10)

    assert again.repeat and once_more.repeat
    assert len([t for t in transport.texts() if "Question 1 of 9" in t]) == 1
    assert await ada.owed() == []


async def test_only_a_tracked_link_an_admin_made_counts_as_the_source(
    conversation: Conversation, transport: FakeTransport, store: SqliteStore
) -> None:
    await conversation.register_link(BOB, "spring_ads")
    ada = visitor(conversation, transport, user_id=ADA)
    eve = visitor(conversation, transport, user_id=BOB + 1)
    await ada.act(Begin(payload="spring_ads"))
    await eve.act(Begin(payload="made_up"))
    assert (await ada.session()).source == "spring_ads"
    assert (await eve.session()).source is None
    sources = {(e.user_id, e.kind): e.source for e in await store.events_since(0)}
    assert sources == {(ADA, STARTED): "spring_ads", (BOB + 1, STARTED): None}


# -- delivery ----------------------------------------------------------------------------------


async def test_a_transient_failure_keeps_a_message_owed_and_next_time_only_the_rest_is_sent(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    last = knowledge.questions[-1]
    await ada.answer_all(knowledge, TWO_PART_RESULT, stop_at=last.id)
    question_message = await ada.live()

    def second_part(message: Outgoing) -> bool:
        return message.kind == SEND and message.live

    transport.fail(OUTBOX_SCHEDULE.attempts, transient=True, when=second_part)
    sent_before = len(transport.delivered)
    await ada.tap(next(o.id for o in last.options if o.is_neutral), deliver=False)
    edit_done, first_part, second = [item.message for item in await ada.owed()]
    # The question turns into a "done" line, then the chart, then the summary (live).
    assert (edit_done.kind, first_part.kind, second.kind) == (EDIT, PHOTO, SEND)

    assert not await ada.deliver()
    assert [item.message for item in await ada.owed()] == [second]
    assert transport.delivered[sent_before:] == [edit_done, first_part]
    assert await ada.live() == question_message  # the result is not live until it arrives

    assert await ada.deliver()
    assert transport.delivered[sent_before:] == [edit_done, first_part, second]
    assert await ada.owed() == []
    live = await ada.live()
    assert live is not None and live.digest == second.digest
    assert "Start over" in str(transport.screen[live.message_id]["markup"])


async def test_a_permanent_failure_drops_the_message(
    ada: Visitor, transport: FakeTransport
) -> None:
    transport.fail(1, transient=False)
    await ada.act(Begin())
    assert transport.attempts == 1
    assert transport.delivered == []
    assert await ada.owed() == []
    assert await ada.live() is None
    assert (await ada.session()).state == "q_team"


async def test_deliver_all_resumes_everyone_still_owed(
    conversation: Conversation, transport: FakeTransport
) -> None:
    ada = visitor(conversation, transport, user_id=ADA)
    bob = visitor(conversation, transport, user_id=BOB)
    await ada.act(Begin(), deliver=False)
    await bob.act(Begin(), deliver=False)
    assert await conversation.deliver_all(transport) == 0
    assert {m.chat_id for m in transport.delivered} == {ADA, BOB}
    assert await conversation.store.owing_users() == []


# -- taps that come late or twice ----------------------------------------------------------------


async def test_a_double_tap_on_start_over_sends_the_first_question_once(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    tap = ada.button(actions.START_OVER.code)
    sent_before = len(transport.delivered)

    first = await ada.act(tap)
    second = await ada.act(tap)

    assert first.toast is None
    assert second.toast == Notice("telegram.stale")
    firsts = [t for t in transport.texts(since=sent_before) if "Question 1 of 9" in t]
    assert len(firsts) == 1
    session = await ada.session()
    assert (session.state, session.round) == ("q_team", 1)


async def test_a_double_tap_on_start_over_before_the_first_is_delivered_sends_the_question_once(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    result = await ada.live()
    assert result is not None
    tap = ada.button(actions.START_OVER.code)
    result_text = transport.screen[result.message_id]["text"]
    sent_before = len(transport.delivered)

    # The first answer does not get through.
    transport.fail(OUTBOX_SCHEDULE.attempts, transient=True)
    await ada.act(tap)
    await ada.act(tap)  # so the user taps again; now everything arrives

    firsts = [t for t in transport.texts(since=sent_before) if "Question 1 of 9" in t]
    assert len(firsts) == 1
    assert transport.screen[result.message_id]["text"] == result_text


async def test_a_stale_tap_on_the_live_message_that_shows_the_current_question_owes_nothing(
    ada: Visitor, transport: FakeTransport
) -> None:
    await ada.act(Begin())
    tap = ada.button("python")
    await ada.act(tap)
    delivered = len(transport.delivered)

    outcome = await ada.act(tap, deliver=False)

    assert outcome.toast == Notice("telegram.stale_same")
    assert await ada.owed() == []
    assert (await ada.session()).answers == {"team": "python"}
    assert await ada.deliver()
    assert len(transport.delivered) == delivered


async def test_a_stale_tap_on_the_live_message_repairs_it_when_an_edit_was_lost(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    tap = ada.button("python")
    question_message = tap.message_id
    assert question_message is not None
    transport.fail(1, transient=False)  # the edit to question 2 never arrives
    await ada.act(tap)
    assert prompt_of(knowledge, "team") in transport.screen[question_message]["text"]

    outcome = await ada.act(tap)

    assert outcome.toast == Notice("telegram.stale_same")
    assert prompt_of(knowledge, "security") in transport.screen[question_message]["text"]


# -- statistics --------------------------------------------------------------------------------


async def test_going_back_from_the_result_and_finishing_again_counts_one_start_and_one_finish(
    ada: Visitor, knowledge: Knowledge, store: SqliteStore
) -> None:
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    await ada.act(Commanded("back"))
    assert (await ada.session()).question_id is not None
    await ada.answer_all(knowledge)
    assert (await ada.session()).state == RESULT

    kinds = [event.kind for event in await store.events_since(0)]
    assert kinds.count(STARTED) == 1
    assert kinds.count(FINISHED) == 1


async def test_starting_over_from_the_result_counts_a_new_start(
    ada: Visitor, knowledge: Knowledge, store: SqliteStore
) -> None:
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    await ada.tap(actions.START_OVER.code)
    await ada.answer_all(knowledge)
    kinds = [event.kind for event in await store.events_since(0)]
    assert (kinds.count(STARTED), kinds.count(FINISHED)) == (2, 2)


# -- the hand-off to an expert -----------------------------------------------------------------


async def test_the_expert_buttons_do_nothing_in_a_group_chat(
    conversation: Conversation, transport: FakeTransport, knowledge: Knowledge
) -> None:
    member = visitor(conversation, transport, chat_id=GROUP, private=False)
    await member.act(Begin())
    await member.answer_all(knowledge)
    result = await member.live()
    assert result is not None
    with pytest.raises(AssertionError, match="no 'lead' button"):
        member.button(actions.LEAD.code)
    session = await member.session()

    for action in (actions.LEAD.code, actions.CONSENT.code):
        outcome = await member.act(
            Tapped(session.round, None, action, result.message_id), deliver=False
        )
        assert outcome.toast == Notice("telegram.stale")
        assert await member.owed() == []
    assert (await member.session()).state == RESULT


async def test_the_expert_buttons_do_nothing_without_a_sales_chat(
    engine: DialogEngine, store: SqliteStore, transport: FakeTransport, knowledge: Knowledge
) -> None:
    ada = visitor(build_conversation(engine, store, hand_off=HandOff([])), transport)
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    result = await ada.live()
    assert result is not None
    with pytest.raises(AssertionError, match="no 'lead' button"):
        ada.button(actions.LEAD.code)
    session = await ada.session()

    outcome = await ada.act(
        Tapped(session.round, None, actions.LEAD.code, result.message_id), deliver=False
    )

    assert outcome.toast == Notice("telegram.stale")
    assert await ada.owed() == []
    assert (await ada.session()).state == RESULT


async def test_a_typed_email_at_the_contact_step_stores_a_lead_owed_to_the_sales_chat_and_thanks(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, store: SqliteStore
) -> None:
    # Changed with issue 14: the sales summary no longer sits in the person's outbox (where a
    # failing sales chat made the person's own delivery fail); the lead gets a delivery of
    # its own, and the person's outbox holds only their thanks.
    await ada.conversation.register_link(BOB, "spring_ads")
    await ada.act(Begin(payload="spring_ads"))
    await ada.answer_all(knowledge, {"team": "python"})
    await ada.tap(actions.LEAD.code)
    await ada.tap(actions.CONSENT.code)
    assert (await ada.session()).state == LEAD_CONTACT

    outcome = await ada.act(Typed("  Ada@Example.ORG "), deliver=False)

    assert outcome.lead_stored
    [lead] = await store.all_leads()
    assert (lead.user_id, lead.name, lead.contact) == (ADA, "Ada Lovelace", "Ada@example.org")
    assert (lead.source, lead.recommendation) == ("spring_ads", "django")
    assert lead.answers["team"] == "python"
    assert lead.id > 0 and len(lead.key) == 36  # a UUID: the deliveries' idempotency key
    assert lead.channel == "telegram"  # where the person acts, by default the bot
    [delivery] = await store.deliveries_of(lead.id)
    assert (delivery.destination, delivery.status, delivery.attempts) == (TELEGRAM, PENDING, 0)
    owed = [item.message for item in await ada.owed()]
    assert {m.chat_id for m in owed} == {ADA}
    assert (await ada.session()).state == RESULT
    assert LEAD in [event.kind for event in await store.events_since(0)]

    before = len(transport.delivered)
    assert await ada.deliver()
    assert transport.texts(since=before) == [knowledge.text("lead.thanks")]


async def test_a_lead_owes_one_delivery_to_each_destination(
    engine: DialogEngine, store: SqliteStore, transport: FakeTransport, knowledge: Knowledge
) -> None:
    both = HandOff([TELEGRAM, WEBHOOK], unchecked=[WEBHOOK])  # the sales chat not checked yet
    ada = visitor(build_conversation(engine, store, hand_off=both), transport)
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    await ada.tap(actions.LEAD.code)
    await ada.tap(actions.CONSENT.code)

    before = len(transport.delivered)
    await ada.act(Typed("ada@example.org"))

    [lead] = await store.all_leads()
    deliveries = await store.deliveries_of(lead.id)
    assert sorted(d.destination for d in deliveries) == [TELEGRAM, WEBHOOK]
    assert transport.texts(since=before) == [knowledge.text("lead.thanks")]


@pytest.mark.parametrize("channel", ["web", "mini_app"])
async def test_a_lead_given_by_a_person_on_another_channel_is_stored_with_that_channel(
    conversation: Conversation,
    transport: FakeTransport,
    knowledge: Knowledge,
    store: SqliteStore,
    channel: str,
) -> None:
    person = visitor(conversation, transport, channel=channel)
    await person.act(Begin())
    await person.answer_all(knowledge)
    await person.tap(actions.LEAD.code)
    await person.tap(actions.CONSENT.code)

    outcome = await person.act(Typed("ada@example.org"))

    assert outcome.lead_stored
    [lead] = await store.all_leads()
    assert (lead.contact, lead.channel) == ("ada@example.org", channel)
    [delivery] = await store.deliveries_of(lead.id)
    assert delivery.lead.channel == channel


@pytest.mark.parametrize(("telegram_language", "stored"), [("pt-br", "pt"), ("ru", "ru")])
async def test_a_lead_from_a_portuguese_session_is_stored_with_its_language(
    conversation: Conversation,
    transport: FakeTransport,
    knowledge: Knowledge,
    store: SqliteStore,
    telegram_language: str,
    stored: str,
) -> None:
    person = Person(ADA, ADA, "Ada", "Ada Lovelace", language=telegram_language)
    ada = Visitor(conversation, transport, person)
    await ada.act(Begin())
    assert (await ada.session()).language == stored
    await ada.answer_all(knowledge)
    await ada.tap(actions.LEAD.code)
    await ada.tap(actions.CONSENT.code)

    outcome = await ada.act(Typed("ada@example.org"))

    assert outcome.lead_stored
    [lead] = await store.all_leads()
    assert (lead.contact, lead.language) == ("ada@example.org", stored)
    [delivery] = await store.deliveries_of(lead.id)
    assert delivery.lead.language == stored


async def test_the_expert_button_is_not_offered_while_no_destination_works(
    engine: DialogEngine, store: SqliteStore, transport: FakeTransport, knowledge: Knowledge
) -> None:
    unchecked = HandOff([TELEGRAM])  # configured, but its check has not passed
    ada = visitor(build_conversation(engine, store, hand_off=unchecked), transport)
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    with pytest.raises(AssertionError, match="no 'lead' button"):
        ada.button(actions.LEAD.code)
    result = await ada.live()
    assert result is not None
    session = await ada.session()

    outcome = await ada.act(
        Tapped(session.round, None, actions.LEAD.code, result.message_id), deliver=False
    )

    assert outcome.toast == Notice("telegram.stale")
    unchecked.mark(TELEGRAM, True)  # the check passed: the summary shown again offers it
    await ada.tap(actions.DETAILS.code)
    await ada.tap(actions.SUMMARY.code)
    assert ada.button(actions.LEAD.code).action == actions.LEAD.code


async def test_a_contact_given_after_the_sales_chat_stopped_working_is_still_stored(
    engine: DialogEngine, store: SqliteStore, transport: FakeTransport, knowledge: Knowledge
) -> None:
    hand_off = working_sales_chat()
    ada = visitor(build_conversation(engine, store, hand_off=hand_off), transport)
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    await ada.tap(actions.LEAD.code)
    await ada.tap(actions.CONSENT.code)
    hand_off.mark(TELEGRAM, False)  # e.g. the bot was removed from the sales chat just now
    before = len(transport.delivered)

    await ada.act(Typed("ada@example.org"))

    [lead] = await store.all_leads()
    assert lead.contact == "ada@example.org"
    assert transport.texts(since=before) == [knowledge.text("lead.thanks")]


async def test_a_bad_email_at_the_contact_step_asks_again_and_stores_nothing(
    ada: Visitor, knowledge: Knowledge, store: SqliteStore, conversation: Conversation
) -> None:
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    await ada.tap(actions.LEAD.code)
    await ada.tap(actions.CONSENT.code)

    await ada.act(Typed("call me maybe"), deliver=False)

    assert await store.all_leads() == []
    [owed] = await ada.owed()
    presenter = conversation.presenter
    assert isinstance(presenter, TelegramPresenter)
    assert owed.message.body["text"] == presenter.t("lead.bad_email")
    assert (await ada.session()).state == LEAD_CONTACT


# -- forgetting ----------------------------------------------------------------------------------


async def test_forget_removes_everything_about_the_user_in_every_chat(
    conversation: Conversation, transport: FakeTransport, store: SqliteStore, knowledge: Knowledge
) -> None:
    private = visitor(conversation, transport)
    group = visitor(conversation, transport, chat_id=GROUP, private=False)
    bob = visitor(conversation, transport, user_id=BOB)
    for someone in (private, group, bob):
        await someone.act(Begin())
    await private.answer_all(knowledge)
    await group.act(Typed("python"), deliver=False)  # still owed when forgotten

    forgotten = await conversation.forget(ADA)

    assert forgotten.removed > 0
    assert forgotten.reach == LeadReach()  # no lead: nothing reached anyone
    assert {row.user_id for row in await store.all_sessions()} == {BOB}
    assert {event.user_id for event in await store.events_since(0)} == {BOB}
    assert await private.live() is None and await group.live() is None
    assert await private.owed() == []
    assert await store.owing_users() == []
    assert await bob.live() is not None
    assert await conversation.owner_name(GROUP, ADA) is None


async def test_slow_work_for_a_result_is_done_before_its_first_message_is_sent(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    kinds, delivered_before = transport.prepared[-1]
    assert kinds == [EDIT, PHOTO, SEND]  # the chart is drawn before the "done" line goes out
    assert transport.delivered[delivered_before].kind == EDIT


async def test_forget_withdraws_a_lead_not_delivered_yet_and_says_what_had_arrived(
    engine: DialogEngine, store: SqliteStore, transport: FakeTransport, knowledge: Knowledge
) -> None:
    both = HandOff([TELEGRAM, WEBHOOK], unchecked=[TELEGRAM, WEBHOOK])
    conversation = build_conversation(engine, store, hand_off=both)
    ada = visitor(conversation, transport)
    await ada.act(Begin())
    await ada.answer_all(knowledge)
    await ada.tap(actions.LEAD.code)
    await ada.tap(actions.CONSENT.code)
    await ada.act(Typed("ada@example.org"))
    [claimed] = await store.claim_deliveries([WEBHOOK], lease=60, limit=5)
    assert await store.delivery_done(claimed)  # the CRM got it; the sales chat did not yet

    forgotten = await conversation.forget(ADA)

    assert forgotten.reach == LeadReach(leads=1, delivered=frozenset({WEBHOOK}))
    assert await store.all_leads() == []
    assert await store.pending_deliveries(limit=10) == []
    assert await store.claim_deliveries([TELEGRAM, WEBHOOK], lease=60, limit=5) == []


# -- small turns: a choice's reply, the consent's typed answers, stale buttons ------------------


def markup_of(message: Outgoing) -> dict[str, Any]:
    markup = message.body.get("markup")
    assert isinstance(markup, dict), message
    return markup


async def at_consent(person: Visitor, knowledge: Knowledge) -> None:
    """The quiz done and "Talk to an expert" tapped: the consent is asked."""
    await person.act(Begin())
    await person.answer_all(knowledge)
    await person.tap(actions.LEAD.code)
    assert (await person.session()).state == LEAD_CONSENT


async def test_the_reply_to_did_you_mean_is_read_against_the_two_choices_kept_in_the_session(
    ada: Visitor, transport: FakeTransport
) -> None:
    await ada.act(Begin())
    await ada.act(Typed("python"))
    await ada.act(Typed("nothing sensitive"))
    await ada.act(Typed("medium or large"))
    assert (await ada.session()).choices == ("medium", "large")  # stored, read back
    rows = markup_of(transport.delivered[-2])["inline_keyboard"]
    assert [row[0]["text"] for row in rows[:2]] == ["Medium, it will grow", "Large and complex"]

    await ada.act(Typed("the first one"))

    session = await ada.session()
    assert session.answers["size"] == "medium" and session.choices == ()
    assert transport.texts()[-1].startswith("Got it: Medium, it will grow.")


@pytest.mark.parametrize("text", ["yes", "Yes, share", "yes please", "Sure"])
async def test_typing_yes_at_the_consent_step_asks_for_the_contact_as_the_button_does(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, text: str
) -> None:
    await at_consent(ada, knowledge)
    before = len(transport.delivered)

    await ada.act(Typed(text))

    assert (await ada.session()).state == LEAD_CONTACT
    [asked] = transport.delivered[before:]
    assert asked.body["text"] == knowledge.text("lead.ask_contact")
    assert markup_of(asked)["keyboard"][1] == [{"text": "No thanks"}]


@pytest.mark.parametrize("text", ["no", "No thanks", "nope", "no thank you"])
async def test_typing_no_at_the_consent_step_declines_as_the_button_does(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, store: SqliteStore, text: str
) -> None:
    await at_consent(ada, knowledge)
    before = len(transport.delivered)

    await ada.act(Typed(text))

    assert (await ada.session()).state == RESULT
    assert transport.texts(since=before) == [knowledge.text("lead.declined")]
    assert await store.all_leads() == []


async def test_other_text_at_the_consent_step_asks_again_above_the_same_two_buttons(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge
) -> None:
    await at_consent(ada, knowledge)
    before = len(transport.delivered)

    await ada.act(Typed("what do you do with it"))

    assert (await ada.session()).state == LEAD_CONSENT
    [asked] = transport.delivered[before:]
    assert asked.body["text"].startswith(knowledge.text("dialog.notice.reask"))
    assert "You've reached your result" not in asked.body["text"]
    labels = [row[0]["text"] for row in markup_of(asked)["inline_keyboard"]]
    assert labels == [knowledge.text("lead.consent_yes"), knowledge.text("lead.consent_no")]


async def test_a_mistyped_email_keeps_the_contact_keyboard_its_reply_names(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, conversation: Conversation
) -> None:
    await at_consent(ada, knowledge)
    await ada.tap(actions.CONSENT.code)
    before = len(transport.delivered)

    await ada.act(Typed("ada at example"))

    [said] = transport.delivered[before:]
    assert said.body["text"] == knowledge.text("lead.bad_email")  # "… or tap “No thanks”"
    presenter = conversation.presenter
    assert isinstance(presenter, TelegramPresenter)
    assert markup_of(said) == presenter.contact_keyboard()
    assert (await ada.session()).state == LEAD_CONTACT

    await ada.act(Typed("No thanks"))  # the keyboard's button

    assert (await ada.session()).state == RESULT
    assert markup_of(transport.delivered[-1]) == {"remove_keyboard": True}


@pytest.mark.parametrize("text", ["no", "nope"])
async def test_typing_no_at_the_contact_step_declines_and_takes_the_keyboard_away(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, text: str
) -> None:
    await at_consent(ada, knowledge)
    await ada.tap(actions.CONSENT.code)
    before = len(transport.delivered)

    await ada.act(Typed(text))

    assert (await ada.session()).state == RESULT
    assert transport.texts(since=before) == [knowledge.text("lead.declined")]
    assert markup_of(transport.delivered[-1]) == {"remove_keyboard": True}


async def test_a_stale_button_on_an_old_message_sends_the_current_question_anew_as_the_live_message(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversation_module, "DOUBLE_TAP_SECONDS", 0.0)  # a while later
    await ada.act(Begin())
    first = await ada.live()
    assert first is not None
    await ada.act(Typed("python"))  # typed: the next question comes as a new message
    await ada.act(Typed("payments"))
    old_live = await ada.live()
    assert old_live is not None
    before = len(transport.delivered)

    outcome = await ada.act(Tapped(0, "team", "javascript", first.message_id))

    assert outcome.toast == Notice("telegram.stale")
    assert (await ada.session()).answers == {"team": "python", "security": "payments"}
    sent, unbutton = transport.delivered[before:]
    assert (sent.kind, sent.live, unbutton.kind) == (SEND, True, UNBUTTON)
    assert "Question 3 of 9" in sent.body["text"]
    assert prompt_of(knowledge, "size") in sent.body["text"]
    assert unbutton.body["message_id"] == old_live.message_id
    live = await ada.live()
    assert live is not None and live.message_id == max(transport.screen)


async def test_a_stale_button_right_after_a_step_only_says_so(
    ada: Visitor, transport: FakeTransport
) -> None:
    await ada.act(Begin())
    first = await ada.live()
    assert first is not None
    await ada.act(Typed("python"))
    before = len(transport.delivered)

    outcome = await ada.act(Tapped(0, "team", "javascript", first.message_id))

    assert outcome.toast == Notice("telegram.stale")
    assert transport.delivered[before:] == []  # a double tap: the new screen is right below


async def test_an_old_consent_button_after_the_hand_off_shows_the_summary_anew(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversation_module, "DOUBLE_TAP_SECONDS", 0.0)
    await at_consent(ada, knowledge)
    consent = ada.button(actions.CONSENT.code)
    await ada.tap(actions.DECLINE.code)
    summary = await ada.live()
    assert summary is not None
    before = len(transport.delivered)

    outcome = await ada.act(consent)

    assert outcome.toast == Notice("telegram.stale")
    assert (await ada.session()).state == RESULT
    sent, unbutton = transport.delivered[before:]
    assert (sent.kind, sent.live) == (SEND, True)
    assert sent.body["text"] == transport.screen[summary.message_id]["text"]
    assert actions.LEAD.code in str(markup_of(sent))  # the summary's own buttons
    assert (unbutton.kind, unbutton.body["message_id"]) == (UNBUTTON, summary.message_id)


async def test_an_old_button_at_the_contact_step_asks_for_the_contact_again_with_its_keyboard(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversation_module, "DOUBLE_TAP_SECONDS", 0.0)
    await at_consent(ada, knowledge)
    consent = ada.button(actions.CONSENT.code)
    await ada.act(consent)
    before = len(transport.delivered)

    outcome = await ada.act(consent)  # "Yes, share" again

    assert outcome.toast == Notice("telegram.stale")
    assert (await ada.session()).state == LEAD_CONTACT
    [asked] = transport.delivered[before:]
    assert asked.body["text"] == knowledge.text("lead.ask_contact")
    assert "keyboard" in markup_of(asked)


async def test_someone_elses_contact_is_refused_and_the_share_button_it_names_stays(
    ada: Visitor, transport: FakeTransport, knowledge: Knowledge, store: SqliteStore
) -> None:
    await at_consent(ada, knowledge)
    await ada.tap(actions.CONSENT.code)
    before = len(transport.delivered)

    await ada.act(SharedContact("+15550001111", own=False))

    [said] = transport.delivered[before:]
    assert said.body["text"] == knowledge.text("lead.not_own_contact")  # "… the button below"
    assert markup_of(said)["keyboard"][0][0]["request_contact"] is True
    assert await store.all_leads() == []
