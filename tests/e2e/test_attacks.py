"""What an attack run broke, end to end: forged hand-offs, group noise, senders without a user,
late callback answers and wasted edits."""

from __future__ import annotations

import asyncio
import sqlite3

from advisor import Knowledge
from dialogs import actions
from fake_telegram import FakeTelegram
from fake_telegram import updates as u
from tests.e2e.conftest import FINTECH, MakeSettings, Office, finish, running


async def test_a_forged_hand_off_in_a_group_shows_nothing_and_reaches_no_one(
    office: Office,
) -> None:
    group = office.fake.group("Team")
    bob = office.fake.user("Bob", chat=group)
    await finish(bob)
    result = bob.last_message()
    for action in (actions.LEAD.code, actions.CONSENT.code):
        data = actions.encode(bob.id, 0, actions.NO_QUESTION, action)
        await bob.press_data(result.message_id, data)
    texts = "\n".join(m.text for m in bob.messages())
    assert "If you agree" not in texts
    assert "How can the expert reach you" not in texts
    assert office.fake.reply_keyboard(group) is None
    await bob.send_text("bob@example.com", expect_response=False)
    assert office.sales_texts() == []
    assert office.rows("SELECT count(*) FROM leads") == [(0,)]


async def test_a_callback_answer_telegram_refuses_as_too_old_shows_no_error(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    fake.fail_next(
        "answerCallbackQuery",
        status=400,
        description="Bad Request: query is too old and response timeout expired "
        "or query ID is invalid",
    )
    await ann.press("Python")
    assert "Question 2 of 9" in ann.messages()[0].text
    assert "went wrong" not in "\n".join(m.text for m in ann.messages())


async def test_commands_for_another_bot_and_contacts_in_a_group_get_no_reply(
    fake: FakeTelegram, bot: object
) -> None:
    group = fake.group("Founders")
    ann = fake.user("Ann", chat=group)
    await ann.send_text("/help@some_other_bot", expect_response=False)
    await ann.send_text("/frobnicate@some_other_bot", expect_response=False)
    await ann.share_contact(expect_response=False)
    await ann.send_sticker(expect_response=False)
    assert fake.messages(group) == []
    assert fake.calls_to("sendMessage") == []


async def test_a_message_with_no_sender_in_a_group_is_ignored(
    fake: FakeTelegram, bot: object
) -> None:
    group = fake.group("Founders")
    ann = fake.user("Ann", chat=group)
    for text in ("/start", "hello", "/stats"):
        message = u.text_message(fake.next_message_id(group.id), ann.user, group, text)
        del message["from"]
        message["sender_chat"] = {"id": -100777, "type": "channel", "title": "News"}
        await ann._send(message, "an anonymous message", expect_response=False)
    assert fake.calls_to("sendMessage") == []
    assert not fake.internal_errors


async def test_a_double_tap_on_the_live_question_sends_no_wasted_edit(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("start")
    await ann.press("Python")
    question = ann.messages()[0]
    old_python = actions.encode(ann.id, 0, "team", "python")
    await ann.press_data(question.message_id, old_python)  # the first tap's twin
    await ann.press_data(question.message_id, old_python)
    refused = [c for c in fake.calls_to("editMessageText") if c.status != 200]
    assert refused == []
    assert "Question 2 of 9" in ann.messages()[0].text


async def test_a_double_tap_on_start_over_sends_the_first_question_once(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await finish(ann, FINTECH)
    result = ann.last_message()
    start_over = actions.encode(ann.id, 0, actions.NO_QUESTION, actions.START_OVER.code)
    await ann.press_data(result.message_id, start_over)
    await ann.press_data(result.message_id, start_over)
    firsts = [m for m in ann.messages() if "Question 1 of 9" in m.text]
    assert len(firsts) == 1


async def test_another_program_holding_the_database_lock_freezes_no_one_and_loses_nothing(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    settings = make_settings()
    async with running(settings, knowledge):
        ann, bob = fake.user("Ann", timeout=15), fake.user("Bob")
        await ann.send_command("start")
        holder = sqlite3.connect(settings.state_db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # e.g. someone's sqlite3 shell, for 6 s
        release = asyncio.get_running_loop().call_later(6.0, holder.execute, "COMMIT")
        try:
            tap = asyncio.create_task(ann.press("Python"))
            await asyncio.sleep(0.3)
            began = asyncio.get_running_loop().time()
            await bob.send_command("help")  # needs no database: answered at once
            assert asyncio.get_running_loop().time() - began < 1.0
            await tap
        finally:
            release.cancel()
            if holder.in_transaction:
                holder.execute("COMMIT")
            holder.close()
        await fake.wait_for(
            lambda: "Question 2 of 9" in ann.messages()[0].text, timeout=10, what="the answer"
        )
    assert "went wrong" not in "\n".join(m.text for m in ann.messages())
