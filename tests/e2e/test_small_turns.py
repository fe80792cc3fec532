"""End to end: the small turns of a conversation, understood the first time.

The real Application against the strict fake Bot API: the reply to "Did you mean A or B?" by
place, number or the start of a name (in every language); "yes" and "No thanks" typed at the
hand-off's consent; the contact keyboard kept while a reply names its buttons; and a stale
button that shows the current screen anew.
"""

from __future__ import annotations

import pytest

from advisor import Knowledge
from dialogs import conversation
from fake_telegram import BotUser, FakeTelegram
from tests.e2e.conftest import FINTECH, Office, all_text

EXPERT = "💬 Talk to an expert"


async def at_size(user: BotUser, knowledge: Knowledge) -> None:
    """Start, and answer the first two questions by tapping (the size question is next)."""
    await user.send_command("start")
    for question in ("team", "security"):
        asked = knowledge.question(question)
        assert asked is not None
        await user.press(asked.options[0].label)


async def at_consent(user: BotUser) -> None:
    """Answer every question, then ask for an expert: the consent is asked."""
    await user.send_command("start")
    for label in FINTECH:
        await user.press(label)
    await user.press(EXPERT)
    assert user.last_message().labels == ["Yes, share", "No thanks"]


def contact_keyboard(user: BotUser) -> list[list[str]]:
    """The labels of the reply keyboard shown in the user's chat ([] when there is none)."""
    keyboard = user.fake.reply_keyboard(user.chat) or {}
    return [[button["text"] for button in row] for row in keyboard.get("keyboard", [])]


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stale tap comes a while after the last step (not a double tap)."""
    monkeypatch.setattr(conversation, "DOUBLE_TAP_SECONDS", 0.0)


# -- "Did you mean A or B?" ----------------------------------------------------------------------


async def test_the_second_one_answers_did_you_mean_and_the_next_question_follows(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    ann = fake.user("Ann")
    await at_size(ann, knowledge)
    await ann.send_text("small or medium")
    assert ann.last_message().buttons[:2] == [["Small and simple"], ["Medium, it will grow"]]

    await ann.send_text("the second one")

    asked = ann.last_message()
    assert asked.text.startswith("Got it: Medium, it will grow.")
    assert "Question 4 of 9" in asked.text


async def test_a_number_answers_did_you_mean_with_that_choice_not_the_questions_option(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    ann = fake.user("Ann")
    await at_size(ann, knowledge)
    await ann.send_text("medium or large")
    assert ann.last_message().buttons[:2] == [["Medium, it will grow"], ["Large and complex"]]

    await ann.send_text("#1")

    assert ann.last_message().text.startswith("Got it: Medium, it will grow.")
    await ann.press("◀ Back")
    assert "✓ Medium, it will grow" in ann.last_message().labels


async def test_the_start_of_a_choices_name_answers_did_you_mean_in_russian(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    ru = knowledge.speaking("ru")
    deadline = ru.question("deadline")
    assert deadline is not None
    ivan = fake.user("Иван", language_code="ru")
    await ivan.send_command("start")
    for _ in ru.questions:
        if deadline.prompt in ivan.last_message().text:
            break
        await ivan.send_text("не знаю")
    await ivan.send_text("очень сжатые или обычные")
    assert ivan.last_message().buttons[:2] == [["Очень сжатые"], ["Обычные"]]

    await ivan.send_text("очень")

    assert ru.text("dialog.notice.got_it", answer="Очень сжатые") in all_text(ivan)
    assert ru.text("telegram.button.start_over") in ivan.last_message().labels  # the result


@pytest.mark.parametrize(
    ("language", "offer", "reply", "meant"),
    [
        ("es", "pequeño o mediano", "la segunda", "Mediana, va a crecer"),
        ("pt", "pequeno ou médio", "a primeira", "Pequeno e simples"),
        ("ru", "маленькое или среднее", "второй вариант", "Среднее, будет расти"),
    ],
)
async def test_a_place_answers_did_you_mean_in_every_language(
    fake: FakeTelegram,
    bot: object,
    knowledge: Knowledge,
    language: str,
    offer: str,
    reply: str,
    meant: str,
) -> None:
    spoken = knowledge.speaking(language)
    ana = fake.user("Ana", language_code=language)
    await at_size(ana, spoken)
    await ana.send_text(offer)
    assert len(ana.last_message().buttons) == 3  # the two choices, then Back / Why / Restart

    await ana.send_text(reply)

    asked = ana.last_message()
    assert asked.text.startswith(spoken.text("dialog.notice.got_it", answer=meant))
    assert spoken.text("dialog.progress", step=4, steps=9) in asked.text


# -- the consent to the hand-off, typed ----------------------------------------------------------


@pytest.mark.parametrize("typed", ["Yes, share", "yes"])
async def test_typing_yes_at_the_consent_step_asks_for_the_contact_with_its_keyboard(
    office: Office, typed: str
) -> None:
    ann = office.fake.user("Ann")
    await at_consent(ann)

    await ann.send_text(typed)

    assert "How can the expert reach you?" in ann.last_message().text
    assert contact_keyboard(ann) == [["📱 Share my phone number"], ["No thanks"]]
    assert "You've reached your result" not in all_text(ann)
    await ann.send_text("ann@example.com")
    assert "Thank you! An expert will contact you soon." in ann.last_message().text
    assert office.rows("SELECT contact FROM leads") == [("ann@example.com",)]


@pytest.mark.parametrize("typed", ["No thanks", "no"])
async def test_typing_no_thanks_at_the_consent_step_declines(office: Office, typed: str) -> None:
    ann = office.fake.user("Ann")
    await at_consent(ann)

    await ann.send_text(typed)

    assert ann.last_message().text == "No problem — nothing was shared."
    assert "You've reached your result" not in all_text(ann)
    assert office.rows("SELECT count(*) FROM leads") == [(0,)]


async def test_after_a_mistyped_email_the_keyboard_it_names_is_still_there_and_works(
    office: Office,
) -> None:
    ann = office.fake.user("Ann")
    await at_consent(ann)
    await ann.press("Yes, share")

    await ann.send_text("ann at example")

    assert "tap “No thanks”" in ann.last_message().text
    assert contact_keyboard(ann) == [["📱 Share my phone number"], ["No thanks"]]
    await ann.press("No thanks")  # the reply keyboard's button, as named
    assert ann.last_message().text == "No problem — nothing was shared."
    assert office.fake.reply_keyboard(ann.chat) is None
    assert office.rows("SELECT count(*) FROM leads") == [(0,)]


async def test_after_a_mistyped_email_the_phone_button_still_shares_the_number(
    office: Office,
) -> None:
    ann = office.fake.user("Ann")
    await at_consent(ann)
    await ann.press("Yes, share")
    await ann.send_text("ann@")

    await ann.press("📱 Share my phone number")

    assert "Thank you! An expert will contact you soon." in ann.last_message().text
    assert office.rows("SELECT contact FROM leads") == [(ann.phone,)]


# -- stale buttons --------------------------------------------------------------------------------


async def test_a_stale_button_sends_the_current_question_anew_below(
    fake: FakeTelegram, bot: object, later: None
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    old = ann.last_message()
    data = old.raw.inline_keyboard[1][0]["callback_data"]  # type: ignore[union-attr]
    await ann.send_text("python")  # typed: each next question comes as a new message
    await ann.send_text("payments")
    before = ann.last_message()
    assert "Question 3 of 9" in before.text
    await ann.send_sticker()  # something else below the question now

    calls = await ann.press_data(old.message_id, data)

    [answered] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "Here is where you are now" in answered.params["text"]
    shown = ann.last_message()
    assert shown.message_id != before.message_id and "Question 3 of 9" in shown.text
    assert "Medium, it will grow" in shown.labels
    old_question = fake.message(ann.chat, before.message_id)
    assert old_question is not None and old_question.button_labels == []
    await ann.press("Medium, it will grow")
    assert "Question 4 of 9" in ann.last_message().text


async def test_an_old_consent_button_after_the_hand_off_shows_the_result_summary_anew(
    office: Office, later: None
) -> None:
    ann = office.fake.user("Ann")
    await at_consent(ann)
    consent = ann.last_message()
    summary = ann.messages()[-2]
    assert EXPERT in summary.labels
    await ann.send_text("yes")  # typed: the consent's buttons stay on its message, above
    await ann.send_text("ann@example.com")
    assert "Thank you!" in ann.last_message().text
    yes = consent.raw.inline_keyboard[0][0]["callback_data"]  # type: ignore[union-attr]

    calls = await ann.press_data(consent.message_id, yes)

    [answered] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "Here is where you are now" in answered.params["text"]
    shown = ann.last_message()
    assert shown.message_id > summary.message_id
    assert shown.text == summary.text and EXPERT in shown.labels
    old = office.fake.message(ann.chat, summary.message_id)
    assert old is not None and old.button_labels == []
    assert office.rows("SELECT count(*) FROM leads") == [(1,)]
