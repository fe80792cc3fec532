"""The fake Bot API on chats the bot is (not) in: getChatMember, and Telegram's refusals.

What Telegram answers here: a basic group the bot is not in does not exist for it ("chat not
found"); a supergroup or channel says why in a 403 ("bot is not a member of the supergroup
chat", "bot was kicked from the group chat"); a restricted bot may not send what it lacks the
right to ("not enough rights to send text messages to the chat"); only administrators post in
channels; and the bot gets a my_chat_member update when its status changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, ChatMemberAdministrator, ChatMemberLeft, ChatMemberRestricted
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, NetworkError

from fake_telegram import FakeTelegram, TgChat

TOKEN = "123:ABC"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


def supergroup(fake: FakeTelegram, title: str = "Sales") -> TgChat:
    chat = TgChat(-1_001_234_567_890, "supergroup", title=title)
    fake.state.add_chat(chat)
    return chat


async def test_the_bot_is_a_member_of_a_new_group_and_may_write_there(
    fake: FakeTelegram, bot: Bot
) -> None:
    group = fake.group("Sales")
    member = await bot.get_chat_member(group.id, bot.id)
    assert member.status == ChatMemberStatus.MEMBER
    chat = await bot.get_chat(group.id)
    assert chat.permissions is not None and chat.permissions.can_send_messages
    await bot.send_message(group.id, "hello")


async def test_a_basic_group_the_bot_left_does_not_exist_for_it(
    fake: FakeTelegram, bot: Bot
) -> None:
    group = fake.group("Sales")
    fake.state.set_bot_member(group, "left")
    for call in (bot.get_chat(group.id), bot.send_message(group.id, "hi")):
        with pytest.raises(BadRequest, match="Chat not found"):
            await call


@pytest.mark.parametrize("kind", ["supergroup", "group"])
async def test_a_chat_the_bot_was_kicked_from_says_so(
    fake: FakeTelegram, bot: Bot, kind: str
) -> None:
    chat = supergroup(fake) if kind == "supergroup" else fake.group("Sales")
    fake.state.set_bot_member(chat, "kicked")
    with pytest.raises(Forbidden, match=f"bot was kicked from the {kind} chat"):
        await bot.get_chat(chat.id)
    with pytest.raises(Forbidden, match=f"bot was kicked from the {kind} chat"):
        await bot.send_message(chat.id, "hi")


async def test_a_supergroup_the_bot_is_not_in_says_so(fake: FakeTelegram, bot: Bot) -> None:
    chat = supergroup(fake)
    fake.state.set_bot_member(chat, "left")
    with pytest.raises(Forbidden, match="bot is not a member of the supergroup chat"):
        await bot.get_chat_member(chat.id, bot.id)


async def test_a_restricted_bot_may_not_send_what_it_lacks_the_right_to(
    fake: FakeTelegram, bot: Bot
) -> None:
    group = fake.group("Sales")
    fake.state.set_bot_member(group, "restricted", can_send_messages=False)
    member = await bot.get_chat_member(group.id, bot.id)
    assert isinstance(member, ChatMemberRestricted)
    assert member.is_member and not member.can_send_messages and member.can_send_photos
    with pytest.raises(BadRequest, match="Not enough rights to send text messages to the chat"):
        await bot.send_message(group.id, "hi")


async def test_only_an_administrator_allowed_to_post_writes_in_a_channel(
    fake: FakeTelegram, bot: Bot
) -> None:
    channel = TgChat(-1_009_999_000_001, "channel", title="News")
    fake.state.add_chat(channel)
    member = await bot.get_chat_member(channel.id, bot.id)
    assert isinstance(member, ChatMemberAdministrator) and member.can_post_messages
    await bot.send_message(channel.id, "posted")
    fake.state.set_bot_member(channel, "member")
    with pytest.raises(BadRequest, match="Need administrator rights in the channel chat"):
        await bot.send_message(channel.id, "hi")


async def test_users_are_members_of_chats_they_wrote_in_and_have_left_others(
    fake: FakeTelegram, bot: Bot
) -> None:
    group = fake.group("Team")
    ann, bob = fake.user("Ann", chat=group), fake.user("Bob")
    await ann.send_text("hello", expect_response=False)
    assert (await bot.get_chat_member(group.id, ann.id)).status == ChatMemberStatus.MEMBER
    assert isinstance(await bot.get_chat_member(group.id, bob.id), ChatMemberLeft)
    assert (await bot.get_chat_member(bob.chat.id, bob.id)).status == ChatMemberStatus.MEMBER
    with pytest.raises(BadRequest, match="User not found"):
        await bot.get_chat_member(group.id, 999)


async def test_changing_the_bots_status_sends_it_a_my_chat_member_update(
    fake: FakeTelegram, bot: Bot
) -> None:
    group = fake.group("Sales")
    admin = fake.user("Alice")
    fake.set_bot_member(group, "left", by=admin.user)
    fake.set_bot_member(group, "administrator", by=admin.user)
    updates = await bot.get_updates(timeout=0)
    changes = [u.my_chat_member for u in updates]
    assert all(change is not None for change in changes)
    first, second = (c for c in changes if c is not None)
    assert (first.old_chat_member.status, first.new_chat_member.status) == ("member", "left")
    assert (second.old_chat_member.status, second.new_chat_member.status) == (
        "left",
        "administrator",
    )
    assert first.chat.id == group.id and first.from_user.id == admin.id
    await bot.send_message(group.id, "back")


def test_a_status_telegram_does_not_have_or_a_right_it_lacks_is_refused() -> None:
    fake = FakeTelegram(TOKEN)
    group = fake.group("Sales")
    with pytest.raises(ValueError, match="unknown chat member status"):
        fake.state.set_bot_member(group, "owner")
    with pytest.raises(ValueError, match="member has no rights named"):
        fake.state.set_bot_member(group, "member", can_send_messages=False)


# -- failures injected for one chat ---------------------------------------------------------


async def test_a_failure_injected_for_one_chat_leaves_other_chats_alone(
    fake: FakeTelegram, bot: Bot
) -> None:
    sales, ann = fake.group("Sales"), fake.user("Ann")
    fake.fail_next("sendMessage", status=500, times=2, chat_id=sales.id)
    await bot.send_message(ann.chat.id, "to Ann")  # not about the sales chat: it works
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(sales.id, "lead")
    assert fake.faults_left("sendMessage") == 0
    await bot.send_message(sales.id, "lead")


async def test_injected_failures_can_be_cleared(fake: FakeTelegram, bot: Bot) -> None:
    sales = fake.group("Sales")
    fake.fail_next("sendMessage", status=500, times=100, chat_id=sales.id)
    fake.clear_faults("sendMessage")
    await bot.send_message(sales.id, "lead")
