"""Telegram handlers: each turns one update into one engine call and renders the reply."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from dialogs.session import LEAD_CONSENT, LEAD_CONTACT, RESULT, WELCOME, Session
from dialogs.sharecode import ShareCodes

from . import callbacks, lead, privacy, share
from .turn import PAYLOAD_RE, Services, Turn, services

logger = logging.getLogger(__name__)


# -- commands ------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets the user, stores where they came from, and asks the first (or current) question."""
    turn = Turn(update, context)
    if turn.is_repeat():
        return
    payload = context.args[0] if context.args else None
    if payload and ShareCodes.is_share_payload(payload):
        await share.show_shared(turn, payload)
        return
    if payload and PAYLOAD_RE.match(payload) and not turn.session.source:
        turn.session.source = payload
    await _begin(turn)


async def _begin(turn: Turn) -> None:
    """Start the questions, or continue where the user was."""
    engine = turn.svc.engine
    if turn.result_pending:
        await turn.show(engine.view(turn.session))
    elif turn.session.question_id is not None:
        await turn.show(engine.view(turn.session, notice="telegram.welcome_back"))
    elif turn.session.state == RESULT or turn.session.state.startswith("lead"):
        await turn.show(engine.restart(turn.session), welcome=True)
    else:
        await turn.show(engine.start(turn.session), welcome=True)


async def back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Goes to the previous question."""
    turn = Turn(update, context)
    if not turn.is_repeat():
        await turn.show(turn.svc.engine.back(turn.session))


async def restart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forgets the answers and asks the first question again."""
    turn = Turn(update, context)
    if not turn.is_repeat():
        await turn.show(turn.svc.engine.restart(turn.session))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pauses: takes the buttons away and keeps the answers."""
    turn = Turn(update, context)
    if turn.is_new:
        await turn.send_text(turn.svc.views.t("telegram.nothing_to_cancel"))
        return
    if turn.record.message_id is not None:
        await turn.drop_keyboard(turn.record.message_id)
    turn.record.message_id = None
    turn.save()
    await turn.send_text(turn.svc.views.t("telegram.cancelled"))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explains how to use the bot."""
    await _reply(update, context, services(context).views.t("telegram.help"))


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Names the source article and how the advice is computed."""
    await _reply(update, context, services(context).views.about())


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers a command the bot does not have."""
    await _reply(update, context, services(context).views.t("telegram.unknown_command"))


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers stickers, photos, voice and the like with a hint (in groups: silence)."""
    if not _in_group(update):
        await _reply(update, context, services(context).views.t("telegram.unsupported"))


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers an edited message with a hint (in groups: silence); the state is unchanged."""
    if not _in_group(update):
        await _reply(update, context, services(context).views.t("telegram.edited"))


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Channel posts and service messages (joins, pins, …) are not for us."""


def _in_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)


# -- typed answers and buttons ---------------------------------------------------------------


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Interprets typed text as an answer or a command (or a contact during the hand-off)."""
    message = update.effective_message
    assert message is not None
    turn = Turn(update, context)
    if turn.is_repeat():
        return
    if turn.in_group and turn.session.state == WELCOME:
        return  # group chatter is not meant for us; members start with /start
    if turn.session.state == LEAD_CONTACT and turn.svc.settings.sales_chat_id is not None:
        await lead.contact_text(turn, message.text or "")
        return
    if turn.result_pending:  # the result never arrived (sending failed): send it now
        await turn.show(turn.svc.engine.view(turn.session))
        return
    welcome = turn.session.state == "welcome"
    view = turn.svc.engine.handle_text(turn.session, message.text or "")
    if view.kind == "lead_contact":  # no sales chat any more: leave the hand-off
        view = turn.svc.engine.hand_off(turn.session, "decline")
    if view.command == "help":
        await turn.send_text(turn.svc.views.t("telegram.help"))
        return
    await turn.show(view, welcome=welcome)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Applies a button press to the presser's own, current question; refuses anything else."""
    query = update.callback_query
    assert query is not None
    press = callbacks.decode(query.data)
    svc = services(context)
    if press is None:
        await query.answer(svc.knowledge.text("telegram.forged"))
        return
    if press.user_id != query.from_user.id:
        await query.answer(_not_yours(update, svc, press.user_id))
        return
    if press.action in (callbacks.FORGET, callbacks.KEEP):
        await privacy.confirmed(update, context, press.action == callbacks.FORGET)
        return
    turn = Turn(update, context)
    if turn.is_repeat():
        await _answer_quietly(query)
        return
    message_id = query.message.message_id if query.message else None
    if not _is_current(turn.session, press):
        await _stale(turn, query, message_id)
        return
    await _act(turn, press, message_id)
    await query.answer()  # last: the user sees the new screen as the spinner stops


