"""End to end: what real chats throw at a bot — resets, failures, edits, channels, groups."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import sys
from pathlib import Path

from fake_telegram import FakeTelegram
from fake_telegram import updates as u
from settings import Settings
from tests.e2e.conftest import (
    FINTECH,
    MakeSettings,
    Office,
    all_text,
    finish,
    last_text,
    running,
)

ROOT = Path(__file__).resolve().parents[2]


async def test_a_user_returning_after_telegram_restarted_update_ids_is_answered(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: object
) -> None:
    settings: Settings = make_settings()
    async with running(settings, knowledge):  # type: ignore[arg-type]
        ann = fake.user("Ann")
        await ann.send_command("start")
        for _ in range(5):
            await ann.press("❓ Why do we ask?")
        with sqlite3.connect(settings.state_db) as db:  # a week passes …
            db.execute("UPDATE sessions SET updated_at = updated_at - 8 * 86400")
            db.execute("UPDATE applied_updates SET at = at - 8 * 86400")
        fake._update_ids = itertools.count(1)  # … and Telegram starts update ids afresh
        await ann.press("Python")
        assert "Question 2 of 9" in ann.last_message().text


async def test_a_result_that_failed_to_send_arrives_on_the_next_message(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    for label in FINTECH[:-1]:
        await ann.press(label)
    fake.fail_next("sendMessage", status=500, times=3)  # the first try and both retries
    await ann.press(FINTECH[-1])
    await fake.wait_for(lambda: "answers are saved" in all_text(ann), timeout=8, what="the apology")
    assert "Recommendation" not in all_text(ann)
    await ann.send_text("hello?")
    assert "Recommendation: Django" in all_text(ann)
    await ann.send_text("hello again")
    assert "You've reached your result" in ann.last_message().text


async def test_a_rejected_token_stops_the_bot_with_one_line_and_no_token(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    wrong = "987654321:AAwrong-token-that-the-api-refuses"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "bot.py",
        "--env-file",
        str(tmp_path / "none"),
        cwd=ROOT,
        env={
            "BOT_TOKEN": wrong,
            "TELEGRAM_API_URL": fake.root_url,
            "STATE_DB": str(tmp_path / "s.db"),
            "PTB_TIMEDELTA": "1",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    log = err.decode()
    assert proc.returncode == 2
    assert (
        log.strip()
        .splitlines()[-1]
        .endswith("BOT_TOKEN: Telegram rejected the token; check it with @BotFather")
    )
    assert wrong not in log and wrong.split(":")[1] not in log


async def test_editing_a_message_into_a_command_does_not_run_it(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    await ann.send_text("hmm")
    await ann.edit_message("/restart")
    assert "edited" in ann.last_message().text
    await ann.press("◀ Back")
    assert "✓ Python" in [label for row in ann.buttons() for label in row]


async def test_channel_posts_and_service_messages_are_ignored(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    channel = {"id": -100777, "type": "channel", "title": "News"}
    post = {"message_id": 1, "date": u.now(), "chat": channel, "text": "/start"}
    fake.add_update({"channel_post": post})
    group = fake.group("Founders")
    joined = u.base_message(fake.next_message_id(group.id), ann.user, group)
    joined["new_chat_members"] = [fake.bot.to_api()]
    fake.add_update(u.message_update(joined))
    await ann.send_command("help")  # handled after both, since updates arrive in order
    assert fake.messages(group.id) == []
    assert not [c for c in fake.calls if c.chat_id == channel["id"]]


async def test_chatter_in_a_group_does_not_start_a_quiz(fake: FakeTelegram, bot: object) -> None:
    group = fake.group("Founders")
    ann = fake.user("Ann", chat=group)
    await ann.send_text("lol did you see the game", expect_response=False)
    await ann.send_sticker(expect_response=False)
    assert fake.messages(group) == []
    await ann.send_command("start")
    assert "Ann, this one is for you." in ann.last_message().text


async def test_going_back_from_the_result_and_finishing_again_counts_one_finish(
    office: Office,
) -> None:
    ann = office.fake.user("Ann")
    await finish(ann)
    await ann.send_command("back")
    await ann.press("Relaxed")
    await office.admin.send_command("stats")
    assert "Overall: 1 started, 1 finished (100%)" in last_text(office.admin)


async def test_a_name_with_html_characters_reads_correctly_in_the_consent(
    office: Office,
) -> None:
    tom = office.fake.user("Tom & <Jerry>")
    await finish(tom)
    await tom.press("💬 Talk to an expert")
    assert "your name (Tom & <Jerry>)" in tom.last_message().text
    assert "📤 Share" in tom.messages()[-2].labels, "the result keeps its Share button"


async def test_leaving_the_contact_step_takes_the_contact_keyboard_away(office: Office) -> None:
    ann = office.fake.user("Ann")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    assert office.fake.reply_keyboard(ann.chat) is not None
    await ann.send_command("restart")
    assert office.fake.reply_keyboard(ann.chat) is None
    assert "Question 1 of 9" in ann.last_message().text


async def test_someone_elses_contact_is_not_taken_as_a_lead(office: Office) -> None:
    ann = office.fake.user("Ann")
    await finish(ann)
    await ann.press("💬 Talk to an expert")
    await ann.press("Yes, share")
    await ann.share_contact("+15550000000", own=False)
    assert "your own phone number" in ann.last_message().text
    assert office.sales_texts() == []


async def test_in_a_group_there_is_no_expert_button_and_admin_commands_stay_private(
    office: Office,
) -> None:
    group = office.fake.group("Team")
    ann = office.fake.user("Ann", chat=group)
    await finish(ann)
    assert "💬 Talk to an expert" not in ann.last_message().labels
    admin_in_group = office.fake.user("Alice", chat=group)
    admin_in_group.user = office.admin.user
    await admin_in_group.send_command("export")
    assert "don't know that command" in admin_in_group.last_message().text
    assert [f for f in office.fake.uploads if f.kind != "photo"] == []  # charts only


async def test_export_neutralises_spreadsheet_formulas_in_names(office: Office) -> None:
    mallory = office.fake.user('=HYPERLINK("http://x")')
    await mallory.send_command("start")
    await office.admin.send_command("export")
    document = office.admin.last_message().raw
    assert document is not None and document.document is not None
    assert document.document.data is not None
    assert "'=HYPERLINK" in document.document.data.decode()


async def test_a_message_that_arrived_though_its_answer_was_lost_gets_no_false_apology(
    fake: FakeTelegram, bot: object
) -> None:
    """Telegram took the message, then the connection died before its answer came back: the
    person has it, so no "something went wrong" follows."""
    ann = fake.user("Ann", timeout=20)
    await ann.send_command("start")
    fake.cut_after_next("editMessageText", times=3)  # the try and both retries
    await ann.press("Python")
    await fake.wait_for(
        lambda: "Question 2 of 9" in ann.messages()[0].text, timeout=20, what="the question"
    )
    await fake.wait_for(lambda: fake.cuts_left("editMessageText") == 0, timeout=20)
    assert "went wrong" not in "\n".join(m.text for m in ann.messages())


async def test_a_result_that_could_not_reach_a_person_who_blocked_the_bot_comes_on_their_next_start(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann", timeout=20)
    await ann.send_command("start")
    for label in FINTECH[:-1]:
        await ann.press(label)
    ann.block_bot()
    await ann.press(FINTECH[-1])  # the result is dropped: Telegram says the bot is blocked
    assert "Recommendation:" not in all_text(ann)
    ann.unblock_bot()
    await ann.send_command("start")
    assert ann.last_message().text.startswith("Recommendation: Django")
    await ann.send_command("start")  # seen now: /start begins again, as it always did
    assert "Question 1 of 9" in ann.last_message().text
