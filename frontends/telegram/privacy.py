"""/forget: delete everything stored about a user, after a confirmation."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from .turn import Services, services

logger = logging.getLogger(__name__)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Asks for confirmation before deleting everything stored about the user."""
    svc, chat, user = services(context), update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    await context.bot.send_message(
        chat.id,
        svc.views.t("privacy.forget_ask"),
        parse_mode=ParseMode.HTML,
        reply_markup=svc.views.forget_keyboard(user.id),
    )


async def forget_confirmed(svc: Services, user_id: int) -> None:
    """Deletes every row about the user."""
    removed = svc.store.forget_user(user_id)
    logger.info("deleted %d rows on a user's request", removed)


async def confirmed(update: Update, context: ContextTypes.DEFAULT_TYPE, confirmed: bool) -> None:
    """Deletes everything about the user after they confirmed, or keeps it."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
    if confirmed:
        await forget_confirmed(svc, query.from_user.id)
    text = svc.views.t("privacy.forgotten" if confirmed else "privacy.kept")
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
    except BadRequest as exc:  # a double tap: the message already says so
        if "not modified" not in exc.message.lower():
            raise
    await query.answer()
