"""Telegram handlers: each decodes one update, calls the conversation service, and delivers.

The rules live in :mod:`dialogs.conversation`; what a screen looks like lives in
:mod:`.render`. A handler here only says which action an update is.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, BotCommandScopeChat, CallbackQuery, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError

from dialogs import turns as c
from dialogs.texts import ADMIN_MENU, MENU
from frontends.metrics import DUPLICATE, FAILED
from storage.base import StorageError, StoreBusy

from . import callbacks, leads
from .context import BotApp, BotContext, Services
from .presenter import TelegramPresenter

logger = logging.getLogger(__name__)

#: A turn that has not committed after this long tells the person "one moment", in seconds.
ONE_MOMENT_SECONDS = 3.0


def person_of(update: Update) -> c.Person | None:
    """Who sent the update, and where; None for senders that are not a person (channels)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot:
        return None
    private = chat.type == ChatType.PRIVATE
    return c.Person(chat.id, user.id, user.first_name, user.full_name, private, user.language_code)


def presenter_for(update: Update, context: BotContext) -> TelegramPresenter:
    """The presenter in the language of whoever sent the update."""
    return context.services.for_user(update.effective_user).presenter


async def act(update: Update, context: BotContext, action: c.Action) -> c.Outcome | None:
    """The one call: the conversation service's turn (apply, deliver, answer the tap).

    Held back while an earlier update of the person's is to come again (answers stay in
    order); a turn slow to commit makes the person hear "one moment", once."""
    person = person_of(update)
    if person is None:
        return None
    svc = context.services
    update_id = update.update_id
    if svc.acks.waits(person.user_id, update_id):  # keep the person's answers in order
        await _not_committed(update, context, StoreBusy("an earlier update is to come again"))
        return None
    later = asyncio.get_running_loop().call_later(
        ONE_MOMENT_SECONDS, _one_moment, update, context, person
    )

    def committed() -> None:  # no "one moment" now, and Telegram may be told it arrived
        later.cancel()
        svc.acks.committed(update_id)

    try:
        outcome = await svc.conversation.turn(
            person, action, update_id=update_id, committed=committed
        )
    finally:
        later.cancel()
    if outcome.repeat:  # applied before: Telegram sent it again (counted apart)
        svc.acks.note(update_id, DUPLICATE)
    return outcome


async def _not_committed(update: Update, context: BotContext, exc: StorageError) -> None:
    """The update's turn could not be committed: Telegram is to send it again (the person
    hears "one moment", once), or, after too many tries, it is given up with the apology."""
    person = person_of(update)
    if person is None:
        return
    acks = context.services.acks
    again = acks.failed(update.update_id, person.user_id)
    logger.warning(
        "update %d (user %d) not committed, %s: %s",
        update.update_id,
        person.user_id,
        f"to be sent again (try {acks.tries(update.update_id)})" if again else "given up",
        exc,
    )
    if update.callback_query is not None and (not again or acks.tries(update.update_id) == 1):
        await answer(update.callback_query)  # once: later tries find it too old
    if not person.private:
        return
    if not again:
        await _apologise(context, person.chat_id, presenter_for(update, context))
    elif acks.tell_once(update.update_id):
        await _say(context, person.chat_id, presenter_for(update, context).t("telegram.wait"))


def _one_moment(update: Update, context: BotContext, person: c.Person) -> None:
    """The turn is taking long (the database is slow to answer): say "one moment", once."""
    if person.private and context.services.acks.tell_once(update.update_id):
        text = presenter_for(update, context).t("telegram.wait")
        context.application.create_task(_say(context, person.chat_id, text))


async def _say(context: BotContext, chat_id: int, text: str) -> None:
    """A short message outside any turn (nothing of it is stored); a failure is only logged."""
    try:
        await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        logger.warning("could not tell the user to wait: %s", exc)


async def answer(query: CallbackQuery) -> None:
    """Stop a tap's spinner outside a turn (one that failed); a query Telegram already
    considers too old is harmless."""
    try:
        await query.answer()
    except BadRequest as exc:
        logger.debug("could not answer a callback query: %s", exc)


