"""End to end: the real Application, driven like a user, against the strict fake Bot API."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from dialogs import actions
from fake_telegram import FakeTelegram
from settings import Settings
from tests.e2e.conftest import FINTECH, MakeSettings, all_text, finish, running

CRITERIA = ("Community", "Scalability", "Architecture", "Security", "Usability", "Performance")


def question_of(text: str) -> str:
    """The 'Question N of M' line of a question message."""
    return next(line for line in text.splitlines() if line.startswith("Question "))


async def test_start_greets_and_asks_the_first_question_with_buttons(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    message = ann.last_message()
    assert "Stack Advisor" in message.text
    assert "9 short questions" in message.text
    assert "Question 1 of 9" in message.text
    assert message.buttons[0] == ["Python"]
    assert message.buttons[-1] == ["❓ Why do we ask?", "↺ Restart"]


async def test_a_full_dialog_by_buttons_ends_in_a_django_summary_with_a_chart(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    text = all_text(ann)
    assert "Recommendation: Django\nA clear lead." in text
    for name in CRITERIA:
        assert f"• {name} (" in text, "the article's names, each with a plain gloss"
    assert "It would" in text and "Who to hire:" in text
    assert [m.kind for m in ann.messages()] == ["text", "photo", "text"]
    assert ann.last_message().labels[-1] == "↺ Start over"
    assert fake.unanswered_callback_queries() == []


async def test_answering_edits_the_same_message_into_the_next_question(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    first = ann.last_message().message_id
    await ann.press("Python")
    await ann.press("Nothing sensitive")
    assert ann.last_message().message_id == first
    assert "Question 3 of 9" in ann.last_message().text
    assert len(ann.messages()) == 1


async def test_a_full_dialog_by_typed_answers_with_typos_reaches_the_result(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    for typed in ["pyhton", "payments", "large", "one app", "no", "2", "somewhat", "built in"]:
        await ann.send_text(typed)
    await ann.send_text("Normal")
    assert "Recommendation: Django" in all_text(ann)


async def test_unclear_typed_text_re_asks_with_the_options(fake: FakeTelegram, bot: object) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.send_text("purple elephants")
    message = ann.last_message()
    assert "didn't catch that" in message.text
    assert "Question 1 of 9" in message.text
    assert "Python" in message.labels


async def test_back_returns_to_the_previous_question_with_the_answer_marked(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("JavaScript")
    await ann.press("◀ Back")
    message = ann.last_message()
    assert "Question 1 of 9" in message.text
    assert "✓ JavaScript" in message.labels


async def test_back_command_and_restart_command_work_mid_dialog(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    await ann.press("Nothing sensitive")
    await ann.send_command("back")
    assert "Question 2 of 9" in ann.last_message().text
    await ann.send_command("restart")
    message = ann.last_message()
    assert "start over" in message.text
    assert "Question 1 of 9" in message.text
    assert "✓ Python" not in message.labels


async def test_why_explains_the_question_and_keeps_the_user_on_it(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("❓ Why do we ask?")
    assert "Why we ask:" in ann.last_message().text
    await ann.press("❓ Why do we ask?")  # same content again: no "not modified" crash
    assert "Question 1 of 9" in ann.last_message().text
    assert fake.unanswered_callback_queries() == []


async def test_a_button_from_an_earlier_question_changes_nothing_and_says_so(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    first = ann.last_message()
    python_button = first.raw.inline_keyboard[0][0]["callback_data"]  # type: ignore[union-attr]
    await ann.press("JavaScript")
    calls = await ann.press_data(first.message_id, python_button)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers and "Already noted" in answers[0].params.get("text", "")
    await ann.press("◀ Back")
    assert "✓ JavaScript" in ann.last_message().labels


async def test_a_button_on_an_old_message_answers_politely_and_shows_where_the_user_is(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    old = ann.last_message()
    data = old.raw.inline_keyboard[1][0]["callback_data"]  # type: ignore[union-attr]
    await ann.send_text("python")  # typed: the next question arrives as a new message
    await ann.send_text("payments")
    calls = await ann.press_data(old.message_id, data)
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "earlier question" in answered[0].params["text"]
    assert "Question 3 of 9" in ann.last_message().text


async def test_a_double_tap_counts_once(fake: FakeTelegram, bot: object) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    message = ann.last_message()
    data = message.raw.inline_keyboard[0][0]["callback_data"]  # type: ignore[union-attr]
    await asyncio.gather(
        ann.press_data(message.message_id, data), ann.press_data(message.message_id, data)
    )
    assert "Question 2 of 9" in ann.last_message().text
    assert fake.unanswered_callback_queries() == []


@pytest.mark.parametrize("data", ["garbage", "1|zz|0|team|python|extra", "2|1|0|team|x", "x" * 64])
async def test_a_forged_callback_is_ignored_with_a_short_notice(
    fake: FakeTelegram, bot: object, data: str
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    before = ann.last_message()
    calls = await ann.press_data(before.message_id, data)
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answered and "can't use that button" in answered[0].params["text"]
    assert ann.last_message() == before


async def test_a_sticker_mid_dialog_gets_a_hint_and_the_state_is_unchanged(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    for send in (ann.send_sticker, ann.send_photo, ann.send_voice, ann.send_location):
        await send()
        assert "buttons" in ann.last_message().text
    await ann.edit_message("changed my mind")
    assert "edited" in ann.last_message().text
    await ann.press("Nothing sensitive")
    assert "Question 3 of 9" in ann.messages()[0].text


async def test_help_about_cancel_and_unknown_commands_answer(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("help")
    assert "/restart" in ann.last_message().text
    await ann.send_command("about")
    assert "Django vs. Node.js: Which Is Better?" in ann.last_message().text
    await ann.send_command("teleport")
    assert "don't know that command" in ann.last_message().text
    await ann.send_command("start")
    await ann.press("Python")
    await ann.send_command("cancel")
    assert "answers are kept" in ann.last_message().text
    await ann.send_command("start")
    assert "Question 2 of 9" in ann.last_message().text


async def test_the_command_menu_is_set_at_start_up(fake: FakeTelegram, bot: object) -> None:
    names = [c["command"] for c in fake.commands()]
    assert names == ["start", "back", "restart", "cancel", "help", "about", "forget", "language"]


async def test_a_failing_command_menu_call_is_logged_and_the_bot_runs_on(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.fail_next("setMyCommands", status=500)
    async with running(make_settings(), knowledge):  # type: ignore[arg-type]
        ann = fake.user("Ann")
        await ann.send_command("start")
        assert "Question 1 of 9" in ann.last_message().text
    assert "could not set the command menu" in caplog.text


async def test_two_users_at_once_do_not_mix_their_answers(fake: FakeTelegram, bot: object) -> None:
    ann, bob = fake.user("Ann"), fake.user("Bob")
    js = [
        "JavaScript",
        "Nothing sensitive",
        "Small and simple",
        "Many small services",
        "Yes, they are the core",
        "Chat or messaging",
        "No, it's light",
        "A lot",
        "Freedom to customise",
        "Relaxed",
    ]
    await asyncio.gather(finish(ann), finish(bob, js))
    assert "Recommendation: Django" in all_text(ann)
    assert "Recommendation: Node.js" in all_text(bob)


async def test_in_a_group_each_member_has_their_own_quiz(fake: FakeTelegram, bot: object) -> None:
    group = fake.group("Founders")
    ann, bob = fake.user("Ann", chat=group), fake.user("Bob", chat=group)
    await ann.send_command("start")
    anns_question = ann.last_message()
    assert "Ann, this one is for you." in anns_question.text
    calls = await bob.press("Python", in_message=anns_question.message_id)
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "This is Ann's quiz" in answered[0].params["text"]
    assert fake.message(group, anns_question.message_id).visible_text == anns_question.text  # type: ignore[union-attr]
    await bob.send_command("start")
    await bob.press("JavaScript")
    await ann.press("Python", in_message=anns_question.message_id)
    assert "Question 2 of 9" in fake.message(group, anns_question.message_id).visible_text  # type: ignore[union-attr]


async def test_an_injected_429_is_waited_out_and_retried(fake: FakeTelegram, bot: object) -> None:
    ann = fake.user("Ann", timeout=10)
    await ann.send_command("start")
    fake.fail_next("editMessageText", status=429, retry_after=1)
    await ann.press("Python")  # the tap is answered at once; the edit waits out the 429
    await fake.wait_for(
        lambda: "Question 2 of 9" in ann.last_message().text, timeout=5, what="the retried edit"
    )
    edits = [c for c in fake.calls_to("editMessageText")]
    assert [c.status for c in edits][-2:] == [429, 200]


async def test_an_injected_500_is_tried_again_and_the_dialog_goes_on(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    fake.fail_next("editMessageText", status=500)
    await ann.press("Python")
    await fake.wait_for(
        lambda: "Question 2 of 9" in ann.messages()[0].text, timeout=5, what="the retried edit"
    )
    assert "answers are saved" not in all_text(ann)
    await ann.press("Nothing sensitive")
    assert "Question 3 of 9" in ann.messages()[0].text
    assert fake.unanswered_callback_queries() == []


async def test_when_telegram_keeps_failing_the_user_is_told_and_the_screen_catches_up(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann", timeout=10)
    await ann.send_command("start")
    fake.fail_next("editMessageText", status=500, times=3)
    await ann.press("Python")
    await fake.wait_for(
        lambda: "answers are saved" in ann.last_message().text, timeout=8, what="the apology"
    )
    question = ann.messages()[0].message_id
    # The edit never got through, so the user taps the old screen's button again (unless the
    # bot's periodic retry has already caught up): the owed screen is delivered either way.
    await ann.press_data(question, actions.encode(ann.id, 0, "team", "python"))
    assert "Question 2 of 9" in ann.messages()[0].text, "the owed screen arrives"
    await ann.press("Nothing sensitive", in_message=question)
    assert "Question 3 of 9" in ann.messages()[0].text
    assert fake.unanswered_callback_queries() == []


async def test_polling_survives_server_errors_on_get_updates(
    fake: FakeTelegram, bot: object
) -> None:
    fake.fail_next("getUpdates", status=500, times=2)
    ann = fake.user("Ann", timeout=15)
    await ann.send_command("start")
    assert "Question 1 of 9" in ann.last_message().text


async def test_a_deep_link_source_is_stored_and_an_invalid_one_ignored(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: object
) -> None:
    admin = fake.user("Alice")
    settings: Settings = make_settings(ADMIN_IDS=str(admin.id))
    async with running(settings, knowledge):  # type: ignore[arg-type]
        await admin.send_command("link", "spring_webinar")
        ann, bob, cleo = fake.user("Ann"), fake.user("Bob"), fake.user("Cleo")
        await ann.send_command("start", "spring_webinar")
        await bob.send_command("start", "bad!payload")
        await cleo.send_command("start", "never_made_with_link")
        assert "Question 1 of 9" in bob.last_message().text
        assert "Question 1 of 9" in cleo.last_message().text
    with sqlite3.connect(settings.state_db) as db:
        rows = dict(db.execute("SELECT user_id, json_extract(data, '$.src') FROM sessions"))
    assert rows == {ann.id: "spring_webinar", bob.id: None, cleo.id: None}


async def test_fintech_answers_are_the_ones_listed(fake: FakeTelegram, bot: object) -> None:
    ann = fake.user("Ann")
    await finish(ann, FINTECH)
    assert "You handle payments" in all_text(ann)


async def test_text_after_the_result_gets_a_hint_without_repeating_the_result(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    count = len(ann.messages())
    await ann.send_text("thanks!")
    assert "You've reached your result" in ann.last_message().text
    assert len(ann.messages()) == count + 1
    await ann.send_text("back")
    assert "Question 9 of 9" in ann.last_message().text
    assert "✓ Normal" in ann.last_message().labels


async def test_a_corrupt_stored_session_starts_over_with_a_message(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: object
) -> None:
    settings: Settings = make_settings()
    async with running(settings, knowledge):  # type: ignore[arg-type]
        ann = fake.user("Ann")
        await ann.send_command("start")
        await ann.press("Python")
        with sqlite3.connect(settings.state_db) as db:
            db.execute('UPDATE sessions SET data = \'{"v": 0, "garbage": true}\'')
        await ann.press("Nothing sensitive")
        message = ann.last_message()
        assert "couldn't restore your earlier answers" in message.text
        assert "Question 1 of 9" in message.text
        await ann.press("JavaScript")
        assert "Question 2 of 9" in ann.last_message().text
