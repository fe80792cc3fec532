"""End to end: `python bot.py` as a subprocess, its /metrics scraped while people use it (issue 25).

An operator graphs updates, latency, Bot API errors, the outbox backlog, leads and the sales
chat's health from ``GET /metrics``; these tests scrape it as Prometheus would, parse it with
prometheus_client's own parser, and check each number moves when the bot's world does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from fake_telegram import FakeTelegram
from fake_telegram import updates as u
from tests.e2e.conftest import FINTECH
from tests.e2e.test_hardening_webhook import accepting, webhook_bot
from tests.e2e.test_process import bot_process, free_port, wait_until_polling

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
TOKEN = "metrics-token-for-the-test-0123"


def parse(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when it is not there."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


class Scraper:
    """Scrapes a /metrics URL as Prometheus does."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.text = ""

    async def __call__(self) -> Samples:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url, headers=self.headers) as response,
        ):
            assert response.status == 200, response.status
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            self.text = await response.text()
        return parse(self.text)

    async def until(self, what: str, ok: Callable[[Samples], bool], timeout: float = 30) -> Samples:  # noqa: ASYNC109
        """Scrape until ``ok`` holds for what was scraped (a scrape every tenth of a second)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self()
            if ok(found):
                return found
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last scrape:\n{self.text}")
            await asyncio.sleep(0.1)


UPDATES = "stackadvisor_updates_total"
TURNS = "stackadvisor_turn_seconds_count"
ERRORS = "stackadvisor_bot_api_errors_total"
BACKLOG = "stackadvisor_outbox_backlog"
DELIVERIES = "stackadvisor_lead_deliveries"
SALES_OK = "stackadvisor_sales_chat_ok"


async def test_a_polling_bots_metrics_follow_turns_errors_backlog_leads_and_the_sales_chat(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    sales = fake.group("Sales")
    admin = fake.user("Alice", timeout=20)
    ann = fake.user("Ann", last_name="Qwzxyvuts", timeout=20)
    port = free_port()
    scrape = Scraper(f"http://127.0.0.1:{port}/metrics")
    async with bot_process(
        fake,
        tmp_path,
        LOG_LEVEL="INFO",
        ADMIN_IDS=str(admin.id),
        SALES_CHAT_ID=str(sales.id),
        METRICS_PORT=str(port),
    ):
        await wait_until_polling(fake, 0)
        await accepting(port)
        before = await scrape.until("the sales chat checked", lambda s: value(s, SALES_OK) == 1)
        assert value(before, "stackadvisor_store_up") == 1
        assert value(before, BACKLOG) == 0
        assert total(before, UPDATES) == 0

        # A person's turns: counted by kind and outcome, each timed.
        await ann.send_command("start")
        await ann.press("Python")
        turns = await scrape.until("two turns", lambda s: total(s, UPDATES) >= 2)
        assert value(turns, UPDATES, kind="message", outcome="ok") == 1
        assert value(turns, UPDATES, kind="callback_query", outcome="ok") == 1
        assert value(turns, TURNS) == total(turns, UPDATES)
        assert value(turns, "stackadvisor_turn_seconds_sum") > 0

        # Telegram fails the answer's delivery: an error, and a message owed until it works.
        fake.fail_next("editMessageText", status=500, times=1000)
        fake.fail_next("sendMessage", status=500, times=1000, chat_id=ann.chat.id)
        await ann.press(FINTECH[1], expect_response=False)
        failing = await scrape.until(
            "the failed delivery", lambda s: value(s, BACKLOG) >= 1 and total(s, ERRORS) >= 1
        )
        assert total(failing, ERRORS, kind="server") == total(failing, ERRORS)
        assert total(failing, ERRORS, method="editMessageText") >= 1
        fake.clear_faults("editMessageText")
        fake.clear_faults("sendMessage")
        await scrape.until("the owed message delivered", lambda s: value(s, BACKLOG) == 0)

        # A lead: delivered to the sales chat.
        for label in FINTECH[2:]:
            await ann.press(label)
        await ann.press("💬 Talk to an expert")
        await ann.press("Yes, share")
        await ann.send_text("ann.private.mailbox@example.com")
        leads = await scrape.until(
            "the lead delivered",
            lambda s: value(s, DELIVERIES, state="delivered", destination="telegram") == 1,
        )
        assert value(leads, DELIVERIES, state="pending", destination="telegram") == 0

        # The bot is removed from the sales chat: the gauge drops at once (not within a minute).
        fake.set_bot_member(sales, "kicked")
        await scrape.until("the sales chat broken", lambda s: value(s, SALES_OK) == 0)
        removed = await scrape.until(
            "the membership update counted", lambda s: total(s, UPDATES, kind="my_chat_member")
        )
        assert value(removed, UPDATES, kind="my_chat_member", outcome="ok") == 1

    for personal in (str(ann.user.id), str(sales.id), "Ann", "Qwzxyvuts", "ann.private"):
        assert personal not in scrape.text, personal


async def test_a_webhook_bots_metrics_beside_healthz_ask_for_the_token_when_one_is_set(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async with webhook_bot(fake, tmp_path, METRICS_TOKEN=TOKEN) as (_, hook):
        url = hook.rsplit("/", 1)[0] + "/metrics"
        async with aiohttp.ClientSession() as session, session.get(url) as refused:
            assert refused.status == 401
            assert "stackadvisor" not in await refused.text()
        scrape = Scraper(url, TOKEN)
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")
        await ann.press("Python")
        message = u.text_message(fake.next_message_id(ann.chat.id), ann.user, ann.chat, "x")
        assert await fake.deliver_to_webhook(u.message_update(message), secret="wrong") == 403
        found = await scrape.until("two turns", lambda s: total(s, UPDATES) >= 2)
        assert value(found, UPDATES, kind="message", outcome="ok") == 1
        assert value(found, UPDATES, kind="callback_query", outcome="ok") == 1
        assert value(found, TURNS) == 2, "a refused request is no update"


async def test_in_polling_mode_the_web_pages_server_serves_metrics_too(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    async with bot_process(
        fake, tmp_path, WEB_URL="http://127.0.0.1", WEB_LISTEN="127.0.0.1", WEB_PORT=str(port)
    ):
        await wait_until_polling(fake, 0)
        await accepting(port)
        scrape = Scraper(f"http://127.0.0.1:{port}/metrics")
        ann = fake.user("Ann", timeout=20)
        await ann.send_command("start")
        found = await scrape.until("a turn", lambda s: total(s, UPDATES) >= 1)
        assert value(found, "stackadvisor_store_up") == 1
        assert value(found, BACKLOG) == 0
