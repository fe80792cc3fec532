"""End to end: the result at a glance — summary and chart first, details, the full report,
"What if…" and "See my result now" by buttons, against the strict fake Bot API."""

from __future__ import annotations

import pytest

from advisor import Knowledge
from fake_telegram import FakeTelegram
from fake_telegram.client import BotMessage, BotUser
from tests.e2e.conftest import FINTECH, finish

CRITERIA = ("Community", "Scalability", "Architecture", "Security", "Usability", "Performance")
PNG = b"\x89PNG\r\n\x1a\n"
SCREEN = 1000
DETAILS, REPORT, ANSWERS = "🔍 Details", "📄 Full report", "✏️ Your answers · What if…"
SUMMARY = "◀ Back to the summary"
OWN = "Beyond the article"
#: A close call: one answer tips it either way.
CLOSE_CALL = [
    "Both",
    "Nothing sensitive",
    "Large and complex",
    "One application",
    "No live features",
    "Some reports",
    "A lot",
    "Freedom to customise",
    "Normal",
]
#: One typed "not sure" for every question: the summary of someone who knows nothing yet.
NOT_SURE = ["not sure"] * 9


def summary_of(user: BotUser) -> BotMessage:
    """The message with the result's buttons (the summary, or a page edited into it)."""
    found = [m for m in user.messages() if DETAILS in m.labels or SUMMARY in m.labels]
    assert found, [m.text[:40] for m in user.messages()]
    return found[-1]


async def new_messages(user: BotUser, before: list[BotMessage]) -> list[BotMessage]:
    """The messages that are new or changed since ``before``."""
    return [m for m in user.messages() if m not in before]


