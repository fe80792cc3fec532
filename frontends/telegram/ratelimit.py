"""Outgoing rate limits: throttle like PTB's AIORateLimiter, but wait out a 429 per chat.

Telegram's "429 Too Many Requests: retry after N" is about the chat the request was for (for
the methods that name one). PTB's ``AIORateLimiter`` pauses *every* request for N seconds, so
one busy group or one flooded user delays everyone's answers. This limiter keeps the same two
throttles (overall messages per second; messages per minute per group) and, on a 429, pauses only
requests for that chat, retrying the one that was refused. Requests that name no chat (answering
a button or an inline query, setting commands …) are paused per method instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Result = bool | dict[str, Any] | list[dict[str, Any]]
#: Added to Telegram's retry_after, as PTB does, so the retry does not arrive a hair early.
SLACK_SECONDS = 0.1
#: Keep at most this many per-chat entries before forgetting the idle ones.
MAX_TRACKED = 512


class PerChatRateLimiter(BaseRateLimiter[int]):
    """Throttles outgoing requests; a 429 pauses only the chat (or method) it was about."""

    def __init__(
        self,
        *,
        overall_max_rate: float,
        group_max_rate: float,
        group_time_period: float = 60,
        max_retries: int = 3,
    ) -> None:
        self._overall = AsyncLimiter(overall_max_rate, 1) if overall_max_rate > 0 else None
        self._group_max_rate = group_max_rate
        self._group_time_period = group_time_period
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        #: When requests for a chat (or a method without one) may go again, in loop time.
        self._paused_until: dict[int | str, float] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Send the request once its chat may be written to; on a 429 wait and retry."""
        chat = _chat(data)
        key: int | str = chat if chat is not None else f"method:{endpoint}"
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            await self._wait_until_allowed(key)
            try:
                async with self._group(chat), self._overall_limit(chat):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= retries:
                    logger.warning(
                        "%s for %s: still refused after %d retries", endpoint, key, retries
                    )
                    raise
                attempt += 1
                self._pause(key, _seconds(exc) + SLACK_SECONDS)
                logger.info(
                    "%s for %s: Telegram asked to wait %.1f s; other chats go on",
                    endpoint,
                    key,
                    _seconds(exc),
                )

    async def _wait_until_allowed(self, key: int | str) -> None:
        """Sleep while the key is paused (another 429 while asleep extends the pause)."""
        loop = asyncio.get_running_loop()
        while True:
            left = self._paused_until.get(key, 0.0) - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(left)

    def _pause(self, key: int | str, seconds: float) -> None:
        now = asyncio.get_running_loop().time()
        if len(self._paused_until) > MAX_TRACKED:
            self._paused_until = {k: t for k, t in self._paused_until.items() if t > now}
        self._paused_until[key] = max(self._paused_until.get(key, 0.0), now + seconds)

    def _overall_limit(self, chat: int | str | None) -> contextlib.AbstractAsyncContextManager[Any]:
        """Like AIORateLimiter: requests that name a chat count against the overall rate."""
        if chat is None or self._overall is None:
            return contextlib.nullcontext()
        return self._overall

    def _group(self, chat: int | str | None) -> contextlib.AbstractAsyncContextManager[Any]:
        """Groups and channels (negative ids, @usernames) also have a per-minute limit."""
        is_group = isinstance(chat, str) or (isinstance(chat, int) and chat < 0)
        if not is_group or not self._group_max_rate:
            return contextlib.nullcontext()
        assert chat is not None
        if len(self._groups) > MAX_TRACKED:
            idle = [k for k, lim in self._groups.items() if lim.has_capacity(lim.max_rate)]
            for k in idle:
                del self._groups[k]
        if chat not in self._groups:
            self._groups[chat] = AsyncLimiter(self._group_max_rate, self._group_time_period)
        return self._groups[chat]


def _chat(data: dict[str, Any]) -> int | str | None:
    """The chat a request is for: an integer id, an @username, or None."""
    chat = data.get("chat_id")
    if chat is None:
        return None
    with contextlib.suppress(ValueError, TypeError):
        return int(chat)
    return str(chat)


def _seconds(exc: RetryAfter) -> float:
    # The public attribute warns until PTB 23 (int or timedelta); this is its value.
    return exc._retry_after.total_seconds()
