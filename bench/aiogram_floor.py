"""An anchor: an aiogram 3 bot making the same Bot API calls as the floor (bench/floor_bot.py).

Per update, with no logic and no storage: ``/start`` sends the first question with its inline
keyboard; a button press edits the message into the next question and answers the callback
query; the last press edits the message into "all answered", sends the chart PNG and the summary
with its buttons, then answers. The screens are the floor's (``floor_bot.build_screens``), so
texts and keyboards have the sizes of ours. aiogram's defaults otherwise: its aiohttp session
(``AiohttpSession``, 100 connections) pointed at the fake with ``TelegramAPIServer.from_base``,
and its dispatcher's long polling with each update handled as its own task (no limit, no
per-user order); AIOGRAM_FLOOR_CONCURRENCY sets ``tasks_concurrency_limit``.

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python -m bench.aiogram_floor

A bench-only dependency (requirements-test.txt), not part of the product.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot import load

from .floor_bot import build_chart, build_screens

Screen = tuple[str, InlineKeyboardMarkup | None]


def convert(screens: list[tuple[str, object]]) -> list[Screen]:
    """PTB's keyboards as aiogram's (both are the Bot API's JSON underneath)."""
    found: list[Screen] = []
    for text, markup in screens:
        as_dict = getattr(markup, "to_dict", None)
        found.append((text, InlineKeyboardMarkup.model_validate(as_dict()) if as_dict else None))
    return found


def build_dispatcher() -> Dispatcher:
    knowledge = load(None)
    ptb_screens, done, ptb_result = build_screens(knowledge)
    screens, result = convert(list(ptb_screens)), convert(list(ptb_result))
    chart = BufferedInputFile(build_chart(knowledge), filename="chart.png")
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart())
    async def start(message: Message, bot: Bot) -> None:
        text, markup = screens[0]
        await bot.send_message(message.chat.id, text, reply_markup=markup)

    @dispatcher.callback_query()
    async def press(query: CallbackQuery, bot: Bot) -> None:
        assert query.message is not None
        chat_id, message_id = query.message.chat.id, query.message.message_id
        step = (query.data or "").split("|")[1]
        following = int(step) + 1 if step.isdigit() else 0
        if following < len(screens):
            text, markup = screens[following]
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        else:
            await bot.edit_message_text(text=done, chat_id=chat_id, message_id=message_id)
            await bot.send_photo(chat_id, chart)
            for text, markup in result:
                await bot.send_message(chat_id, text, reply_markup=markup)
        await bot.answer_callback_query(query.id)

    return dispatcher


async def run() -> None:
    api_url = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
    limit = os.environ.get("AIOGRAM_FLOOR_CONCURRENCY")
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    bot = Bot(
        os.environ["BOT_TOKEN"],
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    dispatcher = build_dispatcher()
    # aiogram stops polling on SIGTERM/SIGINT by itself and returns.
    await dispatcher.start_polling(
        bot,
        handle_as_tasks=True,
        tasks_concurrency_limit=int(limit) if limit else None,
        close_bot_session=True,
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run())


if __name__ == "__main__":
    main()
