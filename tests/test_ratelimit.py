"""The per-chat rate limiter: a 429 pauses the chat (or method) it was for, and no other."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from frontends.telegram.ratelimit import PerChatRateLimiter

PAUSE = 0.3


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB's next-major behaviour, so RetryAfter does not warn (warnings are errors here)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


class FakeApi:
    """A callback that refuses the first ``refusals`` calls for one chat with a 429."""

    def __init__(self, refusals: int = 1, refused_chat: object = 1) -> None:
        self.refusals = refusals
        self.refused_chat = refused_chat
        self.sent: list[tuple[object, float]] = []

    async def call(self, data: dict[str, Any]) -> bool:
        chat = data.get("chat_id")
        if chat == self.refused_chat and self.refusals:
            self.refusals -= 1
            raise RetryAfter(timedelta(seconds=PAUSE))
        self.sent.append((chat, asyncio.get_running_loop().time()))
        return True


async def send(
    limiter: PerChatRateLimiter, api: FakeApi, endpoint: str, **data: Any
) -> bool | object:
    result = await limiter.process_request(api.call, (data,), {}, endpoint, data, None)
    return result


@pytest.fixture
def limiter() -> PerChatRateLimiter:
    return PerChatRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)


async def test_a_429_for_one_chat_is_waited_out_and_retried_for_that_chat_only(
    limiter: PerChatRateLimiter,
) -> None:
    api = FakeApi()
    start = asyncio.get_running_loop().time()
    first = asyncio.create_task(send(limiter, api, "sendMessage", chat_id=1))
    await asyncio.sleep(0.01)
    assert await send(limiter, api, "sendMessage", chat_id=2) is True
    assert await first is True
    sent = dict(api.sent)
    assert sent[2] - start < PAUSE / 2, "chat 2 went straight through"
    assert sent[1] - start >= PAUSE, "chat 1 waited as told"


async def test_a_later_request_for_the_paused_chat_waits_too(limiter: PerChatRateLimiter) -> None:
    api = FakeApi()
    start = asyncio.get_running_loop().time()
    first = asyncio.create_task(send(limiter, api, "sendMessage", chat_id=1))
    await asyncio.sleep(0.01)
    await send(limiter, api, "editMessageText", chat_id="1")  # the same chat, as a string
    await first
    assert all(at - start >= PAUSE for _, at in api.sent)


async def test_a_429_without_a_chat_pauses_only_that_method(limiter: PerChatRateLimiter) -> None:
    api = FakeApi(refused_chat=None)
    start = asyncio.get_running_loop().time()
    answer = asyncio.create_task(send(limiter, api, "answerCallbackQuery"))
    await asyncio.sleep(0.01)
    await send(limiter, api, "sendMessage", chat_id=5)
    assert api.sent[0] == (5, pytest.approx(start, abs=PAUSE / 2))
    await answer
    assert api.sent[1][1] - start >= PAUSE


async def test_a_chat_still_refused_after_the_retries_gets_the_error() -> None:
    limiter = PerChatRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=1)
    api = FakeApi(refusals=2)
    with pytest.raises(RetryAfter):
        await send(limiter, api, "sendMessage", chat_id=1)


async def test_throttling_still_applies_with_a_rate() -> None:
    limiter = PerChatRateLimiter(overall_max_rate=5, group_max_rate=0)
    api = FakeApi(refusals=0)
    start = asyncio.get_running_loop().time()
    await asyncio.gather(*(send(limiter, api, "sendMessage", chat_id=i) for i in range(10)))
    assert asyncio.get_running_loop().time() - start >= 0.8, "10 messages at 5 per second"