async def _apologise(context: BotContext, chat_id: int, presenter: TelegramPresenter) -> None:
    """Some replies are still owed after retries: say the answers are safe."""
    try:
        await context.bot.send_message(
            chat_id, presenter.t("telegram.error"), parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        logger.warning("could not tell the user about a delivery failure: %s", exc)


# -- commands ------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """Greets the user, stores where they came from, and asks the first (or current) question."""
    await act(update, context, c.Begin(context.args[0] if context.args else None))


async def back(update: Update, context: BotContext) -> None:
    """Goes to the previous question."""
    await act(update, context, c.Commanded("back"))


async def restart(update: Update, context: BotContext) -> None:
    """Forgets the answers and asks the first question again."""
    await act(update, context, c.Commanded("restart"))


async def cancel(update: Update, context: BotContext) -> None:
    """Pauses: takes the buttons away and keeps the answers."""
    await act(update, context, c.Paused())


async def help_command(update: Update, context: BotContext) -> None:
    """Explains how to use the bot; an admin, in a private chat, also gets the admin commands
    (and their command menu in the language they speak here)."""
    await act(update, context, c.Commanded("help"))
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return
    if user.id not in context.services.settings.admin_ids:
        return
    svc = context.services.for_user(user)
    lines = [svc.presenter.t("telegram.admin_help")]
    lines += [
        f"/{name} – {svc.presenter.t(f'telegram.admin_commands.{name}')}" for name in ADMIN_MENU
    ]
    await context.bot.send_message(chat.id, "\n".join(lines), parse_mode=ParseMode.HTML)
    await set_admin_commands(context.bot, svc, chat.id)


async def id_command(update: Update, context: BotContext) -> None:
    """Tells anyone their Telegram id and, in a group, the group's id (for ADMIN_IDS and
    SALES_CHAT_ID)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = context.services.for_user(user).presenter.t
    if chat.type == ChatType.PRIVATE:
        reply = t("telegram.id_private", number=str(user.id))
    else:
        reply = t("telegram.id_group", chat=str(chat.id), number=str(user.id))
    await context.bot.send_message(chat.id, reply, parse_mode=ParseMode.HTML)


async def about(update: Update, context: BotContext) -> None:
    """Names the source article and how the advice is computed."""
    await act(update, context, c.Commanded("about"))


async def forget(update: Update, context: BotContext) -> None:
    """Asks for confirmation before deleting everything stored about the person."""
    await act(update, context, c.Commanded("forget"))


async def language(update: Update, context: BotContext) -> None:
    """Offers the languages, each by its own name; a tap switches, answers kept."""
    await act(update, context, c.Commanded("language"))


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answers a command the bot does not have (in groups: only commands addressed to us)."""
    if not _in_group(update) or _addressed_to_us(update, context):
        await act(update, context, c.Unreadable("unknown_command"))


async def unsupported(update: Update, context: BotContext) -> None:
    """Answers stickers, photos, voice and the like with a hint (in groups: silence)."""
    if not _in_group(update):
        await act(update, context, c.Unreadable("unsupported"))


async def edited(update: Update, context: BotContext) -> None:
    """Answers an edited message with a hint (in groups: silence); the state is unchanged."""
    if not _in_group(update):
        await act(update, context, c.Unreadable("edited"))


async def ignore(update: Update, context: BotContext) -> None:
    """Channel posts and service messages (joins, pins, …) are not for us."""


def _in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def _addressed_to_us(update: Update, context: BotContext) -> bool:
    """Whether ``/cmd@name`` names this bot (a bare ``/cmd`` counts as ours)."""
    message = update.effective_message
    text = message.text if message and message.text else ""
    command = text.split()[0] if text.split() else ""
    _, _, name = command.partition("@")
    return not name or name.casefold() == (context.bot.username or "").casefold()


# -- typed answers, contacts and buttons -----------------------------------------------------


async def text(update: Update, context: BotContext) -> None:
    """Interprets typed text as an answer or a command (or a contact during the hand-off)."""
    message = update.effective_message
    assert message is not None
    await act(update, context, c.Typed(message.text or ""))


async def contact_shared(update: Update, context: BotContext) -> None:
    """Takes a shared phone contact during the hand-off; elsewhere, it is just unsupported."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.contact is not None
    if _in_group(update):
        return
    own = user is not None and message.contact.user_id == user.id
    await act(update, context, c.SharedContact(message.contact.phone_number, own))


async def button(update: Update, context: BotContext) -> None:
    """Applies a button press to the presser's own, current screen; refuses anything else."""
    query = update.callback_query
    assert query is not None
    lead_press = callbacks.decode_lead(query.data)
    if lead_press is not None:  # an admin's button under a lead in /leads
        await leads.lead_button(update, context, lead_press)
        return
    message_id = query.message.message_id if query.message else None
    await act(update, context, c.Pressed(query.data or "", message_id, query.id))


# -- faults and housekeeping -----------------------------------------------------------------


async def on_error(update: object, context: BotContext) -> None:
    """A turn that could not be committed is left for Telegram to send again (see
    :mod:`.acks`); any other error is logged with its traceback and the user told, in one
    line, that their answers are safe."""
    if isinstance(context.error, StorageError):
        if isinstance(update, Update):
            await _not_committed(update, context, context.error)
        else:  # a background job (a purge, a delivery round): it runs again later
            logger.warning("a background job could not use the database now: %s", context.error)
        return
    logger.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update):
        context.services.acks.note(update.update_id, FAILED)
    if not isinstance(update, Update) or person_of(update) is None:
        return
    if update.callback_query is not None:
        await answer(update.callback_query)
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        await _apologise(context, chat.id, presenter_for(update, context))


