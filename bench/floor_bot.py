"""The floor: a minimal python-telegram-bot bot that makes the same Bot API calls as ours.

Per update it does what Stack Advisor does, with no logic and no storage: ``/start`` sends a
question with an inline keyboard; a button press edits the message into the next question and
answers the callback query; the last press edits the message into "all answered", sends the
chart and the summary (with as many buttons as ours) and answers. Every screen is built once
at start-up from the same data (the questions that are always asked, a fixed result), so texts
and keyboards have the sizes of ours. Updates are processed concurrently with PTB's own
``concurrent_updates`` (no per-user order) and its default connection pool, as many at a time
as ours runs by default (``MAX_CONCURRENT_UPDATES``); the environment variable
FLOOR_CONCURRENT_UPDATES changes that (the closed-loop benchmark sweeps it).

    BOT_TOKEN=... TELEGRAM_API_URL=http://127.0.0.1:PORT python -m bench.floor_bot
"""

from __future__ import annotations

import html
import logging
import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from advisor import Knowledge, recommend
from advisor.chart import render_chart_png
from advisor.summary import SUMMARY_LIMIT, render_summary_html, visible_length
from bot import load
from settings import DEFAULTS

Screen = tuple[str, InlineKeyboardMarkup | None]
#: Updates handled at once: the same as ours by default.
CONCURRENCY = DEFAULTS.max_concurrent_updates


def button(knowledge: Knowledge, name: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(knowledge.text(f"telegram.button.{name}"), callback_data=data)


def build_screens(knowledge: Knowledge) -> tuple[list[Screen], str, list[Screen]]:
    """The question screens, the "all answered" text, and the result message."""
    questions = [q for q in knowledge.questions if not q.ask_if]
    welcome_values = {
        "count": len(questions),
        "minutes": max(1, round(len(questions) * 8 / 60)),
        "title": knowledge.source.title,
        "publisher": knowledge.source.publisher,
    }
    welcome = html.escape(knowledge.text("dialog.welcome", **welcome_values), quote=False)
    screens: list[Screen] = []
    for step, question in enumerate(questions):
        progress = knowledge.text("dialog.progress", step=step + 1, steps=len(questions))
        text = f"<b>{html.escape(progress)}</b>\n{html.escape(question.prompt, quote=False)}"
        if step == 0:
            text = f"{welcome}\n\n{text}"
        rows = [
            [InlineKeyboardButton(option.label, callback_data=f"f|{step}|{option.id}")]
            for option in question.options
        ]
        nav = [button(knowledge, "why", "f|-|w"), button(knowledge, "restart", "f|-|r")]
        if step:
            nav.insert(0, button(knowledge, "back", "f|-|b"))
        rows.append(nav)
        screens.append((text, InlineKeyboardMarkup(rows)))
    neutral = {q.id: next(o.id for o in q.options if o.is_neutral) for q in questions}
    done = html.escape(knowledge.text("telegram.done"), quote=False)
    summary = render_summary_html(
        recommend(knowledge, neutral), knowledge, limit=SUMMARY_LIMIT - visible_length(done)
    )
    names = ("details", "report", "answers", "start_over")
    buttons = InlineKeyboardMarkup([[button(knowledge, name, "f|-|r")] for name in names])
    return screens, done, [(summary, buttons)]


def build_chart(knowledge: Knowledge) -> bytes:
    """A chart of the same size as ours (ours draws one per result; the floor sends this one)."""
    neutral = {q.id: next(o.id for o in q.options if o.is_neutral) for q in knowledge.questions}
    return render_chart_png(recommend(knowledge, neutral), knowledge)


def build_application(
    token: str, api_url: str, knowledge: Knowledge, concurrency: int = CONCURRENCY
) -> Application:  # type: ignore[type-arg]
    screens, done, result = build_screens(knowledge)
    chart = build_chart(knowledge)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        text, markup = screens[0]
        await context.bot.send_message(
            update.effective_chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        step = (query.data or "").split("|")[1]
        following = int(step) + 1 if step.isdigit() else 0
        if following < len(screens):
            text, markup = screens[following]
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            chat_id = query.message.chat.id
            await query.edit_message_text(done, parse_mode=ParseMode.HTML)
            await context.bot.send_photo(chat_id, chart)
            for text, markup in result:
                await context.bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
                )
        await query.answer()

    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .concurrent_updates(concurrency)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(press))
    return app


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    api_url = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org").rstrip("/")
    concurrency = int(os.environ.get("FLOOR_CONCURRENT_UPDATES", CONCURRENCY))
    app = build_application(os.environ["BOT_TOKEN"], api_url, load(None), concurrency)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
