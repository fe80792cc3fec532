"""End to end: leads reach the sales team where it works, exactly once, and are never lost.

The real Application against the fake Bot API (and, for the CRM hook, a local HTTP receiver):
the sales chat checked at start-up, deliveries retried after failures, ``/leads`` for admins,
the alert about a stuck lead, and ``/forget`` saying which deliveries already happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from advisor import Knowledge
from fake_telegram import BotUser, FakeTelegram, TgChat
from frontends.telegram import leads as telegram_leads
from handoff import RetrySchedule, crm, desk
from tests.e2e.conftest import FINTECH, MakeSettings, Office, all_text, last_text, running

#: What a prospect must never read: anything about a problem of ours on the way to sales.
ERROR_WORDS = ("wrong", "error", "sorry", "try again", "500", "internal", "failed", "couldn't")
SECRET = "a-very-long-test-secret-0123456789"


def nothing_about_errors(user: BotUser) -> None:
    seen = all_text(user).lower()
    assert not [word for word in ERROR_WORDS if word in seen], seen


async def give_contact(user: BotUser, contact: str, *, link: str | None = None) -> None:
    """Take the quiz, ask for an expert, agree and type an e-mail address."""
    await user.send_command("start", link)
    for label in FINTECH:
        await user.press(label)
    await user.press("💬 Talk to an expert")
    await user.press("Yes, share")
    await user.send_text(contact)
    assert "Thank you! An expert will contact you soon." in user.last_message().text


@pytest.fixture(autouse=True)
def quick_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries looked for twice a second and retried every second, overdue leads every
    half second (the real schedule runs in tests/e2e/test_leads_process.py)."""
    monkeypatch.setattr(telegram_leads, "DELIVER_EVERY_SECONDS", 0.5)
    monkeypatch.setattr(telegram_leads, "ALERT_EVERY_SECONDS", 0.5)
    monkeypatch.setattr(desk, "LEAD_SCHEDULE", RetrySchedule(first=1, factor=1))


# -- the sales chat checked at start-up ------------------------------------------------------