async def purge_idle_sessions(context: BotContext) -> None:
    """Deletes sessions idle for longer than SESSION_TTL_DAYS."""
    svc = context.services
    removed = await svc.store.purge_idle(svc.settings.session_ttl_days)
    if removed:
        logger.info("purged %d idle sessions", removed)


async def resume_deliveries(context: BotContext) -> None:
    """Delivers messages still owed (after a crash, or a failure that has passed)."""
    svc = context.services
    pending = await svc.conversation.deliver_all(svc.transport)
    if pending:
        logger.warning("messages still owed to %d users; trying again later", pending)


#: The command of each menu entry.
COMMANDS = {
    "start": start,
    "back": back,
    "restart": restart,
    "cancel": cancel,
    "help": help_command,
    "about": about,
    "forget": forget,
    "language": language,
}
assert tuple(COMMANDS) == MENU


async def set_commands(application: BotApp) -> None:
    """Sets the command menu in every language (English for everyone else); if Telegram
    refuses, logs it and runs on."""
    knowledge = application.bot_data.services.knowledge
    for code in knowledge.languages:
        texts = knowledge.speaking(code)
        commands = [(name, texts.text(f"telegram.commands.{name}")) for name in MENU]
        try:
            if code == knowledge.language:
                await application.bot.set_my_commands(commands)
            await application.bot.set_my_commands(commands, language_code=code)
        except TelegramError as exc:
            logger.warning("could not set the command menu (%s): %s", code, exc)
    admins = application.bot_data.services.for_admins()
    for admin_id in admins.settings.admin_ids:
        await set_admin_commands(application.bot, admins, admin_id)


async def set_admin_commands(bot: Bot, svc: Services, admin_id: int) -> None:
    """An admin's own command menu (their private chat's scope): everyone's commands, then
    the admin commands, in ``svc``'s language. An admin who never started the bot has no
    chat yet (Telegram says so): logged, and set again at their /help."""
    k = svc.knowledge
    commands = [(name, k.text(f"telegram.commands.{name}")) for name in MENU]
    commands += [(name, k.text(f"telegram.admin_commands.{name}")) for name in ADMIN_MENU]
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(admin_id))
    except TelegramError as exc:
        logger.warning("could not set the admin command menu for %d: %s", admin_id, exc)
