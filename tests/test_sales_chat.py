"""The sales chat as a destination: the check at start-up, posting a lead, the admin buttons."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import ChatMigrated

from advisor import Knowledge
from dialogs import actions
from fake_telegram import FakeTelegram, TgChat
from frontends.telegram import callbacks
from frontends.telegram.leads import html, keyboard
from frontends.telegram.sales import SalesChatSender, check_sales_chat
from handoff import TELEGRAM, WEBHOOK, DeliveryFailed, HandOff, Note, hand_off_for
from handoff.lead_texts import RETRY, SETTLE, LeadButton
from handoff.sales_chat import ChatCheck, SalesChat, Verdict
from settings import load_settings
from storage.base import Lead

TOKEN = "123:ABC"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as client:
        yield client


def chat_of(fake: FakeTelegram, kind: str, status: str | None, **rights: bool) -> TgChat:
    chat = TgChat(-1_005_000_000_001, kind, title="Sales")
    fake.state.add_chat(chat)
    if status is not None:
        fake.state.set_bot_member(chat, status, **rights)
    return chat


@pytest.mark.parametrize(
    ("kind", "status", "rights", "problem"),
    [
        ("group", None, {}, ""),
        ("supergroup", "administrator", {}, ""),
        ("channel", None, {}, ""),  # an administrator allowed to post, by default
        ("group", "left", {}, "not_found"),
        ("group", "kicked", {}, "kicked"),
        ("supergroup", "left", {}, "not_member"),
        ("supergroup", "kicked", {}, "kicked"),
        ("supergroup", "restricted", {"can_send_messages": False}, "no_rights"),
        ("supergroup", "restricted", {"is_member": False}, "not_member"),
        ("channel", "member", {}, "no_rights"),
        ("channel", "administrator", {"can_post_messages": False}, "no_rights"),
    ],
)
async def test_the_check_says_whether_the_bot_can_post_in_the_chat(
    fake: FakeTelegram,
    bot: Bot,
    kind: str,
    status: str | None,
    rights: dict[str, bool],
    problem: str,
) -> None:
    chat = chat_of(fake, kind, status, **rights)
    found = await check_sales_chat(bot, chat.id)
    assert (found.problem, found.known) == (problem, True)
    assert found.works == (problem == "")
    if found.works:
        assert found.title == "Sales"


async def test_a_chat_id_telegram_does_not_know_is_not_found(bot: Bot) -> None:
    found = await check_sales_chat(bot, -100999)
    assert (found.problem, found.reason) == ("not_found", "Chat not found")


async def test_a_persons_private_chat_works_once_they_started_the_bot(
    fake: FakeTelegram, bot: Bot
) -> None:
    alice = fake.user("Alice")
    found = await check_sales_chat(bot, alice.chat.id)
    assert found.works and found.title == "Alice"
    assert fake.calls_to("getChatMember") == []


async def test_telegram_not_answering_leaves_the_question_open(
    fake: FakeTelegram, bot: Bot
) -> None:
    group = fake.group("Sales")
    fake.fail_next("getChat", status=502)
    found = await check_sales_chat(bot, group.id)
    assert not found.known and not found.works


# -- posting a lead ------------------------------------------------------------------------------


def a_lead() -> Lead:
    return Lead(7, 7, "Ada", "ada@example.org", "spring", "django", {"team": "python"}, 0, 12, "k")


async def test_a_lead_is_posted_as_plain_text_with_its_number(
    fake: FakeTelegram, bot: Bot, knowledge: Knowledge
) -> None:
    group = fake.group("Sales")
    await SalesChatSender(bot, group.id, knowledge)(a_lead())
    [message] = fake.messages(group)
    assert message.text is not None
    assert message.text.startswith("New lead from Stack Advisor (#12)")
    assert "Contact: ada@example.org" in message.text and message.parse_mode is None


@pytest.mark.parametrize(
    ("status", "description", "unusable"),
    [
        (500, None, False),
        (502, None, False),
        (403, "Forbidden: bot was kicked from the supergroup chat", True),
        (400, "Bad Request: chat not found", True),
        (400, "Bad Request: not enough rights to send text messages to the chat", True),
        (400, "Bad Request: message is too long", False),
    ],
)
async def test_a_refused_lead_says_why_and_whether_the_chat_itself_is_unusable(
    fake: FakeTelegram,
    bot: Bot,
    knowledge: Knowledge,
    status: int,
    description: str | None,
    unusable: bool,
) -> None:
    group = fake.group("Sales")
    fake.fail_next("sendMessage", status=status, description=description)
    with pytest.raises(DeliveryFailed) as failure:
        await SalesChatSender(bot, group.id, knowledge)(a_lead())
    assert failure.value.unusable == unusable
    assert str(failure.value).startswith(
        "Telegram refused: " if status < 500 else "Telegram did not take it: "
    )


async def test_a_flood_wait_is_passed_on_as_the_wait_telegram_asked_for(
    fake: FakeTelegram,
    bot: Bot,
    knowledge: Knowledge,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    group = fake.group("Sales")
    fake.fail_next("sendMessage", status=429, retry_after=42)
    with pytest.raises(DeliveryFailed) as failure:
        await SalesChatSender(bot, group.id, knowledge)(a_lead())
    assert failure.value.retry_after == 42


# -- where leads go, and the admin buttons -------------------------------------------------------


def test_the_sales_chat_waits_for_its_check_and_the_crm_hook_takes_leads_at_once() -> None:
    both = load_settings(
        {
            "SALES_CHAT_ID": "-100",
            "LEAD_WEBHOOK_URL": "https://crm.example.com/in",
            "LEAD_WEBHOOK_SECRET": "0123456789abcdef",
        }
    )
    hand_off = hand_off_for(both)
    assert hand_off.destinations == (TELEGRAM, WEBHOOK)
    assert hand_off.is_open and not hand_off.works(TELEGRAM) and hand_off.works(WEBHOOK)
    only_chat = hand_off_for(load_settings({"SALES_CHAT_ID": "-100"}))
    assert only_chat.destinations == (TELEGRAM,) and not only_chat.is_open
    assert hand_off_for(load_settings({})).destinations == ()


def test_the_hand_off_is_offered_in_a_private_chat_while_a_destination_works() -> None:
    down = HandOff([TELEGRAM])  # the sales chat, not checked yet
    assert not down.open_for(private=True)
    assert down.open_for(private=True, consented=True)  # who consented keeps their step
    assert not down.open_for(private=False, consented=True)
    working = HandOff([TELEGRAM], unchecked=[TELEGRAM])
    assert working.open_for(private=True) and not working.open_for(private=False)
    assert not HandOff([]).open_for(private=True, consented=True)  # no sales team at all


@pytest.mark.parametrize("lead_id", [0, 1, 35, 36, 2**40, 2**63 - 1])
def test_an_admin_lead_button_round_trips_within_64_bytes(lead_id: int) -> None:
    for action in (callbacks.RETRY_LEAD, callbacks.SETTLE_LEAD):
        data = callbacks.encode_lead(action, lead_id)
        assert len(data.encode()) <= 64
        assert callbacks.decode_lead(data) == callbacks.LeadPress(action, lead_id)
        assert actions.decode(data) is None  # never mistaken for a quiz button


@pytest.mark.parametrize(
    "data",
    [
        "L1|x|1",
        "L1|r|",
        "L1|r|-1",
        "L1|r|01",
        "L2|r|1",
        "L1|r|1|",
        "L1|r|" + "z" * 14,
        "L1|r|" + "z" * 13,  # past the largest number a lead can have (2^63 - 1)
        None,
    ],
)
def test_anything_else_is_not_an_admin_lead_button(data: str | None) -> None:
    assert callbacks.decode_lead(data) is None


def test_a_lead_button_for_a_negative_lead_or_another_action_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="no lead button"):
        callbacks.encode_lead("x", 1)
    with pytest.raises(ValueError, match="no lead button"):
        callbacks.encode_lead("r", -1)


class MigratedGroup:
    """Telegram's answer about a group that was upgraded to a supergroup (a new chat id)."""

    id = 1

    async def get_chat(self, chat_id: int) -> None:
        raise ChatMigrated(-1_001_111_222_333)

    async def send_message(self, chat_id: int, text: str) -> None:
        raise ChatMigrated(-1_001_111_222_333)


