"""Process updates of different users concurrently, and each user's updates strictly in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def update_key(update: object) -> int | None:
    """The user an update belongs to (in any chat), or None when it has no user.

    Ordering per user, not per chat, keeps a /forget in a private chat from racing with a
    button press of the same person in a group.
    """
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    return update.effective_user.id


class PerUserOrder(BaseUpdateProcessor):
    """Chains each user's updates: one starts only when the previous one has finished.

    The chain is extended in the order the application hands updates over, which is the
    order they arrived in, so a fast second tap can never overtake the first.
    """

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
