"""End to end: ``/leads`` lists the latest leads, not only the stuck ones, with how each
delivery went — delivered, handled, or waiting and why — newest first, a page at a time, in the
admin's language, in messages Telegram takes.

The real Application against the fake Bot API (and, for the CRM hook, a local HTTP receiver).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from advisor import Knowledge
from fake_telegram import FakeTelegram
from frontends.telegram import leads as telegram_leads
from handoff import RetrySchedule, desk
from tests.e2e.conftest import MakeSettings, Office, running
from tests.e2e.test_leads import SECRET, Receiver, give_contact

#: A delivery time, a next try: "14:02", or with its date on another day.
CLOCK = r"(\d{4}-\d\d-\d\d )?\d\d:\d\d"


@pytest.fixture(autouse=True)
def quick_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries looked for twice a second and retried every second."""
    monkeypatch.setattr(telegram_leads, "DELIVER_EVERY_SECONDS", 0.5)
    monkeypatch.setattr(desk, "LEAD_SCHEDULE", RetrySchedule(first=1, factor=1))


@pytest.fixture
async def failing_crm(unused_tcp_port: int) -> AsyncIterator[Receiver]:
    """A CRM hook that answers every lead with 500."""
    found = Receiver(script=[500] * 1000)
    app = web.Application()
    app.router.add_post("/hooks/leads", found.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    found.url = f"http://127.0.0.1:{unused_tcp_port}/hooks/leads"
    yield found
    await runner.cleanup()


async def test_leads_before_the_first_lead_says_there_are_none_and_how_they_come_in(
    office: Office,
) -> None:
    await office.admin.send_command("leads")
    [reply] = [m.text for m in office.admin.messages()]
    assert reply.startswith("No leads yet.")
    assert "taps “💬 Talk to an expert” and leaves a contact" in reply


async def test_leads_lists_a_delivered_lead_as_delivered_to_the_sales_chat(
    office: Office,
) -> None:
    await office.admin.send_command("link", "spring")
    ann = office.fake.user("Ann")
    await give_contact(ann, "ann@example.com", link="spring")
    await office.sales_summaries(1)
    await office.admin.send_command("leads")
    reply = office.admin.last_message()
    lines = reply.text.splitlines()
    assert lines[0] == "Every lead has been delivered. Nothing is waiting."
    assert "The latest lead" in lines
    [head] = [line for line in lines if line.startswith("Lead #1 · ")]
    assert re.fullmatch(r"Lead #1 · \d{4}-\d\d-\d\d \d\d:\d\d UTC · Ann", head)
    assert "Django · Link: spring · English" in lines
    assert [line for line in lines if re.fullmatch(rf"• Sales chat: delivered {CLOCK}", line)]
    assert "ann@example.com" not in reply.text  # the contact stays in the sales chat
    assert reply.labels == []  # nothing older, nothing to do


async def test_leads_shows_a_lead_whose_crm_hook_fails_as_waiting_with_the_reason(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    failing_crm: Receiver,
) -> None:
    admin = fake.user("Alice")
    settings = make_settings(
        ADMIN_IDS=str(admin.id), LEAD_WEBHOOK_URL=failing_crm.url, LEAD_WEBHOOK_SECRET=SECRET
    )
    async with running(settings, knowledge):
        await give_contact(fake.user("Ann"), "ann@example.com")
        await fake.wait_for(lambda: len(failing_crm.requests) >= 2, what="two failed attempts")
        await admin.send_command("leads")
        texts = [m.text for m in admin.messages()]
    title, card, latest = texts[-3:]
    assert "Leads waiting to be delivered: 1" in title
    assert "Lead #1" in card  # what needs action comes first, with its buttons
    assert admin.messages()[-2].labels == ["🔁 Try again now", "✅ Mark as handled"]
    assert "The latest lead" in latest and "Every lead has been delivered" not in latest
    [line] = [line for line in latest.splitlines() if line.startswith("• CRM hook:")]
    assert re.fullmatch(
        rf"• CRM hook: waiting, (next try {CLOCK}|trying again now) \(\d+ tries so far; "
        r"last problem: the CRM hook at .+ answered 500 Internal Server Error\)",
        line,
    ), line


async def test_leads_lists_the_latest_newest_first_a_page_at_a_time(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram_leads, "LATEST_SHOWN", 3)
    names = ["Ann", "Bob", "Cleo", "Dan", "Eve"]
    for number, name in enumerate(names, start=1):
        await give_contact(office.fake.user(name), f"{name.lower()}@example.com")
        await office.sales_summaries(number)

    await office.admin.send_command("leads")
    page = office.admin.last_message()
    assert "The latest 3 leads, newest first" in page.text
    assert heads(page.text) == ["Eve", "Dan", "Cleo"]
    assert page.labels == ["⬇️ Show older leads"]

    await office.admin.press("⬇️ Show older leads", in_message=page.message_id)
    older = office.admin.last_message()
    assert older.message_id != page.message_id
    assert "2 older leads, newest first" in older.text
    assert heads(older.text) == ["Bob", "Ann"] and older.labels == []
    [pressed] = [m for m in office.admin.messages() if m.message_id == page.message_id]
    assert pressed.labels == []  # pressed once, the button is gone

    await office.admin.send_command("leads", "2")
    assert heads(office.admin.last_message().text) == ["Eve", "Dan"]
    await office.admin.send_command("leads", "all")
    assert heads(office.admin.last_message().text) == ["Eve", "Dan", "Cleo", "Bob", "Ann"]


def heads(text: str) -> list[str]:
    """The names of the leads listed, in order."""
    return [line.rsplit(" · ", 1)[1] for line in text.splitlines() if line.startswith("Lead #")]


async def test_a_russian_admin_sees_the_latest_leads_in_russian(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    admin = fake.user("Алиса", language_code="ru")
    sales = fake.group("Продажи")
    settings = make_settings(ADMIN_IDS=str(admin.id), SALES_CHAT_ID=str(sales.id))
    async with running(settings, knowledge):
        await give_contact(fake.user("Ann"), "ann@example.com")
        await give_contact(fake.user("Bob"), "bob@example.com")
        await fake.wait_for(lambda: len(fake.messages(sales)) == 2, what="both leads")
        await admin.send_command("leads")
        text = admin.last_message().text
    lines = text.splitlines()
    assert lines[0] == "Все заявки отправлены. Ничего не ждёт."
    assert "Последние 2 заявки, сначала новые" in lines
    assert [line for line in lines if re.fullmatch(r"Заявка №2 · .+ UTC · Bob", line)]
    assert "Django · Ссылка: (без ссылки) · English" in lines
    assert (
        len([line for line in lines if re.fullmatch(rf"• Чат продаж: доставлена {CLOCK}", line)])
        == 2
    )


async def test_a_forged_or_stale_show_older_button_gets_a_polite_answer(office: Office) -> None:
    await give_contact(office.fake.user("Ann"), "ann@example.com")
    await office.sales_summaries(1)
    await office.admin.send_command("leads")
    listed = office.admin.last_message()
    shown = len(office.admin.messages())

    calls = await office.admin.press_data(listed.message_id, "L1|o|1")  # nothing below #1
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answer.params.get("text") == "There are no older leads."
    assert len(office.admin.messages()) == shown  # no error, nothing else said

    mallory = office.fake.user("Mallory")
    calls = await mallory.press_data(1, "L1|o|5")
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "can't use that button" in answer.params.get("text", "")
    assert not [c for c in calls if c.method == "sendMessage" and "Lead #" in str(c.params)]


async def test_fifty_leads_fit_in_messages_telegram_takes_and_no_lead_is_cut(
    office: Office,
) -> None:
    awkward = "Zoë <b>&amp;</b> 🎉" * 12  # long, escaped, emoji counted twice by Telegram
    for number in range(1, 51):
        office.rows(
            "INSERT INTO leads (key, at, chat_id, user_id, name, contact, source, "
            "recommendation, answers, channel, language) "
            "VALUES (?, ?, ?, ?, ?, 'x@example.com', ?, 'nodejs', ?, 'telegram', 'ru')",
            str(uuid.uuid4()),
            1_800_000_000 + number * 60,
            1000 + number,
            1000 + number,
            f"{number:02d} {awkward}",
            f"link_{number}",
            json.dumps({"team": "javascript"}),
        )
        office.rows(
            "INSERT INTO lead_deliveries (lead_id, user_id, destination, status, attempts, "
            "next_attempt_at, delivered_at, created_at) "
            "SELECT id, user_id, 'telegram', ?, 1, at, at + 90, at FROM leads WHERE user_id = ?",
            "delivered" if number % 2 else "handled",
            1000 + number,
        )
    before = len(office.admin.messages())
    await office.admin.send_command("leads", "50")
    await office.fake.wait_for(
        lambda: "Lead #1 · " in office.admin.last_message().text, what="the oldest of the 50"
    )
    messages = office.admin.messages()[before:]
    assert len(messages) > 1
    assert all(len(m.text.encode("utf-16-le")) // 2 <= 4096 for m in messages)
    listed = [line for m in messages for line in m.text.splitlines() if line.startswith("Lead #")]
    assert [line.split(" · ")[0] for line in listed] == [f"Lead #{n}" for n in range(50, 0, -1)]
    for m in messages:  # every lead whole: its head, what it was, and its delivery
        blocks = m.text.split("\n\n")
        for block in blocks:
            if block.startswith("Lead #"):
                head, about, delivery = block.splitlines()
                assert head.endswith("…") and "Node.js · Link: link_" in about
                assert delivery.startswith(("• Sales chat: delivered ", "• Sales chat: marked"))