async def _act(turn: Turn, press: callbacks.Press, message_id: int | None) -> None:
    """Carry out a current button's action."""
    engine, session = turn.svc.engine, turn.session
    action = press.action
    if press.question == callbacks.NO_QUESTION:
        if message_id is not None and action != callbacks.LEAD:  # keep Share under the result
            await turn.drop_keyboard(message_id)
        if action == callbacks.RESTART:
            await turn.show(engine.restart(session))
        elif action == callbacks.QUIZ:
            await _begin(turn)
        elif action == callbacks.LEAD:
            await lead.ask_consent(turn)
        elif action == callbacks.CONSENT:
            await lead.consented(turn)
        elif action == callbacks.DECLINE:
            await lead.declined(turn)
        return
    if action == callbacks.RESTART:
        view = engine.restart(session)
    elif action == callbacks.BACK:
        view = engine.back(session)
    elif action == callbacks.WHY:
        view = engine.why(session)
    else:
        view = engine.answer(session, action)
    await turn.show(view, edit=message_id)


#: Where each action of a button that belongs to no question may be used.
_NO_QUESTION_STATES = {
    callbacks.RESTART: (RESULT,),
    callbacks.QUIZ: None,
    callbacks.LEAD: (RESULT,),
    callbacks.CONSENT: (LEAD_CONSENT,),
    callbacks.DECLINE: (LEAD_CONSENT, LEAD_CONTACT),
}


def _is_current(session: Session, press: callbacks.Press) -> bool:
    if press.question != callbacks.NO_QUESTION:
        return press.round == session.round and press.question == session.question_id
    if press.action not in _NO_QUESTION_STATES:
        return False
    states = _NO_QUESTION_STATES[press.action]
    if states is None:  # "take the quiz" works from anywhere
        return True
    return press.round == session.round and session.state in states


async def _stale(turn: Turn, query: CallbackQuery, message_id: int | None) -> None:
    """An old or double-tapped button: say so, and show where the user is."""
    k = turn.svc.knowledge
    if message_id is not None and message_id == turn.record.message_id:
        # The live question message: make sure it shows the current question (an earlier
        # edit may have failed), then say the tap was already counted.
        if turn.session.question_id is not None:
            await turn.show(turn.svc.engine.view(turn.session), edit=message_id)
        await query.answer(k.text("telegram.stale_same"))
        return
    if turn.result_pending or turn.session.question_id is not None:
        await turn.show(turn.svc.engine.view(turn.session))
    elif turn.session.state == WELCOME:  # e.g. stored data was lost: begin again
        await turn.show(turn.svc.engine.start(turn.session))
    await query.answer(k.text("telegram.stale"))


def _not_yours(update: Update, svc: Services, owner_id: int) -> str:
    chat = update.effective_chat
    record = svc.store.load(chat.id, owner_id) if chat else None
    name = record.first_name if record and record.first_name else None
    return svc.views.k.text("telegram.not_yours", name=name or svc.views.k.text("telegram.someone"))


async def _answer_quietly(query: CallbackQuery) -> None:
    try:
        await query.answer()
    except TelegramError as exc:
        logger.debug("could not answer a repeated callback query: %s", exc)


# -- faults and housekeeping -----------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs the error with its traceback and tells the user, in one line, their answers are safe."""
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        await _answer_quietly(update.callback_query)
    if update.effective_chat is None:
        return
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            services(context).views.t("telegram.error"),
            parse_mode=ParseMode.HTML,
        )
    except TelegramError as exc:
        logger.warning("could not tell the user about the error: %s", exc)


async def purge_idle_sessions(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deletes sessions idle for longer than SESSION_TTL_DAYS."""
    svc = services(context)
    removed = svc.store.purge_idle(svc.settings.session_ttl_days)
    if removed:
        logger.info("purged %d idle sessions", removed)


async def set_commands(application: Application) -> None:  # type: ignore[type-arg]
    """Sets the command menu; if Telegram refuses, logs it and runs on."""
    svc: Services = application.bot_data["services"]
    names = ("start", "back", "restart", "cancel", "help", "about", "forget")
    commands = [(name, svc.knowledge.text(f"telegram.commands.{name}")) for name in names]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError as exc:
        logger.warning("could not set the command menu: %s", exc)
