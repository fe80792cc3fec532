"""What the front ends make of the conversation's replies: Telegram messages and console text."""

from __future__ import annotations

from typing import Any

import pytest

from advisor import Knowledge, recommend
from advisor.session import RESULT, Session
from dialogs import actions as table
from dialogs.engine import DialogEngine
from dialogs.sharecode import ShareCodes
from dialogs.turns import Audience, Person, Say, Show, Unbutton
from dialogs.views import Consent, Finished, Notice
from frontends.console.chat import ConsolePresenter
from frontends.telegram.presenter import EDIT, PHOTO, SEND, UNBUTTON, TelegramPresenter, digest
from handoff import TELEGRAM, HandOff
from storage.base import Live, Outgoing

#: The sales chat: configured and checked ("working"), configured but failing its check
#: ("failing"), or not configured at all (None).
SalesChat = str | None
BIG_USER = 2**52
BIG_ROUND = 36**8 - 1


def telegram(engine: DialogEngine, *, sales_chat: SalesChat = "working") -> TelegramPresenter:
    """Built as frontends/telegram/app.py builds it."""
    hand_off = None
    if sales_chat is not None:
        hand_off = HandOff([TELEGRAM], unchecked=[TELEGRAM] if sales_chat == "working" else [])
    return TelegramPresenter(
        engine.knowledge,
        engine.welcome_values(),
        share_codes=ShareCodes(engine.knowledge, b"secret"),
        hand_off=hand_off,
    )


def audience(
    session: Session,
    *,
    live: Live | None = None,
    private: bool = True,
    user_id: int = 7,
    first_name: str = "Ada",
    full_name: str = "Ada Lovelace",
) -> Audience:
    chat_id = user_id if private else -500
    return Audience(Person(chat_id, user_id, first_name, full_name, private), session, live)


def at_question(engine: DialogEngine, question_id: str, **answers: str) -> Session:
    session = Session(state=f"q_{question_id}", answers=dict(answers))
    assert engine.current_question(session) is not None
    return session


def finished(complete: Any) -> Session:
    """A session at the result (a Django one)."""
    return Session(state=RESULT, answers=complete(team="python"))


def buttons(message: Outgoing) -> list[dict[str, Any]]:
    return [key for row in message.body["markup"]["inline_keyboard"] for key in row]


def actions(message: Outgoing) -> list[str]:
    decoded = [table.decode(key.get("callback_data")) for key in buttons(message)]
    return [press.action for press in decoded if press is not None]


# -- Telegram: questions -----------------------------------------------------------------------


