"""The baseline: our bot in the configuration before issue 13, for the same-run comparison.

Everything is today's code except how updates are scheduled and sent, which is as it was:
each user's updates chained behind a future while python-telegram-bot's semaphore admits up to
4,096 updates at once (an update waiting for its user's previous one holds one of them), and
PTB's default Bot API client, httpx with a pool of 256 connections (getUpdates: one).

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python -m bench.baseline_bot
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable
from typing import Any

from telegram.ext import BaseUpdateProcessor
from telegram.request import HTTPXRequest

from advisor import Knowledge
from bot import load
from frontends.telegram.app import build_application
from frontends.telegram.context import BotApp
from frontends.telegram.ordering import update_key
from frontends.telegram.run import run_telegram
from settings import Settings, load_settings, read_environment

#: Updates admitted at once before issue 13 (``MAX_CONCURRENT_UPDATES`` in app.py).
IN_FLIGHT = 4096
#: python-telegram-bot's default connection pool for the Bot API client.
POOL = 256


class ChainedPerUserOrder(BaseUpdateProcessor):
    """The update processor before issue 13 (frontends/telegram/ordering.py at 88c8871)."""

    def __init__(self, max_concurrent_updates: int = 512) -> None:
        super().__init__(max_concurrent_updates)
        self._tails: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = update_key(update)
        if key is None:
            await coroutine
            return
        previous = self._tails.get(key)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = done
        try:
            if previous is not None:
                await asyncio.shield(previous)
            await coroutine
        finally:
            done.set_result(None)
            if self._tails.get(key) is done:
                del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def build_baseline(settings: Settings, knowledge: Knowledge) -> BotApp:
    return build_application(
        settings,
        knowledge,
        update_processor=ChainedPerUserOrder(IN_FLIGHT),
        requests=(HTTPXRequest(connection_pool_size=POOL), HTTPXRequest(connection_pool_size=1)),
    )


def main() -> int:
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    settings = load_settings(read_environment(os.environ, None))
    return run_telegram(settings, load(None), build=build_baseline)


if __name__ == "__main__":
    sys.exit(main())
