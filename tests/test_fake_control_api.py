"""The fake's control API for a load generator in another process (used by bench/)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from fake_telegram import FakeTelegram, TgChat, TgUser
from fake_telegram import updates as u
from tests.test_fake_telegram import instances

TOKEN = "123:ABC"
ANN = TgUser(5, "Ann")
CHAT = TgChat.private(ANN)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, fake: FakeTelegram, method: str, **params: Any
) -> dict[str, Any]:
    """A Bot API request as PTB makes it (form-encoded, non-strings as JSON)."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with http.post(f"{fake.base_url}{fake.token}/{method}", data=form) as response:
        return dict(await response.json())


async def control(
    http: aiohttp.ClientSession, fake: FakeTelegram, action: str, **query: str
) -> dict[str, Any]:
    async with http.get(f"{fake.root_url}/_fake/{action}", params=query) as response:
        assert response.status == 200
        return dict(await response.json())


def start_update() -> dict[str, Any]:
    return u.message_update(u.text_message(1, ANN, CHAT, "/start"))


async def test_queued_updates_carry_the_time_they_were_queued_on_the_calls_clock(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    before = loop.time()
    async with http.post(f"{fake.root_url}/_fake/updates", json=[start_update()] * 2) as r:
        body = await r.json()
    after = loop.time()
    assert body["result"] == [1, 2]
    assert [fake.queued_at[1], fake.queued_at[2]] == body["queued_at"]
    assert before <= body["queued_at"][0] <= body["queued_at"][1] <= after
    await call(http, fake, "getMe")
    assert fake.calls[-1].time >= body["queued_at"][1]


async def test_listing_calls_can_long_poll_until_the_next_call(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    await call(http, fake, "getMe")
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(control(http, fake, "calls", since="1", wait="5"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await call(http, fake, "getMe")
    body = await waiting
    assert loop.time() - started < 2
    assert [(c["i"], c["method"]) for c in body["result"]] == [(1, "getMe")]
    assert body["next"] == 2
    assert body["now"] >= fake.calls[1].time


async def test_a_long_poll_of_calls_ends_empty_at_its_timeout(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = await control(http, fake, "calls", since="0", wait="0.2")
    assert body["result"] == []
    assert body["next"] == 0
    assert 0.15 <= loop.time() - started < 2


async def test_compact_calls_name_the_chat_the_query_and_the_resulting_message(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    fake.add_update(start_update())
    keyboard = {"inline_keyboard": [[{"text": "Python", "callback_data": "py"}]]}
    html = {"text": "<b>Q1</b>", "parse_mode": "HTML"}
    sent = await call(http, fake, "sendMessage", chat_id=5, reply_markup=keyboard, **html)
    message = sent["result"]
    fake.add_update(u.callback_query_update("q1", ANN, message, "py", "ci5"))
    await call(http, fake, "answerCallbackQuery", callback_query_id="q1", text="Noted")
    await call(http, fake, "editMessageText", chat_id=5, message_id=99, text="x")
    body = await control(http, fake, "calls", since="0", compact="1")
    send, answer, edit = body["result"]
    assert send["method"] == "sendMessage" and send["chat_id"] == 5
    assert send["message"]["text"] == "Q1"
    assert send["message"]["reply_markup"] == keyboard
    assert "params" not in send
    assert answer["callback_query_id"] == "q1" and answer["text"] == "Noted"
    assert "message" not in answer
    assert edit["status"] == 400 and "not found" in edit["description"]
    assert "message" not in edit
    full = await control(http, fake, "calls", since="2")
    assert full["result"][0]["params"]["message_id"] == 99


async def test_the_summary_counts_failures_unanswered_queries_and_sees_a_long_poll(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    summary = (await control(http, fake, "summary"))["result"]
    assert summary["polling"] is False
    assert summary["calls"] == 0
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await fake.wait_for(lambda: fake._poll_owner is not None, timeout=2)
    summary = (await control(http, fake, "summary"))["result"]
    assert summary["polling"] is True
    fake.add_update(u.callback_query_update("q9", ANN, {"message_id": 1, "date": 0}, "x", "c"))
    assert len((await poll)["result"]) == 1
    await call(http, fake, "sendMessage", chat_id=12345, text="nobody")
    summary = (await control(http, fake, "summary"))["result"]
    assert summary["failed_calls"] == {"sendMessage 400 Bad Request: chat not found": 1}
    assert summary["unanswered_callback_queries"] == 1
    assert summary["updates_queued"] == 1
    assert summary["pending_updates"] == 1  # not yet confirmed by a later getUpdates offset
    assert summary["polling"] is False


async def test_a_simulated_round_trip_holds_every_answer_back_but_records_the_call_at_once(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeTelegram(TOKEN, latency=0.2) as slow:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        answer = asyncio.create_task(call(http, slow, "getMe"))
        found = await slow.wait_for_call("getMe", timeout=5)
        assert found.time - sent < 0.15 and not answer.done(), "recorded before it is answered"
        assert (await answer)["ok"] is True
        assert loop.time() - sent >= 0.2


async def test_a_load_generator_can_balance_the_webhook_over_instances(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    async with instances(2) as (urls, got):
        assert (await control(http, fake, "summary"))["result"]["webhook"] is False
        await call(http, fake, "setWebhook", url="https://balancer.example/hook")
        assert (await control(http, fake, "summary"))["result"]["webhook"] is True
        async with http.post(f"{fake.root_url}/_fake/balance", json={"urls": urls}) as r:
            assert (await r.json())["result"] is True
        async with http.post(f"{fake.root_url}/_fake/updates", json=[start_update()] * 4):
            pass
        await fake.wait_for(lambda: sum(map(len, got)) == 4, timeout=5)
        assert [len(ids) for ids in got] == [2, 2]
        fake.balance_webhook([])
