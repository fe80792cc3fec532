"""The outbox: what a person is owed, delivered in order and once, across instances.

A turn commits the messages the person is now owed (rendered by the front end) to the store's
outbox; :meth:`Outbox.deliver` hands them to the front end's :data:`Transport`, marking each
one delivered when the front end confirms it. Whatever is still owed — after a timeout, a
server error or a crash — is delivered on the person's next update or by :meth:`deliver_all`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from advisor.session import RESULT
from handoff.retry import OUTBOX_SCHEDULE, DeliveryFailed
from storage.base import Outgoing, Owed, Store

logger = logging.getLogger(__name__)

#: In an owed message's body: it is the result's summary (see :meth:`Outbox._unseen`).
RESULT_MARK = "result"


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a delivery achieved: true when nothing is owed any more. When something is still
    owed, ``maybe_delivered`` says the last try may have reached the person all the same (so
    no apology: it would be false)."""

    complete: bool
    maybe_delivered: bool = False

    def __bool__(self) -> bool:
        return self.complete


#: Everything arrived.
ALL_DELIVERED = Delivered(True)


#: A front end's way to deliver one message: returns the delivered message's id (if any) or
#: raises :class:`DeliveryFailed`. A transport may also have ``prepare(messages)``, awaited
#: before a batch is sent, to do slow work (drawing a chart) before the first message rather
#: than in a pause between two, and ``repeatable``, the kinds of message that are harmless to
#: send twice (an edit to the same text, answering a button again): those are marked delivered
#: together with the message after them, so a crash in between sends them once more.
Transport = Callable[[Outgoing], Awaitable[int | None]]


class Outbox:
    """Delivers what people are owed, one delivery per person at a time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        #: One delivery at a time per person (a lock lives while anyone holds or awaits it).
        self._delivering: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def deliver(self, user_id: int, transport: Transport) -> Delivered:
        """Deliver what is owed to this person, in order; false when some is still owed.

        One delivery per person at a time, in this process and (through the store) across
        every instance sharing the store, so what one sends no other sends too. A message sent
        just before its sender died, before it was marked delivered, is sent once more.
        """
        lock = self._delivering.get(user_id)
        if lock is None:
            lock = self._delivering[user_id] = asyncio.Lock()
        async with lock, self.store.delivering(user_id) as delivery:
            owed = await delivery.owed()
            prepare = getattr(transport, "prepare", None)
            if owed and prepare is not None:
                await prepare([item.message for item in owed])
            repeatable: Collection[str] = getattr(transport, "repeatable", ())
            dropped_in: int | None = None  # the chat a result could not reach
            unmarked: list[tuple[Owed, int | None]] = []
            for index, item in enumerate(owed):
                delivered, message_id, maybe = await self._deliver_one(item, transport)
                if not delivered:
                    if unmarked:
                        await delivery.delivered_all(unmarked)
                    return Delivered(False, maybe)
                unmarked.append((item, message_id))
                # A kind harmless to send twice is marked with the next message, or at the
                # end: one commit for a button's answer and its edit, not two.
                if item.message.kind not in repeatable or index == len(owed) - 1:
                    await delivery.delivered_all(unmarked)
                    unmarked = []
                if message_id is None and item.message.body.get(RESULT_MARK):
                    dropped_in = item.message.chat_id
        if dropped_in is not None:
            await self._unseen(dropped_in, user_id)
        return Delivered(True)

    async def _unseen(self, chat_id: int, user_id: int) -> None:
        """The result could not be delivered (the person had blocked the bot): note it, so
        their next /start shows it."""
        async with self.store.unit(user_id) as uow:
            stored = await uow.sessions.get(chat_id, user_id)
            if stored is not None and stored.session.state == RESULT:
                stored.session.unseen = True
                await uow.sessions.put(chat_id, user_id, stored)

    async def _deliver_one(self, item: Owed, transport: Transport) -> tuple[bool, int | None, bool]:
        """(False, None, whether it may have arrived anyway) when it is still owed; else (True,
        the delivered message's id, False)."""
        maybe = False
        for attempt in range(1, OUTBOX_SCHEDULE.attempts + 1):
            try:
                return True, await transport(item.message), False
            except DeliveryFailed as failure:
                if not failure.transient:
                    logger.warning("dropped an undeliverable %s: %s", item.message.kind, failure)
                    return True, None, False
                maybe = maybe or failure.maybe_delivered
                logger.warning("delivery failed, will try again: %s", failure)
                if attempt < OUTBOX_SCHEDULE.attempts:
                    await asyncio.sleep(OUTBOX_SCHEDULE.pause(attempt))
        return False, None, maybe

    async def deliver_all(self, transport: Transport) -> int:
        """Deliver everything still owed to anyone (at start-up and now and then); return how
        many people still have messages owed."""
        pending = 0
        for user_id in await self.store.owing_users():
            if not await self.deliver(user_id, transport):
                pending += 1
        return pending