async def test_a_group_that_became_a_supergroup_is_reported_with_its_new_id(
    knowledge: Knowledge,
) -> None:
    found = await check_sales_chat(MigratedGroup(), -100)  # type: ignore[arg-type]
    assert (found.problem, found.reason, found.known) == ("migrated", "-1001111222333", True)
    with pytest.raises(DeliveryFailed, match="set SALES_CHAT_ID to -1001111222333") as failure:
        await SalesChatSender(MigratedGroup(), -100, knowledge)(a_lead())  # type: ignore[arg-type]
    assert failure.value.unusable


def test_a_note_for_admins_is_escaped_html_with_its_headline_in_bold() -> None:
    note = Note(("Ann <ann@example.com>", "R&D"), headline="Leads: 1 < 2")
    assert html(note) == "<b>Leads: 1 &lt; 2</b>\nAnn &lt;ann@example.com&gt;\nR&amp;D"
    assert html(Note(("only a line",))) == "only a line" and keyboard(Note()) is None


def test_the_buttons_under_a_lead_become_one_row_of_lead_buttons() -> None:
    note = Note(buttons=(LeadButton("Again", RETRY, 7), LeadButton("Done", SETTLE, 7)))
    assert keyboard(note) == {
        "inline_keyboard": [
            [
                {"text": "Again", "callback_data": callbacks.encode_lead(callbacks.RETRY_LEAD, 7)},
                {"text": "Done", "callback_data": callbacks.encode_lead(callbacks.SETTLE_LEAD, 7)},
            ]
        ]
    }


