"""Turn the engine's views into Telegram messages: HTML text and inline keyboards."""

from __future__ import annotations

import html
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    User,
)

from advisor import Knowledge
from dialogs.engine import View
from dialogs.session import Session

from . import callbacks


def esc(text: str) -> str:
    """Escape text for Telegram HTML."""
    return html.escape(text, quote=False)


@dataclass(frozen=True, slots=True)
class Screen:
    """One message to send or edit into place."""

    text: str
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None


class Views:
    """Renders questions, notices and the result's buttons from data/texts.yaml."""

    def __init__(self, knowledge: Knowledge, welcome_values: dict[str, object]) -> None:
        self.k = knowledge
        self.welcome_values = welcome_values

    def t(self, key: str, **values: object) -> str:
        """Escaped text from data."""
        return esc(self.k.text(key, **values))

    def question(
        self,
        view: View,
        session: Session,
        user_id: int,
        *,
        name: str | None = None,
        welcome: bool = False,
    ) -> Screen:
        """A question with its options, Back / Why / Restart, progress and any notice."""
        question = view.question
        assert question is not None
        parts = []
        if view.notice:
            parts.append(self.t(view.notice, **(view.notice_values or {})))
        if welcome:
            parts.append(self.t("dialog.welcome", **self.welcome_values))
        if name:
            parts.append(self.t("telegram.question_for", name=name))
        body = f"<b>{self.t('dialog.progress', step=view.step, steps=view.steps)}</b>\n"
        body += esc(question.prompt)
        if view.show_why:
            body += f"\n\n<i>{self.t('dialog.why_title')}:</i> {esc(question.why)}"
        parts.append(body)
        return Screen("\n\n".join(parts), self.question_keyboard(view, session, user_id))

    def question_keyboard(self, view: View, session: Session, user_id: int) -> InlineKeyboardMarkup:
        question = view.question
        assert question is not None

        def data(action: str) -> str:
            return callbacks.encode(user_id, session.round, question.id, action)

        rows = []
        for option in question.options:
            label = option.label
            if option.id == view.selected:
                label = self.k.text("telegram.button.chosen", label=label)
            rows.append([InlineKeyboardButton(label, callback_data=data(option.id))])
        nav = []
        if view.can_go_back:
            nav.append(self._button("back", data(callbacks.BACK)))
        nav.append(self._button("why", data(callbacks.WHY)))
        nav.append(self._button("restart", data(callbacks.RESTART)))
        rows.append(nav)
        return InlineKeyboardMarkup(rows)

    def result_keyboard(
        self, session: Session, user_id: int, *, share_code: str, expert: bool
    ) -> InlineKeyboardMarkup:
        """The buttons under the result: Share, Talk to an expert (if set up), Start over."""
        rows = [[InlineKeyboardButton(self.k.text("share.button"), switch_inline_query=share_code)]]
        if expert:
            rows.append([self._button("lead.button", self._data(session, user_id, callbacks.LEAD))])
        rows.append(
            [
                self._button(
                    "telegram.button.start_over", self._data(session, user_id, callbacks.RESTART)
                )
            ]
        )
        return InlineKeyboardMarkup(rows)

    def take_quiz_keyboard(self, session: Session, user_id: int) -> InlineKeyboardMarkup:
        """One button under a shared result: take the quiz yourself."""
        data = self._data(session, user_id, callbacks.QUIZ)
        return InlineKeyboardMarkup([[self._button("share.take_quiz", data)]])

    def consent_keyboard(self, session: Session, user_id: int) -> InlineKeyboardMarkup:
        """Yes, share / No thanks."""
        return InlineKeyboardMarkup(
            [
                [self._button("lead.consent_yes", self._data(session, user_id, callbacks.CONSENT))],
                [self._button("lead.consent_no", self._data(session, user_id, callbacks.DECLINE))],
            ]
        )

    def hand_off(self, view: View, session: Session, user: User) -> Screen:
        """The consent question, or the request for a contact, of the hand-off to an expert."""
        notice = self.t(view.notice, **(view.notice_values or {})) + "\n\n" if view.notice else ""
        if view.kind == "lead_consent":
            text = self.t("lead.consent", name=user.full_name)
            return Screen(notice + text, self.consent_keyboard(session, user.id))
        keyboard = ReplyKeyboardMarkup(
            [
                [KeyboardButton(self.k.text("lead.contact_button"), request_contact=True)],
                [KeyboardButton(self.k.text("lead.consent_no"))],
            ],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
        return Screen(notice + self.t("lead.ask_contact"), keyboard)

    def forget_keyboard(self, user_id: int) -> InlineKeyboardMarkup:
        """Yes, delete everything / No, keep it."""
        yes = callbacks.encode(user_id, 0, callbacks.NO_QUESTION, callbacks.FORGET)
        no = callbacks.encode(user_id, 0, callbacks.NO_QUESTION, callbacks.KEEP)
        return InlineKeyboardMarkup(
            [[self._button("privacy.forget_yes", yes)], [self._button("privacy.forget_no", no)]]
        )

    @staticmethod
    def _data(session: Session, user_id: int, action: str) -> str:
        return callbacks.encode(user_id, session.round, callbacks.NO_QUESTION, action)

    def _button(self, key: str, data: str) -> InlineKeyboardButton:
        if "." not in key:
            key = f"telegram.button.{key}"
        return InlineKeyboardButton(self.k.text(key), callback_data=data)

    def about(self) -> str:
        return self.t(
            "telegram.about",
            title=self.k.source.title,
            publisher=self.k.source.publisher,
            criteria=", ".join(c.title for c in self.k.criteria),
            conclusion=self.k.source.conclusion,
        )