async def test_a_wrong_sales_chat_id_is_reported_at_start_up_and_the_expert_button_is_not_offered(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    admin, other_admin = fake.user("Alice"), fake.user("Omar")
    settings = make_settings(ADMIN_IDS=f"{admin.id},{other_admin.id}", SALES_CHAT_ID="-100999")
    async with running(settings, knowledge):
        ann = fake.user("Ann")
        await ann.send_command("start")
        for label in FINTECH:
            await ann.press(label)
        assert "Recommendation: Django" in ann.last_message().text
        assert "💬 Talk to an expert" not in ann.last_message().labels
        assert "📤 Share" in ann.last_message().labels
    [line] = [r.getMessage() for r in caplog.records if "SALES_CHAT_ID" in r.getMessage()]
    assert line.startswith(
        "SALES_CHAT_ID=-100999: leads can't be posted there: the chat does not exist for the bot"
    )
    assert "(Telegram: Chat not found)" in line and "button is off until it works" in line
    for someone in (admin, other_admin):
        [told] = [m.text for m in someone.messages()]
        assert "Leads can't reach the sales chat (SALES_CHAT_ID -100999)" in told
        assert "Telegram says the chat does not exist, or I am not in it" in told
        assert "button is off until this works" in told


async def test_a_sales_chat_the_bot_is_not_in_gets_the_button_once_the_bot_is_added(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    admin = fake.user("Alice")
    sales = TgChat(-1_009_000_000_001, "supergroup", title="Sales")
    fake.state.add_chat(sales)
    fake.state.set_bot_member(sales, "left")
    settings = make_settings(ADMIN_IDS=str(admin.id), SALES_CHAT_ID=str(sales.id))
    async with running(settings, knowledge):
        ann = fake.user("Ann")
        await ann.send_command("start")
        for label in FINTECH:
            await ann.press(label)
        assert "💬 Talk to an expert" not in ann.last_message().labels
        assert "I am not a member of the chat" in admin.last_message().text

        fake.set_bot_member(sales, "member", by=admin.user)  # an admin adds the bot
        await fake.wait_for(lambda: "✅" in admin.last_message().text, what="the all-clear")
        assert "The sales chat “Sales” works" in admin.last_message().text
        bob = fake.user("Bob")
        await give_contact(bob, "bob@example.com")
        await fake.wait_for(lambda: len(fake.messages(sales)) == 1, what="the lead")


async def test_a_sales_chat_where_the_bot_may_not_write_is_reported_as_such(
    fake: FakeTelegram, make_settings: MakeSettings, knowledge: Knowledge
) -> None:
    admin = fake.user("Alice")
    sales = fake.group("Sales")
    fake.state.set_bot_member(sales, "restricted", can_send_messages=False)
    async with running(
        make_settings(ADMIN_IDS=str(admin.id), SALES_CHAT_ID=str(sales.id)), knowledge
    ):
        ann = fake.user("Ann")
        await ann.send_command("start")
        for label in FINTECH:
            await ann.press(label)
        assert "💬 Talk to an expert" not in ann.last_message().labels
    assert "I am not allowed to send messages there" in admin.last_message().text


# -- the sales chat failing, then recovering -----------------------------------------------------


async def test_the_sales_chat_failing_with_500s_then_recovering_gets_every_lead_exactly_once(
    office: Office,
) -> None:
    fake = office.fake
    fake.fail_next("sendMessage", status=500, times=5, chat_id=office.sales.id)
    people = [fake.user(name) for name in ("Ann", "Bob", "Cleo")]
    for person in people:
        await give_contact(person, f"{person.user.first_name.lower()}@example.com")
    summaries = await office.sales_summaries(3, timeout=30)
    assert fake.faults_left("sendMessage") == 0, "every failure happened on the way"
    await asyncio.sleep(1.5)  # a few more delivery rounds: nothing is sent again
    assert sorted(office.sales_texts()) == sorted(summaries)
    for person in people:
        contact = f"{person.user.first_name.lower()}@example.com"
        assert [s for s in summaries if f"Contact: {contact}" in s] != []
        assert sum(f"Contact: {contact}" in s for s in office.sales_texts()) == 1
        nothing_about_errors(person)
        assert "Thank you! An expert will contact you soon." in all_text(person)
    rows = office.rows("SELECT status, attempts FROM lead_deliveries ORDER BY lead_id")
    assert [status for status, _ in rows] == ["delivered"] * 3
    assert sum(int(str(attempts)) for _, attempts in rows) == 3 + 5  # 3 arrivals, 5 failures
    failed = [c for c in fake.calls_to("sendMessage") if c.chat_id == office.sales.id and not c.ok]
    assert len(failed) == 5


async def test_a_lead_is_stored_and_the_person_thanked_when_the_sales_chat_is_down(
    office: Office,
) -> None:
    fake = office.fake
    fake.fail_next("sendMessage", status=500, times=1000, chat_id=office.sales.id)
    ann = fake.user("Ann")
    await give_contact(ann, "ann@example.com")
    await fake.wait_for(
        lambda: any(c.chat_id == office.sales.id for c in fake.calls_to("sendMessage")),
        what="an attempt",
    )
    await ann.send_command("start")  # she carries on as if nothing happened: nothing did
    nothing_about_errors(ann)
    assert office.rows("SELECT contact FROM leads") == [("ann@example.com",)]
    [(status, error)] = office.rows("SELECT status, last_error FROM lead_deliveries")
    assert status == "pending" and "Internal Server Error" in str(error)
    fake.clear_faults("sendMessage")


# -- /leads, the alert, /stats ---------------------------------------------------------------


async def test_admins_see_a_stuck_lead_with_its_reason_and_can_try_it_again(
    office: Office,
) -> None:
    fake = office.fake
    fake.fail_next("sendMessage", status=500, times=1000, chat_id=office.sales.id)
    ann = fake.user("Ann")
    await give_contact(ann, "ann@example.com", link=None)
    await fake.wait_for(lambda: office.rows("SELECT attempts FROM lead_deliveries") != [(0,)])
    await office.admin.send_command("leads")
    title, card, latest = office.admin.messages()[-3:]
    assert "Leads waiting to be delivered: 1" in title.text
    assert "• Sales chat: waiting, " in latest.text  # then the latest leads, this one too
    assert "Lead #1" in card.text and "Ann · ann@example.com" in card.text
    assert "Sales chat: not delivered yet" in card.text
    assert "Last problem: Telegram did not take it: Internal Server Error" in card.text
    assert card.labels == ["🔁 Try again now", "✅ Mark as handled"]

    fake.clear_faults("sendMessage")  # the sales chat works again
    await office.admin.press("🔁 Try again now", in_message=card.message_id)
    [card_now] = [m for m in office.admin.messages() if m.message_id == card.message_id]
    assert "Sales chat: delivered" in card_now.text
    assert "Delivered everywhere. Nothing more to do." in card_now.text
    assert card_now.labels == []
    [summary] = office.sales_texts()
    assert "Contact: ann@example.com" in summary
    await office.admin.send_command("leads")
    assert "Every lead has been delivered" in office.admin.last_message().text


async def test_an_admin_marks_a_stuck_lead_as_handled_and_it_is_never_sent(
    office: Office,
) -> None:
    fake = office.fake
    fake.fail_next("sendMessage", status=500, times=1000, chat_id=office.sales.id)
    ann = fake.user("Ann")
    await give_contact(ann, "ann@example.com")
    await office.admin.send_command("leads")
    card = office.admin.messages()[-2]  # the latest leads follow the cards
    await office.admin.press("✅ Mark as handled", in_message=card.message_id)
    [card_now] = [m for m in office.admin.messages() if m.message_id == card.message_id]
    assert "Sales chat: marked as handled" in card_now.text
    fake.clear_faults("sendMessage")
    await asyncio.sleep(1.5)
    assert office.sales_texts() == []
    await office.admin.send_command("stats")
    assert "Leads right now: 1 delivered or handled, 0 waiting" in last_text(office.admin)


async def test_lead_buttons_do_nothing_for_someone_who_is_not_an_admin(office: Office) -> None:
    fake = office.fake
    fake.fail_next("sendMessage", status=500, times=1000, chat_id=office.sales.id)
    ann = fake.user("Ann")
    await give_contact(ann, "ann@example.com")
    mallory = fake.user("Mallory")
    calls = await mallory.press_data(1, "L1|h|1")
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answers and "can't use that button" in answers[0].params.get("text", "")
    assert office.rows("SELECT status FROM lead_deliveries") == [("pending",)]
    fake.clear_faults("sendMessage")


async def test_admins_are_alerted_once_about_a_lead_failing_longer_than_the_threshold(
    office: Office,
) -> None:
    fake = office.fake
    fake.fail_next(
        "sendMessage",
        status=403,
        times=1000,
        chat_id=office.sales.id,
        description="Forbidden: bot was kicked from the group chat",
    )
    ann = fake.user("Ann")
    await give_contact(ann, "ann@example.com")
    await fake.wait_for(
        lambda: office.rows("SELECT failing_since FROM lead_deliveries") != [(None,)]
    )
    before = len(office.admin.messages())
    office.rows("UPDATE lead_deliveries SET failing_since = failing_since - 16 * 60")
    await fake.wait_for(lambda: len(office.admin.messages()) > before, what="the alert")
    await asyncio.sleep(1.5)  # several more rounds of the alert job: no second alert
    alerts = [m.text for m in office.admin.messages()[before:] if "not delivered" in m.text]
    assert len(alerts) == 1
    assert "Leads not delivered after 15 min or more: 1" in alerts[0]
    assert "Lead #1 (Ann), Sales chat: Telegram refused: Forbidden: bot was kicked" in alerts[0]
    assert "Send /leads" in alerts[0]
    fake.clear_faults("sendMessage")


async def test_stats_count_leads_delivered_and_waiting(office: Office) -> None:
    fake = office.fake
    ann, bob = fake.user("Ann"), fake.user("Bob")
    await give_contact(ann, "ann@example.com")
    await office.sales_summaries(1)
    fake.fail_next("sendMessage", status=500, times=1000, chat_id=office.sales.id)
    await give_contact(bob, "bob@example.com")
    await office.admin.send_command("stats")
    assert "Leads right now: 1 delivered or handled, 1 waiting to be delivered (see /leads)" in (
        last_text(office.admin)
    )
    fake.clear_faults("sendMessage")


# -- /forget ---------------------------------------------------------------------------------


async def test_forget_after_the_lead_arrived_says_the_sales_team_has_it(office: Office) -> None:
    ann = office.fake.user("Ann")
    await give_contact(ann, "ann@example.com")
    await office.sales_summaries(1)
    await ann.send_command("forget")
    await ann.press("Yes, delete everything")
    text = ann.last_message().text
    assert "Everything I stored about you is deleted." in text
    assert "already reached our sales team in Telegram" in text
    assert "can't take that message back" in text
    assert office.rows("SELECT count(*) FROM lead_deliveries") == [(0,)]


async def test_forget_before_the_lead_arrived_withdraws_it_for_good(office: Office) -> None:
    fake = office.fake
    fake.fail_next("sendMessage", status=500, times=1000, chat_id=office.sales.id)
    ann = fake.user("Ann")
    await give_contact(ann, "ann@example.com")
    await ann.send_command("forget")
    await ann.press("Yes, delete everything")
    text = ann.last_message().text
    assert "Your contact had not reached our team yet, and now it never will." in text
    assert "sales team in Telegram" not in text
    assert office.rows("SELECT count(*) FROM leads") == [(0,)]
    assert office.rows("SELECT count(*) FROM lead_deliveries") == [(0,)]
    fake.clear_faults("sendMessage")
    await asyncio.sleep(1.5)
    assert office.sales_texts() == []


# -- the CRM hook ----------------------------------------------------------------------------


@dataclass
class Receiver:
    """A team's own endpoint for leads: verifies each request, fails on request."""

    #: What to do with the next requests: a status to answer, or "stall" (no answer in time).
    script: list[int | str] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.requests.append((headers, body))
        if not valid_signature(headers, body):
            self.bad_signatures += 1
            return web.Response(status=401)
        action = self.script.pop(0) if self.script else 200
        if action == "stall":
            await asyncio.sleep(3)  # the bot gave up after 1 s; this never counts
            return web.Response(status=200)
        assert isinstance(action, int)
        if action == 200:
            self.accepted.append(json.loads(body))
        return web.Response(status=action)


def valid_signature(headers: dict[str, str], body: bytes) -> bool:
    """Checked as docs/sales.md tells a receiver to, written out here independently."""
    timestamp = headers.get("X-StackAdvisor-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    given = headers.get("X-StackAdvisor-Signature", "")
    return hmac.compare_digest("sha256=" + expected.hexdigest(), given)


@pytest.fixture
async def receiver(unused_tcp_port: int) -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/leads", found.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    found.url = f"http://127.0.0.1:{unused_tcp_port}/hooks/leads?token=zap-123"
    yield found
    await runner.cleanup()


@pytest.fixture
def quick_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(crm, "TIMEOUT_SECONDS", 1.0)
    yield


async def test_the_crm_hook_gets_each_lead_once_with_a_valid_signature_despite_failures(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    receiver: Receiver,
    quick_hook: None,
) -> None:
    receiver.script = [500, "stall", 502, 200, 500]
    admin = fake.user("Alice")
    settings = make_settings(
        LEAD_WEBHOOK_URL=receiver.url, LEAD_WEBHOOK_SECRET=SECRET, ADMIN_IDS=str(admin.id)
    )
    async with running(settings, knowledge):
        await admin.send_command("link", "spring")
        ann, bob = fake.user("Ann", last_name="Lee"), fake.user("Bob")
        await give_contact(ann, "ann@example.com", link="spring")
        await give_contact(bob, "bob@example.com")
        await fake.wait_for(lambda: len(receiver.accepted) == 2, timeout=40, what="both leads")
        await asyncio.sleep(1.5)  # more delivery rounds: nothing is sent again
        for person in (ann, bob):
            nothing_about_errors(person)
    assert receiver.bad_signatures == 0
    assert len(receiver.requests) >= 2 + 4  # each lead once, plus the four failed attempts
    ids = [lead["lead_id"] for lead in receiver.accepted]
    assert len(set(ids)) == 2
    bodies: dict[str, set[bytes]] = {}
    for headers, body in receiver.requests:  # every attempt of a lead: the same body and key
        lead_id = json.loads(body)["lead_id"]
        assert headers["Idempotency-Key"] == lead_id
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        bodies.setdefault(lead_id, set()).add(body)
    assert all(len(versions) == 1 for versions in bodies.values())
    by_contact = {lead["contact"]: lead for lead in receiver.accepted}
    anns = by_contact["ann@example.com"]
    assert anns["name"] == "Ann Lee"
    assert anns["contact_type"] == "email"
    assert anns["recommendation"] == "django" and anns["recommendation_label"] == "Django"
    assert anns["answers"][0]["answer"] == "Python"
    assert anns["consented_at"].endswith("Z")
    assert anns["event"] == "lead.created" and anns["version"] == 2
    assert anns["source"] == "spring"
    assert anns["language"] == "en"
    assert anns["source_link"] == "https://t.me/stack_advisor_test_bot?start=spring"
    assert set(anns) == {
        "event", "version", "lead_id", "name", "contact", "contact_type", "channel",
        "language", "source", "source_link", "recommendation", "recommendation_label",
        "confidence", "points", "ledger", "answers", "consented_at",
    }  # fmt: skip
    assert anns["channel"] == "telegram"
    # The result's own ledger, the same lines the person saw: they add up to its points.
    for side in ("django", "nodejs"):
        given = sum(e["points"] for e in anns["ledger"] if e["side"] == side)
        assert given == anns["points"][side]
    assert [e["source"] for e in anns["ledger"][:6]] == [
        "community", "scalability", "architecture", "security", "usability", "performance",
    ]  # fmt: skip
    assert all(e["beyond_article"] for e in anns["ledger"][6:])
    assert "user_id" not in json.dumps(anns)  # nothing beyond what she agreed to share
    assert by_contact["bob@example.com"]["source"] is None


async def test_with_only_a_crm_hook_the_expert_button_is_offered_and_the_link_is_sent(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    receiver: Receiver,
    quick_hook: None,
) -> None:
    settings = make_settings(LEAD_WEBHOOK_URL=receiver.url, LEAD_WEBHOOK_SECRET=SECRET)
    async with running(settings, knowledge):
        ann = fake.user("Ann")
        await give_contact(ann, "ann@example.com")  # the button is there: no sales chat needed
        await fake.wait_for(lambda: len(receiver.accepted) == 1, what="the lead")
    [lead] = receiver.accepted
    assert lead["source"] is None and lead["source_link"] is None
    assert receiver.requests[0][0]["Idempotency-Key"] == lead["lead_id"]


async def test_with_a_crm_hook_a_broken_sales_chat_keeps_the_button_and_its_leads_wait(
    fake: FakeTelegram,
    make_settings: MakeSettings,
    knowledge: Knowledge,
    receiver: Receiver,
    quick_hook: None,
) -> None:
    admin = fake.user("Alice")
    settings = make_settings(
        SALES_CHAT_ID="-100999",
        ADMIN_IDS=str(admin.id),
        LEAD_WEBHOOK_URL=receiver.url,
        LEAD_WEBHOOK_SECRET=SECRET,
    )
    async with running(settings, knowledge):
        told = admin.last_message().text
        assert "Leads can't reach the sales chat (SALES_CHAT_ID -100999)" in told
        assert "Leads still go to the CRM hook" in told and "button is off" not in told
        ann = fake.user("Ann")
        await give_contact(ann, "ann@example.com")
        await fake.wait_for(lambda: len(receiver.accepted) == 1, what="the lead in the CRM")
        await admin.send_command("leads")
        card = admin.messages()[-2].text  # the latest leads follow the cards
        assert "CRM hook: delivered" in card
        assert "Sales chat: not delivered yet (tries: 1). Last problem: Telegram refused" in card
        nothing_about_errors(ann)


async def test_stats_say_one_lead_and_two_leads_not_one_leads(office: Office) -> None:
    ann, bob = office.fake.user("Ann"), office.fake.user("Bob")
    await give_contact(ann, "ann@example.com")
    await office.sales_summaries(1)
    await office.admin.send_command("stats")
    one = last_text(office.admin)
    assert "Overall: 1 started, 1 finished (100%), 0 shared, 1 lead\n" in one
    assert "1 leads" not in one
    assert "Leads right now: 1 delivered or handled, 0 waiting to be delivered" in one
    assert "Last 7 days" in one and "Last 30 days" in one
    await give_contact(bob, "bob@example.com")
    await office.sales_summaries(2)
    await office.admin.send_command("stats")
    assert "Overall: 2 started, 2 finished (100%), 0 shared, 2 leads\n" in last_text(office.admin)


async def test_a_portuguese_speakers_lead_names_their_language_in_the_sales_chat(
    office: Office, knowledge: Knowledge
) -> None:
    pt = knowledge.speaking("pt")
    ana = office.fake.user("Ana", language_code="pt-BR")
    await ana.send_command("start")
    for question in pt.questions:
        if question.prompt in ana.last_message().text:
            await ana.press(question.options[0].label)
    await ana.press(pt.text("lead.button"))
    await ana.press(pt.text("lead.consent_yes"))
    await ana.send_text("ana@example.com")
    [summary] = await office.sales_summaries(1)
    assert "Language: Português" in summary.splitlines()
    [lead] = office.rows("SELECT language FROM leads")
    assert lead == ("pt",)