def test_a_question_shows_progress_prompt_and_one_button_per_option(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = at_question(engine, "security", team="python")
    view = engine.view(session)
    [message] = telegram(engine).present([Show(view)], audience(session))
    assert (message.kind, message.live) == (SEND, True)
    assert "<b>Question 2 of 9</b>" in message.body["text"]
    question = knowledge.question("security")
    assert question is not None
    assert question.prompt in message.body["text"]
    labels = [key["text"] for key in buttons(message)]
    assert labels[: len(question.options)] == [o.label for o in question.options]
    assert actions(message) == [o.id for o in question.options] + ["<", "?", "!"]


def test_every_question_button_fits_telegrams_64_bytes_and_names_its_owner_and_round(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    presenter = telegram(engine)
    for question in knowledge.questions:
        session = at_question(engine, question.id, realtime="core")
        session.round = BIG_ROUND
        [message] = presenter.present(
            [Show(engine.view(session))], audience(session, user_id=BIG_USER)
        )
        for key in buttons(message):
            data = key["callback_data"]
            assert len(data.encode()) <= 64
            press = table.decode(data)
            assert press is not None
            assert (press.user_id, press.round, press.question) == (
                BIG_USER,
                BIG_ROUND,
                question.id,
            )


def test_the_option_chosen_earlier_is_marked(engine: DialogEngine) -> None:
    session = at_question(engine, "team", team="python", security="payments")
    [message] = telegram(engine).present([Show(engine.view(session))], audience(session))
    labels = [key["text"] for key in buttons(message)]
    assert labels[0] == "✓ Python"
    assert "JavaScript" in labels
    assert sum(label.startswith("✓") for label in labels) == 1


def test_the_welcome_goes_above_the_first_question_only_when_asked_for(
    engine: DialogEngine,
) -> None:
    session = at_question(engine, "team")
    presenter = telegram(engine)
    [welcomed] = presenter.present([Show(engine.view(session), welcome=True)], audience(session))
    [plain] = presenter.present([Show(engine.view(session))], audience(session))
    assert "Stack Advisor" in welcomed.body["text"]
    assert "Stack Advisor" not in plain.body["text"]
    assert plain.body["text"].startswith("<b>Question 1 of 9</b>")


def test_in_a_group_a_question_names_whose_it_is_with_the_name_escaped(
    engine: DialogEngine,
) -> None:
    session = at_question(engine, "team")
    who = audience(session, private=False, first_name="<Bob & Co>")
    [message] = telegram(engine).present([Show(engine.view(session))], who)
    assert "&lt;Bob &amp; Co&gt;, this one is for you." in message.body["text"]
    assert "<Bob" not in message.body["text"]


def test_html_in_a_users_name_is_escaped_in_the_consent_text(engine: DialogEngine) -> None:
    session = Session(state="lead_consent", answers={})
    who = audience(session, full_name='<b>Tom</b> & "Jerry"')
    [message] = telegram(engine).present([Show(Consent())], who)
    text = message.body["text"]
    assert '(&lt;b&gt;Tom&lt;/b&gt; &amp; "Jerry")' in text
    assert "<b>Tom" not in text
    assert actions(message) == ["consent", "decline"]


# -- Telegram: the live message ------------------------------------------------------------------


def test_showing_the_live_question_again_unchanged_edits_nothing(engine: DialogEngine) -> None:
    session = at_question(engine, "security", team="python")
    presenter = telegram(engine)
    [sent] = presenter.present([Show(engine.view(session))], audience(session))
    live = Live(42, sent.digest)
    assert sent.digest == digest(sent.body["text"], sent.body["markup"])

    again = presenter.present([Show(engine.view(session), edit=True)], audience(session, live=live))

    assert again == []


def test_showing_a_changed_question_edits_the_live_message(engine: DialogEngine) -> None:
    session = at_question(engine, "security", team="python")
    presenter = telegram(engine)
    [sent] = presenter.present([Show(engine.view(session))], audience(session))
    live = Live(42, sent.digest)

    engine.answer(session, "payments")
    [edit] = presenter.present(
        [Show(engine.view(session), edit=True)], audience(session, live=live)
    )

    assert (edit.kind, edit.live, edit.body["message_id"]) == (EDIT, True, 42)
    assert "Question 3 of 9" in edit.body["text"]
    assert edit.digest not in ("", sent.digest)


def test_a_new_question_message_takes_the_buttons_off_the_old_live_one(
    engine: DialogEngine,
) -> None:
    session = at_question(engine, "security", team="python")
    messages = telegram(engine).present(
        [Show(engine.view(session))], audience(session, live=Live(42, "old"))
    )
    assert [(m.kind, m.live) for m in messages] == [(SEND, True), (UNBUTTON, False)]
    assert messages[1].body == {"message_id": 42}


def test_unbutton_without_a_message_takes_the_buttons_off_the_live_one(
    engine: DialogEngine,
) -> None:
    session = at_question(engine, "team")
    presenter = telegram(engine)
    assert presenter.present([Unbutton()], audience(session)) == []
    [message] = presenter.present([Unbutton()], audience(session, live=Live(42, "x")))
    assert (message.kind, message.body) == (UNBUTTON, {"message_id": 42})


def test_a_short_message_takes_away_a_reply_keyboard(engine: DialogEngine) -> None:
    session = Session(state="lead_contact", answers={})
    [message] = telegram(engine).present([Say(Notice("lead.bad_email"))], audience(session))
    assert message.kind == SEND
    assert message.body["markup"] == {"remove_keyboard": True}
    assert "doesn't look like an e-mail address" in message.body["text"]


# -- Telegram: the result --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("private", "sales_chat", "has_expert"),
    [
        (True, "working", True),
        (False, "working", False),
        (True, None, False),
        (True, "failing", False),
    ],
    ids=["private-with-sales", "group", "no-sales-chat", "sales-chat-failing-its-check"],
)
def test_the_result_offers_share_and_start_over_and_an_expert_only_in_private_with_sales(
    engine: DialogEngine,
    complete: Any,
    private: bool,
    sales_chat: SalesChat,
    has_expert: bool,
) -> None:
    session = finished(complete)
    view = Finished(recommend(engine.knowledge, session.answers))
    messages = telegram(engine, sales_chat=sales_chat).present(
        [Show(view)], audience(session, private=private)
    )
    last = messages[-1]
    assert (last.kind, last.live) == (SEND, True)
    assert [m.kind for m in messages] == [PHOTO, SEND]  # the chart, then the summary
    assert "Recommendation: Django" in last.body["text"]
    share_row = last.body["markup"]["inline_keyboard"][2]
    assert share_row[0]["switch_inline_query"].startswith("r_")
    pages = ["d", "full", "ans"]
    assert actions(last) == ([*pages, "lead", "!"] if has_expert else [*pages, "!"])
    assert buttons(last)[-1]["text"] == "↺ Start over"


def test_the_result_after_the_last_answer_turns_the_live_question_into_a_done_line(
    engine: DialogEngine, complete: Any
) -> None:
    session = finished(complete)
    view = Finished(recommend(engine.knowledge, session.answers))
    messages = telegram(engine).present(
        [Show(view, edit=True)], audience(session, live=Live(42, "question"))
    )
    done = messages[0]
    assert (done.kind, done.live) == (EDIT, False)
    assert done.body == {
        "message_id": 42,
        "text": "✅ All answered — your recommendation is below.",
    }
    assert [m.live for m in messages[1:]] == [False] * (len(messages) - 2) + [True]


# -- the console ---------------------------------------------------------------------------------


def test_the_console_shows_a_question_with_numbered_options(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = at_question(engine, "team", team="python")
    [message] = ConsolePresenter(knowledge).present([Show(engine.view(session))], audience(session))
    lines = message.body["text"].splitlines()
    assert "Question 1 of 9" in lines
    assert "1. Python (your answer)" in lines
    assert "2. JavaScript" in lines
    question = knowledge.question("team")
    assert question is not None
    assert f"{len(question.options)}. {question.options[-1].label}" in lines


def test_the_console_shows_the_result_with_its_recommendation(
    engine: DialogEngine, knowledge: Knowledge, complete: Any
) -> None:
    session = finished(complete)
    view = Finished(recommend(knowledge, session.answers))
    [message] = ConsolePresenter(knowledge).present([Show(view)], audience(session))
    assert "Recommendation: Django" in message.body["text"]
    assert "<b>" not in message.body["text"]


def test_the_console_prints_nothing_for_screens_it_has_no_text_for(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = Session(state="lead_consent", answers={})
    assert ConsolePresenter(knowledge).present([Show(Consent())], audience(session)) == []
