"""Delivering owed messages through the Bot API, and telling failures that pass from final ones."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from advisor import Knowledge, recommend
from advisor.chart import drawn_chart_png, render_chart_png
from handoff import DeliveryFailed
from storage.base import Outgoing

from . import calls
from .presenter import ANSWER, EDIT, PHOTO, SEND, UNBUTTON

logger = logging.getLogger(__name__)
#: Charts drawn ahead and kept until sent.
MAX_DRAWN = 256


def is_not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that would change nothing."""
    return "not modified" in exc.message.lower()


def _gone(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return "not found" in text or "can't be edited" in text


class TelegramTransport:
    """Sends one owed message; returns its message id, or raises :class:`DeliveryFailed`.

    A chart is drawn here, in a worker thread, when it is sent: the outbox keeps only the
    answers it shows. It is a bonus to the summary after it, so a chart that cannot be drawn or
    sent is dropped (one try) rather than holding the summary back."""

    #: Kinds Telegram takes twice without anyone seeing it (a button answered again is "too
    #: old", buttons already removed stay removed): the outbox marks them with the next. Not an
    #: edit: one whose message is gone is sent as a new message, which must not come twice.
    repeatable = frozenset({ANSWER, UNBUTTON})

    def __init__(self, bot: Bot, knowledge: Knowledge) -> None:
        self.bot = bot
        self.knowledge = knowledge
        #: Charts drawn by :meth:`prepare` for the batch being sent, by their answers.
        self._charts: dict[str, bytes | BaseException] = {}

    async def prepare(self, messages: list[Outgoing]) -> None:
        """Draw the batch's charts first, so the messages then follow one another without a
        pause in between (a chat client shows them as one reply)."""
        if len(self._charts) > MAX_DRAWN:  # left by batches that never finished
            self._charts.clear()
        for message in messages:
            if message.kind == PHOTO:
                key = _chart_key(message)
                if key not in self._charts:
                    self._charts[key] = await self._draw(message)

    async def __call__(self, message: Outgoing) -> int | None:
        try:
            return await self._call(message)
        except BadRequest as exc:
            raise DeliveryFailed(f"{message.kind} refused: {exc.message}", transient=False) from exc
        except Forbidden as exc:  # the user blocked the bot, or left the group
            raise DeliveryFailed(
                f"{message.kind} forbidden: {exc.message}", transient=False
            ) from exc
        except (NetworkError, RetryAfter) as exc:  # timeouts, 5xx, a 429 the limiter gave up on
            raise DeliveryFailed(
                f"{message.kind} failed: {exc}", transient=True, maybe_delivered=_unanswered(exc)
            ) from exc

    async def _call(self, message: Outgoing) -> int | None:
        body = message.body
        if message.kind == SEND:
            return await self._send(message)
        if message.kind == PHOTO:
            return await self._photo(message)
        if message.kind == EDIT:
            try:
                await calls.edit_text(
                    self.bot, message.chat_id, body["message_id"], body["text"], body.get("markup")
                )
            except BadRequest as exc:
                if is_not_modified(exc):
                    return int(body["message_id"])
                if _gone(exc):  # deleted by the user, or too old to edit: send it anew
                    return await self._send(message)
                raise
            return int(body["message_id"])
        if message.kind == ANSWER:
            try:
                await calls.answer(self.bot, body["query_id"], body.get("text"))
            except BadRequest as exc:  # too old to answer: harmless
                logger.debug("could not answer a callback query: %s", exc)
            return None
        if message.kind == UNBUTTON:
            try:
                await self.bot.edit_message_reply_markup(
                    message.chat_id, body["message_id"], reply_markup=None
                )
            except TelegramError as exc:  # best effort: the buttons are stale anyway
                logger.debug("could not remove an old keyboard: %s", exc)
            return None
        raise DeliveryFailed(f"unknown outgoing kind {message.kind!r}", transient=False)

    async def _send(self, message: Outgoing) -> int:
        body = message.body
        return await calls.send_text(
            self.bot,
            message.chat_id,
            body["text"],
            html=body.get("html", True),
            markup=body.get("markup"),
        )

    async def _draw(self, message: Outgoing) -> bytes | BaseException:
        """The chart's PNG, put together at once from bands drawn before, else drawn in a worker
        thread; the error if it cannot be drawn."""
        k = self.knowledge.speaking(message.body.get("language"))
        try:
            rec = recommend(k, message.body["answers"])
            drawn = drawn_chart_png(rec, k)  # put together from bands drawn before: at once
            return drawn if drawn is not None else await asyncio.to_thread(render_chart_png, rec, k)
        except Exception as exc:  # reported when the chart is due
            return exc

    async def _photo(self, message: Outgoing) -> int | None:
        png = self._charts.pop(_chart_key(message), None)
        if png is None:
            png = await self._draw(message)
        try:
            if isinstance(png, BaseException):
                raise png
            sent = await self.bot.send_photo(message.chat_id, png)
        except Exception as exc:  # any failure: the summary goes on without its chart
            raise DeliveryFailed(f"chart not sent: {exc!r}", transient=False) from exc
        return sent.message_id


def _unanswered(exc: Exception) -> bool:
    """Whether the request may have reached Telegram but its answer was lost (a timeout, a
    dropped connection), rather than refused (a 5xx, a flood wait)."""
    return isinstance(exc, TimedOut) or str(exc).startswith("aiohttp.")


def _chart_key(message: Outgoing) -> str:
    body = message.body
    return f"{message.chat_id}:{body.get('language')}:{sorted(body['answers'].items())}"
