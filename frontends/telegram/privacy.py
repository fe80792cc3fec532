"""/forget: delete everything stored about a user, after a confirmation."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from dialogs.conversation import Forgotten
from storage.base import Outgoing

from .context import BotContext
from .delivery import is_not_modified
from .render import EDIT, SEND


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
    their leads had already reached the sales team (a message or record the bot can't recall).

    The answer is committed with the deletion and delivered from the outbox, so it is not lost
    if the process dies in between; a second tap says the same again."""
    query = update.callback_query
    assert query is not None
    svc = context.services
    presenter = svc.for_user(update.effective_user).presenter
    if confirmed:
        user_id = query.from_user.id
        chat_id = query.message.chat.id if query.message else user_id
        message_id = query.message.message_id if query.message else None

        def answer(forgotten: Forgotten) -> list[Outgoing]:
            text = presenter.forgotten(forgotten.reach)
            if message_id is None:
                return [Outgoing(chat_id, SEND, {"text": text, "html": True})]
            return [Outgoing(chat_id, EDIT, {"message_id": message_id, "text": text})]

        await svc.conversation.forget(user_id, answer)
        await svc.conversation.deliver(user_id, svc.transport)
        await query.answer()
        return
    text = presenter.t("privacy.kept")
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
    except BadRequest as exc:  # a double tap: the message already says so
        if not is_not_modified(exc):
            raise
    await query.answer()
