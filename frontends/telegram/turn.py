"""One update from one user: their stored record, and how to reply to them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup, Message, ReplyKeyboardRemove, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from advisor import Knowledge
from advisor.render import render_html
from dialogs.engine import DialogEngine, View
from dialogs.session import LEAD_CONTACT, RESULT, WELCOME, Session
from dialogs.sharecode import ShareCodes
from settings import Settings
from storage.sqlite import FINISHED, STARTED, Record, SessionStore

from .render import Screen, Views

logger = logging.getLogger(__name__)

#: A lower update id than the last one handled is a redelivery only within this window.
REPEAT_WINDOW_SECONDS = 24 * 3600

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Services:
    """What the handlers need, wired once in :func:`build_application`."""

    settings: Settings
    knowledge: Knowledge
    engine: DialogEngine
    store: SessionStore
    views: Views
    share_codes: ShareCodes


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The services stored in the application."""
    found: Services = context.application.bot_data["services"]
    return found


class Turn:
    """One update from one user: their stored record, and how to reply to them."""

    def __init__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.update = update
        self.svc = services(context)
        self.bot = context.bot
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None and user is not None
        self.chat_id = chat.id
        self.user: User = user
        self.in_group = chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        stored = self.svc.store.load(self.chat_id, user.id)
        self.is_new = stored is None
        self.record = stored or Record(Session())
        self.record.first_name = user.first_name
        self._state0, self._round0 = self.session.state, self.session.round

    @property
    def session(self) -> Session:
        return self.record.session

    def is_repeat(self) -> bool:
        """True for an update this session has already handled (redelivered after a crash).

        Telegram restarts update ids at a random number after a week without updates, so a
        lower id only counts as a repeat while the session was active recently.
        """
        recent = self.svc.store.clock() - self.record.updated_at < REPEAT_WINDOW_SECONDS
        return recent and self.update.update_id <= self.record.last_update

    @property
    def result_pending(self) -> bool:
        """At the result, but the result has not reached the user (sending it failed)."""
        return self.session.state == RESULT and self.record.message_id is None

    def save(self) -> None:
        """Commit the session before anything is sent; note a dialog started for the stats."""
        self.record.last_update = max(self.record.last_update, self.update.update_id)
        self.svc.store.save(self.chat_id, self.user.id, self.record)
        session = self.session
        began = self._state0 == WELCOME or session.round != self._round0
        if began and session.question_id is not None:
            self.svc.store.record_event(self.user.id, STARTED, source=session.source)
            self._state0, self._round0 = session.state, session.round

    def fresh_notice(self, view: View) -> View:
        """Tell the user when stored data could not be restored."""
        if not self.record.restored_fresh or view.notice:
            return view
        self.record.restored_fresh = False
        return self.svc.engine.view(self.session, notice="dialog.notice.restored_fresh")

    async def send_text(self, text: str) -> Message:
        return await self.bot.send_message(self.chat_id, text, parse_mode=ParseMode.HTML)

    async def show(self, view: View, *, edit: int | None = None, welcome: bool = False) -> None:
        """Save, then show a view: edit the question message in place or send a new one."""
        view = self.fresh_notice(view)
        if view.kind == "result" and view.notice and not self.result_pending:
            self.save()
            await self._send_notice(view.notice, **(view.notice_values or {}))
            return
        if self._state0 == LEAD_CONTACT and view.kind != "lead_contact":
            await self._send_notice("lead.left")  # takes the contact keyboard away
        if view.kind == "result":
            await self._show_result(view, edit)
            return
        if view.kind in ("lead_consent", "lead_contact"):
            self.save()
            screen = self.svc.views.hand_off(view, self.session, self.user)
            await self.bot.send_message(
                self.chat_id, screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup
            )
            return
        if view.kind == "welcome":
            view = self.svc.engine.start(self.session)
        name = self.user.first_name if self.in_group else None
        screen = self.svc.views.question(
            view, self.session, self.user.id, name=name, welcome=welcome
        )
        if edit is not None and await self._edit(edit, screen):
            self.record.message_id = edit
            self.save()
            return
        self.save()
        old = self.record.message_id
        message = await self.bot.send_message(
            self.chat_id, screen.text, parse_mode=ParseMode.HTML, reply_markup=screen.markup
        )
        self.record.message_id = message.message_id
        self.save()
        if old is not None and old != message.message_id:
            await self.drop_keyboard(old)

    async def _send_notice(self, key: str, **values: object) -> None:
        """A one-line message that also takes away any reply keyboard."""
        await self.bot.send_message(
            self.chat_id,
            self.svc.views.t(key, **values),
            parse_mode=ParseMode.HTML,
            reply_markup=ReplyKeyboardRemove(),
        )

    async def _show_result(self, view: View, edit: int | None) -> None:
        """Save, send the result, and only then remember it was delivered."""
        rec = view.recommendation
        assert rec is not None
        self.record.message_id = None
        self.save()
        store = self.svc.store
        if not store.finished_since_start(self.user.id):
            store.record_event(
                self.user.id, FINISHED, source=self.session.source, detail=rec.choice
            )
        if edit is not None:
            await self._edit(edit, Screen(self.svc.views.t("telegram.done")))
        messages = render_html(rec, self.svc.knowledge)
        markup = self.svc.views.result_keyboard(
            self.session,
            self.user.id,
            share_code=self.svc.share_codes.encode(rec.answers),
            expert=self.svc.settings.sales_chat_id is not None and not self.in_group,
        )
        last = await self.send_html(messages, markup)
        self.record.message_id = last.message_id
        self.save()

    async def send_html(
        self, messages: list[str], markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        """Send HTML messages in order, the buttons under the last; return the last one."""
        sent = None
        for index, text in enumerate(messages):
            last = index == len(messages) - 1
            sent = await self.bot.send_message(
                self.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
            )
        assert sent is not None
        return sent

    async def _edit(self, message_id: int, screen: Screen) -> bool:
        """Edit a message into place; False when it no longer exists."""
        markup = screen.markup if isinstance(screen.markup, InlineKeyboardMarkup) else None
        try:
            await self.bot.edit_message_text(
                screen.text,
                chat_id=self.chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True
            if "not found" in exc.message.lower():
                return False
            raise
        return True

    async def drop_keyboard(self, message_id: int) -> None:
        """Take the buttons off an older question, so the chat shows one live question."""
        try:
            await self.bot.edit_message_reply_markup(self.chat_id, message_id, reply_markup=None)
        except TelegramError as exc:
            logger.debug("could not remove an old keyboard: %s", exc)
