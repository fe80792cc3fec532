"""End to end: an operator's first run (their id, the sales group's id, the log line when the bot
joins a group) and the admin commands an admin sees in /help and in their command menu."""

from __future__ import annotations

import logging

import pytest

from advisor import Knowledge
from dialogs.texts import ADMIN_MENU, MENU
from fake_telegram import BotUser, FakeTelegram
from tests.e2e.conftest import MakeSettings, Office, running

LANGUAGES = ["en", "es", "pt", "ru"]


def chat_scope(chat_id: int) -> dict[str, object]:
    return {"type": "chat", "chat_id": chat_id}


# -- /id -------------------------------------------------------------------------------------


async def test_id_in_a_private_chat_tells_the_person_their_telegram_id(
    fake: FakeTelegram, bot: object
) -> None:
    ann = fake.user("Ann")
    await ann.send_command("id")
    reply = ann.last_message().text
    assert f"Your Telegram id is {ann.user.id}." in reply
    assert "ADMIN_IDS" in reply


@pytest.mark.parametrize("code", LANGUAGES)
async def test_id_answers_in_the_persons_language(
    fake: FakeTelegram, bot: object, knowledge: Knowledge, code: str
) -> None:
    ann = fake.user("Ann", language_code=code)
    await ann.send_command("id")
    texts = knowledge.speaking(code)
    assert ann.last_message().text == texts.text("telegram.id_private", number=str(ann.user.id))
    assert str(ann.user.id) in ann.last_message().text


@pytest.mark.parametrize("code", LANGUAGES)
async def test_id_in_a_group_tells_the_groups_id_for_sales_chat_id(
    fake: FakeTelegram, bot: object, knowledge: Knowledge, code: str
) -> None:
    group = fake.group("Sales")
    bob = fake.user("Bob", chat=group, language_code=code)
    await bob.send_command("id")
    reply = bob.last_message().text
    assert reply == knowledge.speaking(code).text(
        "telegram.id_group", chat=str(group.id), number=str(bob.user.id)
    )
    assert str(group.id) in reply and "SALES_CHAT_ID" in reply


async def test_id_addressed_to_the_bot_by_name_in_a_group_is_answered(
    fake: FakeTelegram, bot: object
) -> None:
    group = fake.group("Sales")
    bob = fake.user("Bob", chat=group)
    await bob.send_command("id", mention_bot=True)
    assert f"This group's id is {group.id}." in bob.last_message().text


@pytest.mark.parametrize("status", ["member", "administrator"])
async def test_adding_the_bot_to_a_group_logs_the_groups_id(
    fake: FakeTelegram,
    bot: object,
    captured_logs: pytest.LogCaptureFixture,
    status: str,
) -> None:
    group = fake.group("Sales team")
    fake.set_bot_member(group, "left")
    fake.set_bot_member(group, status)

    def logged() -> list[logging.LogRecord]:
        return [r for r in captured_logs.records if "added to the group" in r.getMessage()]

    await fake.wait_for(lambda: bool(logged()), 5, what="the log line")
    (record,) = logged()
    assert record.levelno == logging.INFO
    assert str(group.id) in record.getMessage() and "Sales team" in record.getMessage()
    assert "SALES_CHAT_ID" in record.getMessage()
    assert fake.token not in captured_logs.text


async def test_a_change_of_rights_in_a_group_is_not_logged_as_an_addition(
    fake: FakeTelegram, bot: object, captured_logs: pytest.LogCaptureFixture
) -> None:
    group = fake.group("Sales team")
    fake.set_bot_member(group, "administrator")
    fake.set_bot_member(group, "left")
    ann = fake.user("Ann")
    await ann.send_command("id")  # both updates handled by the time the reply comes
    assert "added to the group" not in captured_logs.text


# -- admins see their tools ------------------------------------------------------------------


async def test_an_admins_help_lists_the_admin_commands(office: Office) -> None:
    await office.admin.send_command("help")
    listed = office.admin.last_message().text
    assert listed.startswith("Admin commands")
    for name in ("link", "stats", "export", "leads"):
        assert f"/{name} – " in listed
    assert "/link – Make a tracked link with its QR code" in listed
    assert "/start – begin" in office.admin.messages()[-2].text


@pytest.mark.parametrize("code", LANGUAGES)
async def test_an_admins_help_lists_the_admin_commands_in_their_language(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge, code: str
) -> None:
    admin = fake.user("Ana", language_code=code)
    async with running(make_settings(ADMIN_IDS=str(admin.id)), knowledge):
        await admin.send_command("help")
        texts = knowledge.speaking(code)
        expected = [texts.text("telegram.admin_help")] + [
            f"/{name} – {texts.text(f'telegram.admin_commands.{name}')}" for name in ADMIN_MENU
        ]
        assert admin.last_message().text == "\n".join(expected)
        menu = fake.commands(chat_scope(admin.id))
        assert [c["description"] for c in menu][-len(ADMIN_MENU) :] == [
            texts.text(f"telegram.admin_commands.{name}") for name in ADMIN_MENU
        ]


