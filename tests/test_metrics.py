"""The Prometheus metrics (issue 25): what is counted, what a scrape reads, and what it never
shows."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError

from fake_telegram import FakeTelegram
from frontends import metrics as m
from frontends.metrics import Metrics
from frontends.telegram.acks import Acknowledgements, process
from frontends.telegram.transport import AiohttpRequest, failure
from settings import SettingsError, load_settings
from storage.base import Backlog

os.environ.setdefault("PTB_TIMEDELTA", "1")
TOKEN = "123456:ABCdef_ghi-jkl"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples((await metrics.scrape()).decode())


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


class Update:
    """The parts of a Telegram update the metrics look at."""

    def __init__(self, update_id: int, kind: str = "message") -> None:
        self.update_id = update_id
        self.effective_user = None
        setattr(self, kind, object())


class Store:
    """What the metrics read from the store, as the test sets it."""

    def __init__(self, backlog: Backlog, *, delay: float = 0.0) -> None:
        self.answer = backlog
        self.delay = delay
        self.clock = lambda: 1_000.0

    async def backlog(self) -> Backlog:
        await asyncio.sleep(self.delay)
        return self.answer


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


# -- updates -----------------------------------------------------------------------------------


async def test_a_handled_update_is_counted_by_kind_and_outcome_and_timed() -> None:
    metrics = Metrics()
    metrics.update_done(Update(1), "ok", 0.004)
    metrics.update_done(Update(2, "callback_query"), "duplicate", 0.3)
    metrics.update_done(Update(3, "poll"), "failed", 20.0)
    found = await scrape(metrics)
    total = "stackadvisor_updates_total"
    assert value(found, total, kind="message", outcome="ok") == 1
    assert value(found, total, kind="callback_query", outcome="duplicate") == 1
    assert value(found, total, kind="other", outcome="failed") == 1
    assert value(found, total, kind="message", outcome="refused") == 0, "there from the start"
    assert value(found, "stackadvisor_turn_seconds_count") == 3
    assert value(found, "stackadvisor_turn_seconds_bucket", le="0.005") == 1
    assert value(found, "stackadvisor_turn_seconds_bucket", le="0.5") == 2
    assert value(found, "stackadvisor_turn_seconds_bucket", le="10.0") == 2
    assert value(found, "stackadvisor_turn_seconds_bucket", le="+Inf") == 3


async def test_two_applications_in_one_process_keep_their_own_numbers() -> None:
    first, second = Metrics(), Metrics()
    first.update_done(Update(1), "ok", 0.01)
    assert value(await scrape(first), "stackadvisor_turn_seconds_count") == 1
    assert value(await scrape(second), "stackadvisor_turn_seconds_count") == 0


class App:
    """An application whose update processor runs the update's coroutine as it is; the
    handler notes ``outcome`` ("refused": the turn did not commit)."""

    def __init__(self, acks: Acknowledgements, outcome: str = "ok") -> None:
        self.update_processor = self
        self.acks = acks
        self.outcome = outcome

    async def process_update(self, update: Any, coroutine: Any = None) -> None:
        if coroutine is not None:
            await coroutine
        elif self.outcome == "refused":
            self.acks.failed(update.update_id, 1)
        elif self.outcome != "ok":
            self.acks.note(update.update_id, self.outcome)


@pytest.mark.parametrize("outcome", ["ok", "duplicate", "failed", "refused"])
async def test_each_update_handled_is_reported_once_with_what_became_of_it(outcome: str) -> None:
    acks = Acknowledgements()
    seen: list[tuple[int, str, float]] = []
    acks.observe = lambda update, result, seconds: seen.append((update.update_id, result, seconds))
    await process(App(acks, outcome), acks, Update(7))  # type: ignore[arg-type]
    await process(App(acks), acks, Update(8))  # type: ignore[arg-type]
    [(first, result, seconds), (second, then, _)] = seen
    assert (first, result, second, then) == (7, outcome, 8, "ok")
    assert 0 <= seconds < 5


def test_an_update_given_up_after_too_many_tries_is_reported_as_given_up() -> None:
    acks = Acknowledgements(max_tries=1, give_up_seconds=0)
    assert not acks.failed(9, 1)
    assert acks.outcome(9) == "given_up"
    assert acks.outcome(9) == "ok", "told once"


# -- Bot API errors ----------------------------------------------------------------------------


async def test_failed_bot_api_calls_are_counted_by_method_and_kind_never_the_token(
    fake: FakeTelegram,
) -> None:
    metrics = Metrics()
    request = AiohttpRequest(4)
    request.failed = metrics.bot_api_error
    bot = Bot(TOKEN, base_url=f"{fake.root_url}/bot", request=request)
    ann = fake.user("Ann")
    await ann.send_command("start", expect_response=False)
    await request.initialize()
    try:
        await bot.send_message(ann.chat.id, "fine")
        fake.fail_next("sendMessage", status=400, description="Bad Request: chat 42 not found")
        with pytest.raises(BadRequest):
            await bot.send_message(ann.chat.id, "refused")
        fake.block(ann.user.id)
        with pytest.raises(Forbidden):
            await bot.send_message(ann.chat.id, "blocked")
        fake.fail_next("editMessageText", status=502)
        with pytest.raises(NetworkError):
            await bot.edit_message_text("x", chat_id=ann.chat.id, message_id=1)
    finally:
        await request.shutdown()
    text = (await metrics.scrape()).decode()
    found = samples(text)
    errors = "stackadvisor_bot_api_errors_total"
    assert value(found, errors, method="sendMessage", kind="bad_request") == 1
    assert value(found, errors, method="sendMessage", kind="forbidden") == 1
    assert value(found, errors, method="editMessageText", kind="server") == 1
    assert sum(v for (name, _), v in found.items() if name == errors) == 3
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert str(ann.chat.id) not in text and "not found" not in text


def test_every_http_failure_has_a_kind_of_its_own_or_other() -> None:
    assert [failure(s) for s in (400, 401, 403, 404, 409, 429, 500, 502, 418)] == [
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "retry_after",
        "server",
        "server",
        "other",
    ]


async def test_a_strange_method_or_kind_is_counted_as_other() -> None:
    metrics = Metrics()
    metrics.bot_api_error("http://x/bot1:A/send message?chat=5", "timeout")
    metrics.bot_api_error("http://x/bot1:A/getMe", "weird")
    found = await scrape(metrics)
    errors = "stackadvisor_bot_api_errors_total"
    assert value(found, errors, method="other", kind="timeout") == 1
    assert value(found, errors, method="getMe", kind="other") == 1


# -- read at each scrape -----------------------------------------------------------------------


async def test_the_backlog_and_the_leads_deliveries_are_read_from_the_store_at_each_scrape() -> (
    None
):
    metrics = Metrics()
    store = Store(
        Backlog(
            outbox=3,
            deliveries={("delivered", "telegram"): 5, ("failing", "webhook"): 2},
            oldest_waiting={"webhook": 400},
        )
    )
    metrics.watch_store(store)
    found = await scrape(metrics)
    assert value(found, "stackadvisor_store_up") == 1
    assert value(found, "stackadvisor_outbox_backlog") == 3
    deliveries = "stackadvisor_lead_deliveries"
    assert value(found, deliveries, state="delivered", destination="telegram") == 5
    assert value(found, deliveries, state="failing", destination="webhook") == 2
    oldest = "stackadvisor_lead_oldest_waiting_seconds"
    assert value(found, oldest, destination="webhook") == 600
    store.answer = Backlog(outbox=0)
    found = await scrape(metrics)
    assert value(found, "stackadvisor_outbox_backlog") == 0
    assert value(found, deliveries, state="delivered", destination="telegram") is None


async def test_a_slow_database_does_not_hold_the_scrape_up_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(m, "STORE_TIMEOUT", 0.05)
    metrics = Metrics()
    metrics.watch_store(Store(Backlog(outbox=3), delay=30))
    metrics.update_done(Update(1), "ok", 0.01)
    found = await asyncio.wait_for(scrape(metrics), 5)
    assert value(found, "stackadvisor_store_up") == 0
    assert value(found, "stackadvisor_outbox_backlog") is None, "no stale number"
    assert value(found, "stackadvisor_turn_seconds_count") == 1, "the rest is still there"


async def test_the_sales_chat_gauge_shows_what_its_last_check_found() -> None:
    metrics = Metrics()
    works: list[bool | None] = [None]
    metrics.watch_sales_chat(lambda: works[0])
    assert value(await scrape(metrics), "stackadvisor_sales_chat_ok") is None, "not checked yet"
    works[0] = True
    assert value(await scrape(metrics), "stackadvisor_sales_chat_ok") == 1
    works[0] = False
    assert value(await scrape(metrics), "stackadvisor_sales_chat_ok") == 0


# -- serving -----------------------------------------------------------------------------------


@pytest.fixture
async def served() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    metrics = Metrics(token="a-long-metrics-token-123")
    app = web.Application()
    metrics.add_route(app)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_metrics_with_a_token_are_refused_without_it(
    served: TestClient[web.Request, web.Application],
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "a-long-metrics-token-123"},
    ):
        response = await served.get("/metrics", headers=headers)
        assert response.status == 401
        assert "stackadvisor" not in await response.text()
    response = await served.get(
        "/metrics", headers={"Authorization": "Bearer a-long-metrics-token-123"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert "stackadvisor_updates_total" in await response.text()


# -- settings ----------------------------------------------------------------------------------

BASE = {"BOT_TOKEN": TOKEN}


def test_metrics_settings_default_to_no_port_of_their_own_on_this_machine() -> None:
    settings = load_settings(BASE)
    assert (settings.metrics_port, settings.metrics_listen, settings.metrics_token) == (
        None,
        "127.0.0.1",
        None,
    )
    settings = load_settings({**BASE, "METRICS_PORT": "9464", "METRICS_LISTEN": "0.0.0.0"})
    assert (settings.metrics_port, settings.metrics_listen) == (9464, "0.0.0.0")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"METRICS_PORT": "nine"}, r"^METRICS_PORT: must be a whole number"),
        ({"METRICS_PORT": "70000"}, r"^METRICS_PORT: must be between 1 and 65535"),
        ({"METRICS_LISTEN": "not an address"}, r"^METRICS_LISTEN: must be an IP address"),
        ({"METRICS_TOKEN": "short"}, r"^METRICS_TOKEN: must be 16-256 printable characters"),
        ({"METRICS_TOKEN": "has spaces in the middle"}, r"^METRICS_TOKEN: must be 16-256"),
        (
            {
                "MODE": "webhook",
                "WEBHOOK_URL": "https://bot.example/h",
                "WEBHOOK_SECRET": "s3cret",
                "PORT": "8443",
                "METRICS_PORT": "8443",
            },
            r"^METRICS_PORT: is the webhook server's PORT \(8443\), which serves /metrics",
        ),
        (
            {"WEB_URL": "https://advisor.example", "WEB_PORT": "8080", "METRICS_PORT": "8080"},
            r"^METRICS_PORT: is the web pages' WEB_PORT \(8080\)",
        ),
    ],
)
def test_a_bad_metrics_setting_is_refused_with_one_line_naming_it(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({**BASE, **environ})
