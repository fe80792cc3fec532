"""End to end: tracked links, shared results, lead hand-off, statistics, export and /forget."""

from __future__ import annotations

import csv
import io

import pytest
import zxingcpp
from PIL import Image

from fake_telegram import BotUser, FakeTelegram
from tests.e2e.conftest import FINTECH, Office, all_text, finish, last_text

BOT_LINK = "https://t.me/stack_advisor_test_bot?start="


def result_button(user: BotUser, label: str) -> dict[str, object]:
    message = user.last_message().raw
    assert message is not None
    return next(b for row in message.inline_keyboard for b in row if b["text"] == label)


# -- tracked links ---------------------------------------------------------------------------


async def test_an_admin_makes_a_tracked_link_with_a_qr_code_of_it(office: Office) -> None:
    await office.admin.send_command("link", "spring_webinar")
    link_text, png, _svg = office.admin.messages()[-3:]
    assert f"{BOT_LINK}spring_webinar" in link_text.text
    assert png.raw is not None and png.raw.document is not None
    assert png.raw.document.data is not None
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.raw.document.data)))
    assert [code.text for code in decoded] == [f"{BOT_LINK}spring_webinar"]


@pytest.mark.parametrize("name", ["spring webinar", "r_sneaky", "x" * 65, "über"])
async def test_an_invalid_link_name_gets_a_clear_message(office: Office, name: str) -> None:
    await office.admin.send_command("link", name)
    assert "can't be used" in office.admin.last_message().text


async def test_link_without_a_name_explains_how_to_use_it(office: Office) -> None:
    await office.admin.send_command("link")
    assert "/link spring_webinar" in office.admin.last_message().text


@pytest.mark.parametrize("command", ["link", "links", "stats", "export", "leads"])
async def test_admin_commands_look_unknown_to_everyone_else(office: Office, command: str) -> None:
    bob = office.fake.user("Bob")
    await bob.send_command(command, "x" if command == "link" else None)
    assert "don't know that command" in bob.last_message().text
    assert office.fake.uploads == [] or all(m.kind == "text" for m in bob.messages())


# -- statistics ------------------------------------------------------------------------------


async def test_a_tracked_link_is_counted_from_start_to_finish_in_stats(office: Office) -> None:
    await office.admin.send_command("link", "spring_webinar")
    ann = office.fake.user("Ann")
    await ann.send_command("start", "spring_webinar")
    for label in FINTECH:
        await ann.press(label)
    await office.admin.send_command("stats")
    stats = last_text(office.admin)
    assert "Last 7 days" in stats and "Last 30 days" in stats
    assert "spring_webinar: 1 started, 1 finished (100%), 0 shared, 0 leads" in stats
    assert "Overall: 1 started, 1 finished (100%)" in stats
    assert "Recommendations: Django 1" in stats


async def test_stats_show_the_question_where_unfinished_dialogs_stand(office: Office) -> None:
    await office.admin.send_command("link", "ads")
    for name in ("Bob", "Cleo"):
        user = office.fake.user(name)
        await user.send_command("start", "ads")
        await user.press("Python")
        await user.press("Nothing sensitive")
    dan = office.fake.user("Dan")
    await dan.send_command("start")
    await office.admin.send_command("stats")
    stats = last_text(office.admin)
    assert "Most abandoned question: “How big and complex" in stats
    assert "(2 unfinished)" in stats
    assert "ads: 2 started, 0 finished (0%)" in stats


# -- sharing ---------------------------------------------------------------------------------


