"""Typed answers in Telegram: confirmed, clarified with two buttons, skip and bye."""

from __future__ import annotations

from fake_telegram import FakeTelegram
from tests.e2e.conftest import all_text


async def test_a_typed_answer_is_confirmed_above_the_next_question(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.send_text("we have two python developers")
    question = ann.last_message()
    assert question.text.startswith("Got it: Python.")
    assert "Question 2 of 9" in question.text


async def test_unclear_text_is_answered_with_two_buttons_and_one_tap_answers(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    await ann.press("Nothing sensitive")
    await ann.send_text("small or medium")
    asked = ann.last_message()
    assert "Did you mean “Small and simple” or “Medium, it will grow”?" in asked.text
    assert asked.buttons[:2] == [["Small and simple"], ["Medium, it will grow"]]
    await ann.press("Medium, it will grow")
    assert "Question 4 of 9" in ann.last_message().text


async def test_skip_shows_the_result_now(fake: FakeTelegram, bot: object) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    await ann.send_text("just tell me what to use")
    text = all_text(ann)
    assert "counted the questions you skipped" in text
    assert "Recommendation: Django" in text


async def test_thanks_bye_says_goodbye_and_takes_the_buttons_away(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    await ann.send_text("thanks, bye")
    assert "Bye for now" in ann.last_message().text
    assert all(not m.buttons for m in ann.messages())
    await ann.send_command("start")
    assert "Question 2 of 9" in ann.last_message().text
