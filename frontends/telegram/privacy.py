"""/forget: delete everything stored about a user, after a confirmation."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from .context import BotContext
from .delivery import is_not_modified


async def forget(update: Update, context: BotContext) -> None:
    """Asks for confirmation before deleting everything stored about the user."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    presenter = context.services.for_user(update.effective_user).presenter
    await context.bot.send_message(
        chat.id,
        presenter.t("privacy.forget_ask"),
        parse_mode=ParseMode.HTML,
        api_kwargs={"reply_markup": presenter.forget_keyboard(user.id)},
    )


async def confirmed(update: Update, context: BotContext, confirmed: bool) -> None:
    """Deletes everything about the user after they confirmed, or keeps it; says which of
    their leads had already reached the sales team (a message or record the bot can't recall)."""
    query = update.callback_query
    assert query is not None
    presenter = context.services.for_user(update.effective_user).presenter
    if confirmed:
        forgotten = await context.services.conversation.forget(query.from_user.id)
        text = presenter.forgotten(forgotten.reach)
    else:
        text = presenter.t("privacy.kept")
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
    except BadRequest as exc:  # a double tap: the message already says so
        if not is_not_modified(exc):
            raise
    await query.answer()