async def test_a_shared_card_reproduces_the_same_result_for_a_second_user(office: Office) -> None:
    ann, bob = office.fake.user("Ann"), office.fake.user("Bob")
    await finish(ann)
    code = result_button(ann, "📤 Share")["switch_inline_query"]
    assert isinstance(code, str) and code.startswith("r_") and len(code) <= 64
    await ann.inline_query(code)
    [card] = ann.inline_results()
    assert card["title"] == "Stack recommendation: Django"
    content = card["input_message_content"]["message_text"]
    assert "Someone shared their Stack Advisor result with you." in content
    assert "<b>Recommendation: Django</b>" in content
    assert "They told us they handle payments" in content
    assert "your team" not in content.lower()
    url = card["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert url == BOT_LINK + code
    await bob.send_command("start", code)
    [anns_result] = [m.text for m in ann.messages() if "Recommendation:" in m.text]
    [bobs_result] = [m.text for m in bob.messages() if "Recommendation:" in m.text]
    # Bob sees Ann's result, the same verdict and criteria, told about her ("they").
    assert bobs_result.startswith("Someone shared their Stack Advisor result with you.")
    assert anns_result.split("\n\n")[0] in bobs_result
    assert "They told us" in bobs_result and "They told us" not in anns_result
    points = next(line for line in anns_result.splitlines() if "Points:" in line)
    assert points in bobs_result, "the same ledger, told about her"
    assert "Take the quiz" in bobs_result
    assert [m.kind for m in bob.messages()] == ["photo", "text"]
    await bob.press("▶ Take the quiz yourself")
    assert "Question 1 of 9" in bob.last_message().text
    await office.admin.send_command("stats")
    assert "1 shared" in last_text(office.admin)


@pytest.mark.parametrize("payload", ["r_1abcdefghijkl", "r_", "r_1zzzzzz!"])
async def test_a_tampered_share_link_gets_a_friendly_message_and_the_quiz(
    office: Office, payload: str
) -> None:
    bob = office.fake.user("Bob")
    await bob.send_command("start", payload)
    message = bob.last_message()
    assert "doesn't work any more" in message.text
    await bob.press("▶ Take the quiz yourself")
    assert "Question 1 of 9" in bob.last_message().text


async def test_an_empty_inline_query_offers_an_invitation(office: Office) -> None:
    bob = office.fake.user("Bob")
    await bob.inline_query("")
    [card] = bob.inline_results()
    assert card["title"] == "Try Stack Advisor"


# -- hand-off to an expert -------------------------------------------------------------------


async def test_a_lead_shares_their_phone_with_the_contact_button(office: Office) -> None:
    await office.admin.send_command("link", "spring_webinar")
    ann = office.fake.user("Ann")
    await ann.send_command("start", "spring_webinar")
    for label in FINTECH:
        await ann.press(label)
    await ann.press("💬 Talk to an expert")
    consent = ann.last_message().text
    assert "your name (Ann" in consent and "your answers" in consent
    await ann.press("Yes, share")
    assert "type your e-mail" in ann.last_message().text
    await ann.press("📱 Share my phone number")
    assert "Thank you" in ann.last_message().text
    [summary] = await office.sales_summaries()
    assert "Name: Ann" in summary
    assert f"Contact: {ann.phone}" in summary
    assert "Came from: Telegram bot" in summary
    assert "Source: spring_webinar" in summary
    assert "Recommendation: Django (clear)" in summary
    assert "Which programming language" in summary and "— Python" in summary
    assert office.rows("SELECT contact, source FROM leads") == [(ann.phone, "spring_webinar")]


async def test_a_lead_types_an_email_address_after_an_invalid_one(office: Office) -> None:
    ann = office.fake.user("Ann")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    await ann.send_text("ann at example")
    assert "doesn't look like an e-mail address" in ann.last_message().text
    assert office.sales_texts() == []
    await ann.send_text("Ann@Example.com")
    assert "Thank you" in ann.last_message().text
    [summary] = await office.sales_summaries()
    assert "Contact: Ann@example.com" in summary


@pytest.mark.parametrize("step", ["consent", "contact"])
async def test_no_thanks_is_one_tap_away_and_shares_nothing(office: Office, step: str) -> None:
    ann = office.fake.user("Ann")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    if step == "contact":
        await ann.press("Yes, share")
    await ann.press("No thanks")
    assert "nothing was shared" in ann.last_message().text
    assert office.sales_texts() == []
    assert office.rows("SELECT count(*) FROM leads") == [(0,)]


async def test_without_a_sales_chat_there_is_no_expert_button(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann)
    assert "💬 Talk to an expert" not in ann.last_message().labels
    assert "📤 Share" in ann.last_message().labels


# -- export and privacy ----------------------------------------------------------------------


async def test_export_sends_a_csv_of_sessions_and_leads(office: Office) -> None:
    await office.admin.send_command("link", "ads")
    ann, bob = office.fake.user("Ann"), office.fake.user("Bob")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    await ann.send_text("ann@example.com")
    await bob.send_command("start", "ads")
    await office.admin.send_command("export")
    document = office.admin.last_message().raw
    assert document is not None and document.document is not None
    assert document.document.filename == "stack-advisor-export.csv"
    assert document.document.data is not None
    rows = list(csv.DictReader(io.StringIO(document.document.data.decode("utf-8-sig"))))
    assert list(rows[0])[:8] == [
        "Name", "Status", "Recommendation", "Confidence", "Lead", "Contact",
        "Lead came through", "Lead date (UTC)",
    ]  # fmt: skip
    sessions = {int(r["User ID"]): r for r in rows}
    assert len(sessions) == len(rows) == 2, "one row per session, the lead on Ann's"
    assert sessions[ann.id]["Status"] == "Finished"
    assert sessions[bob.id]["Link"] == "ads"
    [lead] = [r for r in rows if r["Lead"] == "yes"]
    assert (lead["Contact"], lead["Recommendation"]) == ("ann@example.com", "Django")
    assert lead["Lead came through"] == "Telegram bot"
    assert sessions[bob.id]["Lead came through"] == ""
    assert lead["Language"] == sessions[bob.id]["Language"] == "English"


async def test_forget_deletes_every_row_about_the_user_after_confirmation(office: Office) -> None:
    ann, bob = office.fake.user("Ann"), office.fake.user("Bob")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    await ann.send_text("ann@example.com")
    await bob.send_command("start")
    await ann.send_command("forget")
    await ann.press("No, keep it")
    assert "nothing was deleted" in ann.last_message().text
    await ann.send_command("forget")
    await ann.press("Yes, delete everything")
    assert "Everything I stored about you is deleted" in ann.last_message().text
    for table in ("sessions", "events", "leads"):
        assert office.rows(f"SELECT count(*) FROM {table} WHERE user_id = ?", ann.id) == [(0,)]
    assert office.rows("SELECT count(*) FROM sessions WHERE user_id = ?", bob.id) == [(1,)]
    await ann.send_command("start")
    assert "Question 1 of 9" in all_text(ann)


async def test_typing_during_the_consent_question_asks_it_again(office: Office) -> None:
    ann = office.fake.user("Ann")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.send_text("hmm, what?")
    assert "OK?" in ann.last_message().text
    assert ann.last_message().labels == ["Yes, share", "No thanks"]
    await ann.send_text("restart")
    assert "Question 1 of 9" in ann.last_message().text
    assert office.sales_texts() == []


async def test_stats_with_many_tracked_links_fit_telegrams_limit_and_made_up_names_are_not_rows(
    office: Office,
) -> None:
    for number in range(45):
        await office.admin.send_command("link", f"campaign_{number:02}_with_a_long_name_for_slides")
        user = office.fake.user(f"U{number}")
        await user.send_command("start", f"campaign_{number:02}_with_a_long_name_for_slides")
    stranger = office.fake.user("Mallory")
    await stranger.send_command("start", "made_up_by_anyone")
    await office.admin.send_command("stats")
    texts = [m.text for m in office.admin.messages() if "started" in m.text]
    assert texts and all(len(t) <= 4096 for t in texts)
    joined = "\n".join(texts)
    assert "36 other links: 36 started" in joined  # 10 rows: 9 links and "(no link)"
    assert joined.count("• campaign_") == 2 * 9  # two windows
    assert "made_up_by_anyone" not in joined
    assert "went wrong" not in joined


async def with_a_lead_delivered(office: Office) -> BotUser:
    """Ann, whose contact has reached the sales chat."""
    ann = office.fake.user("Ann", timeout=30)
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    await ann.send_text("ann@example.com")
    await office.sales_summaries(1)
    return ann


async def test_a_second_tap_of_delete_everything_still_says_the_sales_team_has_the_contact(
    office: Office,
) -> None:
    ann = await with_a_lead_delivered(office)
    await ann.send_command("forget")
    ask = ann.last_message()
    assert ask.raw is not None and ask.raw.reply_markup is not None
    rows = ask.raw.reply_markup["inline_keyboard"]
    [data] = [
        b["callback_data"] for row in rows for b in row if b["text"] == "Yes, delete everything"
    ]
    await ann.press("Yes, delete everything")
    warning = "already reached our sales team"
    assert warning in ann.last_message().text
    await ann.press_data(ask.message_id, data)  # the same button, tapped twice
    assert warning in ann.messages()[-1].text, "not replaced by a bare Done"
    shown = office.fake.message_object(ann.chat, ask.message_id)
    assert shown is not None and warning in shown["text"]


async def test_the_answer_to_forget_comes_even_if_sending_it_failed_at_first(
    office: Office,
) -> None:
    """/forget's answer is committed with the deletion: when Telegram fails to take it (or the
    process dies before sending it), it is delivered later, warning included."""
    ann = await with_a_lead_delivered(office)
    await ann.send_command("forget")
    office.fake.fail_next("editMessageText", status=500, times=3)
    await ann.press("Yes, delete everything")
    await office.fake.wait_for(
        lambda: "already reached our sales team" in all_text(ann),
        timeout=30,
        what="the answer, delivered later",
    )
