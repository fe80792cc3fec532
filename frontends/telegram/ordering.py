"""Process updates of different users concurrently, and each user's updates strictly in order.

python-telegram-bot's extension point for this is :class:`~telegram.ext.BaseUpdateProcessor`.
Its ``process_update`` holds a semaphore slot for the whole of ``do_process_update``, so an
update that only waits for the same user's earlier one would hold a slot too, and one busy user
could take every slot. :class:`PerUserOrder` therefore gives PTB an unbounded semaphore and
bounds concurrency itself: a slot goes to an update only once it may run (its user's earlier
updates are done), in the order updates became runnable. Nothing here depends on the order in
which an asyncio primitive wakes its waiters.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections import deque
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

#: What PTB's own semaphore is given: it must never make an update wait (see the module doc).
UNBOUNDED = sys.maxsize


def update_key(update: object) -> int | None:
    """The user an update belongs to (in any chat), or None when it has no user.

    Ordering per user, not per chat, keeps a /forget in a private chat from racing with a
    button press of the same person in a group.
    """
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    return update.effective_user.id


class PerUserOrder(BaseUpdateProcessor):
    """At most ``limit`` updates run at once; each user's run one after another, in order.

    An update is *queued behind its user* while an earlier update of the same user is queued or
    running; it is *ready* once that one has finished; it *runs* once it holds one of the
    ``limit`` slots. Ready updates get slots first come, first served, so a user with many
    queued updates takes at most one slot and waits its turn like everyone else. The order of
    one user's updates is the order the application hands them over, which is the order they
    arrived in, so a fast second tap can never overtake the first. An update that fails or is
    cancelled still hands the turn on to its user's next update.
    """

    def __init__(self, limit: int = 64) -> None:
        if limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self._limit = limit
        super().__init__(UNBOUNDED)
        self._running = 0
        #: Ready updates waiting for a slot: (user or None, turn), oldest first.
        self._ready: deque[tuple[int | None, asyncio.Future[None]]] = deque()
        #: Users with an update queued or running -> their updates queued behind it.
        self._behind: dict[int, deque[asyncio.Future[None]]] = {}

    @property
    def limit(self) -> int:
        """The most updates that run at once (updates waiting for their turn do not count).

        PTB's ``max_concurrent_updates`` is its own semaphore's bound, :data:`UNBOUNDED`.
        """
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """Updates running now (each holds a slot)."""
        return self._running

    @property
    def waiting_updates(self) -> int:
        """Updates that do not run yet: queued behind their user or ready for a slot."""
        return len(self._ready) + sum(len(queue) for queue in self._behind.values())

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the user's turn and a slot, run the update, then hand both on."""
        key = update_key(update)
        try:
            await self._admit(key)
        except asyncio.CancelledError:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # never started: no "was never awaited" warning
            raise
        try:
            await coroutine
        finally:
            self._leave(key)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    # -- the bookkeeping (synchronous, so no other task sees it half-done) --------------------

    async def _admit(self, key: int | None) -> None:
        """Return once this update holds a slot and is its user's only one running."""
        loop = asyncio.get_running_loop()
        if key is not None:
            queue = self._behind.get(key)
            if queue is not None:  # the user has an earlier update: wait behind it
                turn: asyncio.Future[None] = loop.create_future()
                queue.append(turn)
                await self._wait(key, turn)
                return
            self._behind[key] = deque()
        if self._running < self._limit and not self._ready:
            self._running += 1
            return
        turn = loop.create_future()
        self._ready.append((key, turn))
        await self._wait(key, turn)

    async def _wait(self, key: int | None, turn: asyncio.Future[None]) -> None:
        """Wait until ``turn`` is given a slot; on cancellation, leave no hole behind."""
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # the slot came just as we were cancelled
                self._leave(key)
            else:
                self._forget(key, turn)
            raise

    def _leave(self, key: int | None) -> None:
        """A running update finished: its user's next becomes ready; the slot passes on."""
        if key is not None:
            self._next_of(key)
        while self._ready:
            ready_key, turn = self._ready.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot goes straight to it: _running stays
                return
            if ready_key is not None:  # cancelled before it could run: its user goes on
                self._next_of(ready_key)
        self._running -= 1

    def _next_of(self, key: int) -> None:
        """Make the user's next queued update ready, or forget the user."""
        queue = self._behind[key]
        if queue:
            self._ready.append((key, queue.popleft()))
        else:
            del self._behind[key]

    def _forget(self, key: int | None, turn: asyncio.Future[None]) -> None:
        """Drop a cancelled update that held no slot, keeping its user's order intact."""
        if key is not None and turn in self._behind.get(key, ()):
            self._behind[key].remove(turn)  # queued behind the user: the rest stay queued
            return
        entry = (key, turn)
        if entry in self._ready:
            self._ready.remove(entry)
            if key is not None:  # it was the user's turn: the next one is ready instead
                self._next_of(key)