@pytest.mark.parametrize("typed", [False, True], ids=["buttons", "typed"])
@pytest.mark.parametrize(
    "answers",
    [FINTECH, NOT_SURE, ["JavaScript", "No", "Small", "Microservices", "Yes", "Chat", "No"]],
    ids=["fintech", "not-sure", "chat-app"],
)
async def test_the_first_result_is_one_screen_of_text_and_a_chart(
    fake: FakeTelegram, bot: object, answers: list[str], typed: bool
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")

    async def give(answer: str) -> None:
        """Tap the answer's button where there is one (unless typing), else type it."""
        if not typed and answer in ann.last_message().labels:
            await ann.press(answer)
        else:
            await ann.send_text(answer)

    for answer in answers[:-1]:
        await give(answer)
    before = ann.messages()
    await give(answers[-1])
    while "Recommendation:" not in ann.last_message().text:  # a follow-up question came
        before = ann.messages()
        await give("not sure")
    fresh = await new_messages(ann, before)
    seen = sum(len(m.text) for m in fresh if m.kind == "text")
    assert seen <= SCREEN, [m.text for m in fresh]
    photos = [m for m in fresh if m.kind == "photo"]
    assert len(photos) == 1
    [upload] = fake.uploads
    assert upload.data is not None and upload.data.startswith(PNG)
    result = ann.last_message()
    assert result.text.startswith("Recommendation: ")
    assert {DETAILS, REPORT, ANSWERS, "📤 Share", "↺ Start over"} <= set(result.labels)


async def test_when_sending_the_chart_fails_the_summary_still_arrives(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    fake.fail_next("sendPhoto", status=500, times=5)
    await finish(ann)
    assert [m.kind for m in ann.messages()] == ["text", "text"]
    assert ann.last_message().text.startswith("Recommendation: Django")
    assert "Sorry, something went wrong" not in "\n".join(m.text for m in ann.messages())
    assert fake.unanswered_callback_queries() == []


async def test_every_criterion_and_the_full_report_are_reachable_by_buttons(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    summary = summary_of(ann)
    await ann.press(DETAILS)
    menu = summary_of(ann)
    assert menu.message_id == summary.message_id, "details are edited in place"
    # The article's own names, one name each; then the advisor's own rules (they gave points).
    assert menu.labels == [*CRITERIA, OWN, SUMMARY]
    for number, title in enumerate(CRITERIA, start=1):
        if number == 1:
            await ann.press(title)
        else:
            await ann.press("Next ▶")
        page = summary_of(ann)
        assert page.message_id == summary.message_id
        assert page.text.startswith(f"{number}. {title} (")
        assert "The article: “" in page.text
        assert "Next ▶" in page.labels
    await ann.press("Next ▶")
    own = summary_of(ann)
    assert own.text.startswith("7. Beyond the article: my own rules")
    assert "• Team's language, beyond the article: +3 for Django" in own.text
    assert "Next ▶" not in own.labels and "◀ Previous" in own.labels
    await ann.press(SUMMARY)
    assert summary_of(ann).text == summary.text
    count = len(ann.messages())
    await ann.press(REPORT)
    report = ann.messages()[count:]
    assert 1 <= len(report) <= 3
    text = "\n".join(m.text for m in report)
    for title in CRITERIA:
        assert title in text
    # The buttons under the summary stay where they were.
    assert {"📤 Share", "↺ Start over"} <= set(summary_of(ann).labels)
    assert fake.unanswered_callback_queries() == []


async def test_what_if_shows_the_new_result_and_keeping_it_sends_a_new_summary(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    summary = summary_of(ann)
    await ann.press(ANSWERS)
    answers = summary_of(ann)
    assert answers.message_id == summary.message_id
    assert "1. Team's language: Python" in answers.text
    assert "9. Deadline: Normal" in answers.text
    await ann.press("1. Team's language")
    revising = summary_of(ann)
    assert "What if you answered differently?" in revising.text
    assert "✓ Python" in revising.labels
    javascript = next(label for label in revising.labels if label.startswith("JavaScript"))
    await ann.press(javascript)
    preview = summary_of(ann)
    assert preview.text.startswith("If you answered “JavaScript” to “Team's language”:")
    assert "Recommendation:" in preview.text
    await ann.press("✏️ Try another answer")
    assert "What if you answered differently?" in summary_of(ann).text
    await ann.press(javascript)
    photos = len([m for m in ann.messages() if m.kind == "photo"])
    await ann.press("✅ Keep this answer")
    assert len([m for m in ann.messages() if m.kind == "photo"]) == photos + 1
    new = summary_of(ann)
    assert new.message_id != summary.message_id
    assert new.text.startswith("Recommendation: ")
    await ann.press(ANSWERS)
    assert "1. Team's language: JavaScript" in summary_of(ann).text
    assert fake.unanswered_callback_queries() == []


async def test_going_back_from_what_if_keeps_the_result_as_it_was(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann, CLOSE_CALL)
    summary = summary_of(ann)
    assert summary.text.startswith("Recommendation: Either")
    await ann.press(ANSWERS)
    suggestion = summary_of(ann).buttons[0][0]
    assert suggestion.startswith("Team's language: “Python” → Django")
    await ann.press(suggestion)  # the change that matters most, tried at once
    assert summary_of(ann).text.startswith("If you answered")
    await ann.press(SUMMARY)
    assert summary_of(ann).text == summary.text
    assert summary_of(ann).message_id == summary.message_id


async def test_see_my_result_now_appears_once_the_rest_cannot_change_the_advice(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    for label in FINTECH:
        if "⏩ See my result now" in ann.last_message().labels:
            break
        await ann.press(label)
    question = ann.last_message()
    assert "⏩ See my result now" in question.labels, "a strong start settles the advice"
    assert "my advice stays Django" in question.text
    await ann.press("⏩ See my result now")
    assert ann.last_message().text.startswith("Recommendation: Django")
    assert any("could not change my advice" in m.text for m in ann.messages())


async def test_a_result_button_after_start_over_gets_a_polite_answer_and_changes_nothing(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    summary = summary_of(ann)
    assert summary.raw is not None
    details = next(
        b["callback_data"]
        for row in summary.raw.inline_keyboard
        for b in row
        if b["text"] == DETAILS
    )
    await ann.press("↺ Start over")
    calls = await ann.press_data(summary.message_id, details)
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answered and "earlier" in answered[0].params["text"]
    assert "Question 1 of 9" in ann.last_message().text


async def test_why_on_the_result_explains_it_and_leads_back_to_the_same_summary(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    summary = summary_of(ann)
    await ann.send_text("why?")
    why = ann.last_message()
    assert why.text.startswith("Why Django?")
    assert (
        "Points: Django " in why.text and "• Security: +4, because you handle payments" in why.text
    )
    assert "reached your result" not in why.text
    assert why.labels == [DETAILS, SUMMARY]
    await ann.press(SUMMARY)
    assert summary_of(ann).text == summary.text, "the same screen every time"
    await ann.send_text("help")
    help_ = ann.last_message().text
    assert "“why” (why this result)" in help_ and "“details 4”" in help_
    assert "“skip”" not in help_ and "(the question before)" not in help_
    assert fake.unanswered_callback_queries() == []


async def test_about_lists_every_rule_of_the_advisors_own_from_the_data(
    fake: FakeTelegram, bot: object, knowledge: Knowledge
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("about")
    about = ann.last_message().text
    assert "Community, Scalability, Architecture, Security, Usability, Performance" in about
    for reason in knowledge.own_reasons:
        assert f"• {reason.name}: " in about
    given = [(o.label, f.points) for q in knowledge.questions for o in q.options for f in o.fits]
    assert len(given) >= 7
    for label, points in given:
        assert f"“{label}”: +{points} for " in about
