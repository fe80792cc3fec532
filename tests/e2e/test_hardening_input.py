"""End to end: forged buttons, links and inline queries are refused quietly, never crash."""

from __future__ import annotations

from fake_telegram import FakeTelegram
from tests.e2e.conftest import Office

FOURTEEN_DIGIT_OWNER = "1|zzzzzzzzzzzzzz|0|-|quiz"
NON_ASCII_SIGNATURE = "r_1abcünicode!"


async def test_a_forged_button_with_a_huge_owner_id_in_a_group_posts_nothing_there(
    fake: FakeTelegram, bot: object
) -> None:
    group = fake.group("Founders")
    mallory = fake.user("Mallory", chat=group)
    await mallory.send_command("start")
    before = fake.messages(group)
    calls = await mallory.press_data(before[-1].message_id, FOURTEEN_DIGIT_OWNER)
    answered = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answered and "can't use that button" in answered[0].params["text"]
    assert fake.messages(group) == before, "nothing new in the group, no error message"


async def test_a_share_link_with_a_non_ascii_signature_gets_the_friendly_broken_link_message(
    office: Office,
) -> None:
    bob = office.fake.user("Bob")
    await bob.send_command("start", NON_ASCII_SIGNATURE)
    assert "doesn't work any more" in bob.last_message().text
    assert "went wrong" not in bob.last_message().text


async def test_an_inline_query_with_a_non_ascii_signature_is_answered_with_the_invitation(
    office: Office,
) -> None:
    bob = office.fake.user("Bob")
    await bob.inline_query(NON_ASCII_SIGNATURE)
    [card] = bob.inline_results()
    assert card["title"] == "Try Stack Advisor"