# -- what a check of the sales chat means --------------------------------------------------------


def judged(
    chat: SalesChat,
    knowledge: Knowledge,
    found: ChatCheck | None,
    *,
    startup: bool = False,
    elsewhere: bool = False,
) -> Verdict:
    """One check, judged and remembered (as the lead office does)."""
    verdict = chat.judge(found, startup=startup, elsewhere=elsewhere, text=knowledge.text)
    chat.problem = verdict.problem
    return verdict


def test_a_working_sales_chat_is_opened_and_logged_once_without_telling_admins(
    knowledge: Knowledge,
) -> None:
    chat = SalesChat(-100)
    first = judged(chat, knowledge, ChatCheck(title="Sales"), startup=True)
    assert (first.works, first.problem, first.tell) == (True, "", ())
    assert first.log == (logging.INFO, "SALES_CHAT_ID=-100: leads go to “Sales”")
    assert judged(chat, knowledge, ChatCheck(title="Sales")) == Verdict(True, "")


def test_a_broken_sales_chat_is_closed_and_admins_hear_about_each_change_once(
    knowledge: Knowledge,
) -> None:
    chat = SalesChat(-100)
    broken = judged(chat, knowledge, ChatCheck("kicked", reason="Forbidden"), startup=True)
    assert (broken.works, broken.problem) == (False, "kicked")
    assert broken.log is not None and broken.log[0] == logging.ERROR
    assert broken.log[1].startswith(
        "SALES_CHAT_ID=-100: leads can't be posted there: the bot was removed from the chat"
    )
    assert "button is off until it works" in broken.log[1]
    assert len(broken.tell) == 3 and "SALES_CHAT_ID -100" in broken.tell[0]
    assert "button is off until this works" in broken.tell[1]
    again = judged(chat, knowledge, ChatCheck("kicked", reason="Forbidden"))
    assert again == Verdict(False, "kicked")  # closed still, nothing new to say
    at_start = judged(chat, knowledge, ChatCheck("kicked", reason="Forbidden"), startup=True)
    assert at_start.tell == broken.tell  # a restart says it again
    fixed = judged(chat, knowledge, ChatCheck(title="Sales"))
    assert fixed.works and fixed.problem == ""
    assert len(fixed.tell) == 1 and "The sales chat “Sales” works" in fixed.tell[0]


def test_while_the_crm_hook_works_leads_for_a_broken_sales_chat_wait(
    knowledge: Knowledge,
) -> None:
    verdict = judged(SalesChat(-100), knowledge, ChatCheck("no_rights"), elsewhere=True)
    assert verdict.log is not None and "; leads for it wait until it works" in verdict.log[1]
    assert "Leads still go to the CRM hook" in verdict.tell[1]


@pytest.mark.parametrize(
    ("found", "why"),
    [
        (None, "no answer in time"),
        (ChatCheck("other", reason="Bad Gateway", known=False), "Bad Gateway"),
    ],
)
def test_a_check_without_an_answer_changes_nothing(
    knowledge: Knowledge, found: ChatCheck | None, why: str
) -> None:
    chat = SalesChat(-100)
    chat.problem = "kicked"
    verdict = judged(chat, knowledge, found)
    assert (verdict.works, verdict.problem, verdict.tell) == (None, "kicked", ())
    assert verdict.log == (
        logging.WARNING,
        f"SALES_CHAT_ID=-100: could not check the chat yet ({why})",
    )