@pytest.mark.parametrize("code", LANGUAGES)
async def test_a_non_admins_help_is_unchanged(
    office: Office, knowledge: Knowledge, code: str
) -> None:
    bob = office.fake.user("Bob", language_code=code)
    await bob.send_command("help")
    texts = [m.text for m in bob.messages()]
    assert texts == [knowledge.speaking(code).text("telegram.help")]
    assert office.fake.commands(chat_scope(bob.id)) == []


async def test_an_admins_help_in_a_group_does_not_list_the_admin_commands(office: Office) -> None:
    group = office.fake.group("Friends")
    admin_in_group = BotUser(office.fake, office.admin.user, group)
    await admin_in_group.send_command("help")
    assert admin_in_group.messages()
    assert not any("Admin commands" in m.text for m in admin_in_group.messages())


async def test_each_admin_gets_a_command_menu_with_the_admin_commands(office: Office) -> None:
    menu = office.fake.commands(chat_scope(office.admin.id))
    assert [c["command"] for c in menu] == [*MENU, *ADMIN_MENU]
    descriptions = {c["command"]: c["description"] for c in menu}
    assert descriptions["stats"] == "Started, finished, shared and leads per link"
    everyone = office.fake.commands()
    assert [c["command"] for c in everyone] == list(MENU)
    assert not {"link", "stats", "export", "leads"} & {c["command"] for c in everyone}


@pytest.mark.parametrize("code", LANGUAGES)
async def test_an_admins_command_menu_is_in_admin_language_at_start(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge, code: str
) -> None:
    one, two = fake.user("Ana"), fake.user("Ben")
    settings = make_settings(ADMIN_IDS=f"{one.id},{two.id}", ADMIN_LANGUAGE=code)
    async with running(settings, knowledge):
        texts = knowledge.speaking(code)
        for admin in (one, two):
            menu = fake.commands(chat_scope(admin.id))
            assert [c["command"] for c in menu] == [*MENU, *ADMIN_MENU]
            assert menu[-1]["description"] == texts.text("telegram.admin_commands.leads")
            assert menu[0]["description"] == texts.text("telegram.commands.start")


async def test_an_admin_who_never_wrote_to_the_bot_does_not_stop_it(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    captured_logs: pytest.LogCaptureFixture,
) -> None:
    async with running(make_settings(ADMIN_IDS="987654"), knowledge):
        ann = fake.user("Ann")
        await ann.send_command("id")
        assert str(ann.user.id) in ann.last_message().text
    assert "could not set the admin command menu for 987654" in captured_logs.text


# -- the whole first run ---------------------------------------------------------------------


async def test_an_operators_first_run_from_the_token_to_a_working_sales_chat(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    captured_logs: pytest.LogCaptureFixture,
) -> None:
    """The steps of docs/operating.md "First run": the token alone, /id for ADMIN_IDS, the
    group's id from /id there (or the log line) for SALES_CHAT_ID, then /leads."""
    operator = fake.user("Olga")
    sales = fake.group("Sales")
    fake.set_bot_member(sales, "left")
    # 1. Only the token in .env: the bot runs; /id tells the operator their id.
    async with running(make_settings(), knowledge):
        await operator.send_command("id")
        reply = operator.last_message().text
        assert f"Your Telegram id is {operator.user.id}." in reply and "ADMIN_IDS" in reply
        await operator.send_command("stats")
        assert "don't know that command" in operator.last_message().text
    # 2. ADMIN_IDS set: the operator is an admin; the bot is added to the sales group.
    async with running(make_settings(ADMIN_IDS=str(operator.user.id)), knowledge):
        await operator.send_command("help")
        assert "/leads – " in operator.last_message().text
        assert "leads" in [c["command"] for c in fake.commands(chat_scope(operator.user.id))]
        fake.set_bot_member(sales, "member")
        await fake.wait_for(
            lambda: f"id {sales.id}" in captured_logs.text, 5, what="the group's id logged"
        )
        member = fake.user("Sam", chat=sales)
        await member.send_command("id")
        assert f"This group's id is {sales.id}." in member.last_message().text
    # 3. SALES_CHAT_ID set and restarted: /leads says nothing is wrong with the sales chat.
    settings = make_settings(ADMIN_IDS=str(operator.user.id), SALES_CHAT_ID=str(sales.id))
    async with running(settings, knowledge):
        await operator.send_command("leads")
        leads = operator.last_message().text
        assert leads.startswith("No leads yet.")  # and how they come in
        assert "can't reach the sales chat" not in leads
        assert f"SALES_CHAT_ID={sales.id}: leads go to “Sales”" in captured_logs.text
        assert not any("can't reach the sales chat" in m.text for m in operator.messages())
