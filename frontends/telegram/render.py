"""Turn the conversation's replies into Telegram messages: HTML text and keyboards.

The output is data — an :class:`~storage.base.Outgoing` per Bot API call, committed to the
outbox before anything is sent — so every screen is rendered exactly once, here.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from typing import Any

from advisor import Knowledge, Recommendation, recommend
from advisor.render import render_html
from dialogs import conversation as c
from dialogs.session import Session
from dialogs.sharecode import ShareCodes
from dialogs.views import (
    Asking,
    Consent,
    ContactRequest,
    Finished,
    Goodbye,
    Help,
    Notice,
    View,
    Welcome,
)
from storage.base import Lead, Outgoing

from . import callbacks

SEND, EDIT, UNBUTTON = "send", "edit", "unbutton"
#: A ``reply_markup`` as the Bot API takes it; built as plain data, stored in the outbox as is.
Keyboard = dict[str, Any]
Button = dict[str, Any]


def esc(text: str) -> str:
    """Escape text for Telegram HTML."""
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    """Escaped text in bold."""
    return f"<b>{esc(text)}</b>"


def inline(rows: list[list[Button]]) -> Keyboard:
    """An inline keyboard, as the Bot API takes it."""
    return {"inline_keyboard": rows}


def button(text: str, data: str) -> Button:
    """An inline button that sends ``data`` back to the bot."""
    return {"text": text, "callback_data": data}


#: Takes away a reply keyboard (the contact request's).
NO_KEYBOARD: Keyboard = {"remove_keyboard": True}


class TelegramPresenter:
    """Renders replies and screens from data/texts.yaml for one bot."""

    def __init__(
        self,
        knowledge: Knowledge,
        welcome_values: dict[str, object],
        *,
        share_codes: ShareCodes,
        sales_chat_id: int | None,
    ) -> None:
        self.k = knowledge
        self.welcome_values = welcome_values
        self.share_codes = share_codes
        self.sales_chat_id = sales_chat_id

    def t(self, key: str, **values: object) -> str:
        """Escaped text from data."""
        return esc(self.k.text(key, **values))

    def notice(self, notice: Notice) -> str:
        return self.t(notice.key, **notice.values)

    # -- replies to outgoing messages ----------------------------------------------------------

    def present(self, replies: Sequence[c.Reply], audience: c.Audience) -> list[Outgoing]:
        out = _Out(audience)
        for reply in replies:
            match reply:
                case c.Show(view, edit, welcome):
                    self._show(out, view, edit=edit, welcome=welcome)
                case c.Say(notice):
                    out.send(self.notice(notice), NO_KEYBOARD)
                case c.ShowShared(rec):
                    self._shared(out, rec)
                case c.HandOver(lead):
                    if self.sales_chat_id is not None:
                        out.send(self.sales_summary(lead), chat_id=self.sales_chat_id, html=False)
                case c.Unbutton(message_id):
                    target = message_id if message_id is not None else out.live_id
                    if target is not None:
                        out.add(UNBUTTON, {"message_id": target})
        return out.messages

    def _show(self, out: _Out, view: View, *, edit: bool, welcome: bool) -> None:
        audience = out.audience
        match view:
            case Asking():
                name = None if audience.person.private else audience.person.first_name
                text = self.question(view, name=name, welcome=welcome)
                markup = self.question_keyboard(view, audience.session, audience.person.user_id)
                out.show_live(text, markup, edit=edit)
            case Finished(rec, notice) if notice is not None:
                out.send(self.notice(notice), NO_KEYBOARD)
            case Finished(rec, _, intro):
                if intro is not None:
                    out.send(self.notice(intro))
                if edit and out.live_id is not None:
                    out.add(EDIT, {"message_id": out.live_id, "text": self.t("telegram.done")})
                elif out.live_id is not None:
                    out.add(UNBUTTON, {"message_id": out.live_id})
                markup = self.result_keyboard(audience)
                parts = render_html(rec, self.k)
                for part in parts[:-1]:
                    out.send(part)
                out.send(parts[-1], markup, live=True)
            case Consent(notice):
                text = self._with_notice(
                    notice, self.t("lead.consent", name=audience.person.full_name)
                )
                out.send(text, self.consent_keyboard(audience.session, audience.person.user_id))
            case ContactRequest(notice):
                out.send(
                    self._with_notice(notice, self.t("lead.ask_contact")), self.contact_keyboard()
                )
            case Help():
                out.send(self.t("telegram.help"))
            case Welcome():  # the conversation begins the questions instead
                pass
            case Goodbye():
                out.send(self.t("telegram.bye"))

    def _shared(self, out: _Out, rec: Recommendation | None) -> None:
        quiz = self.take_quiz_keyboard(out.audience.session, out.audience.person.user_id)
        if rec is None:
            out.send(self.t("share.broken"), quiz)
            return
        out.send(self.t("share.shared_intro"))
        parts = render_html(rec, self.k)
        for part in parts[:-1]:
            out.send(part)
        out.send(parts[-1], quiz)

    def _with_notice(self, notice: Notice | None, text: str) -> str:
        return f"{self.notice(notice)}\n\n{text}" if notice else text

    # -- screens ------------------------------------------------------------------------------

    def question(self, view: Asking, *, name: str | None = None, welcome: bool = False) -> str:
        """A question with its progress and any notice."""
        parts = []
        if view.notice:
            parts.append(self.notice(view.notice))
        if welcome:
            parts.append(self.t("dialog.welcome", **self.welcome_values))
        if name:
            parts.append(self.t("telegram.question_for", name=name))
        progress = "dialog.progress_followup" if view.followup else "dialog.progress"
        body = bold(self.k.text(progress, step=view.step, steps=view.steps)) + "\n"
        body += esc(view.question.prompt)
        if view.show_why:
            body += f"\n\n<i>{self.t('dialog.why_title')}:</i> {esc(view.question.why)}"
        parts.append(body)
        return "\n\n".join(parts)

    def question_keyboard(self, view: Asking, session: Session, user_id: int) -> Keyboard:
        """The options, then Back / Why / Restart."""
        question = view.question

        def data(action: str) -> str:
            return callbacks.encode(user_id, session.round, question.id, action)

        rows = []
        for option in view.choices or question.options:
            label = option.label
            if option.id == view.selected:
                label = self.k.text("telegram.button.chosen", label=label)
            rows.append([button(label, data(option.id))])
        nav = []
        if view.can_go_back:
            nav.append(self._button("back", data(c.BACK)))
        nav.append(self._button("why", data(c.WHY)))
        nav.append(self._button("restart", data(c.RESTART)))
        rows.append(nav)
        return inline(rows)

    def result_keyboard(self, audience: c.Audience) -> Keyboard:
        """The buttons under the result: Share, Talk to an expert (if set up), Start over."""
        session, person = audience.session, audience.person
        code = self.share_codes.encode(session.answers)
        rows = [[{"text": self.k.text("share.button"), "switch_inline_query": code}]]
        if self.sales_chat_id is not None and person.private:
            rows.append(
                [self._button("lead.button", _data(session, person.user_id, c.LEAD_BUTTON))]
            )
        start_over = _data(session, person.user_id, c.RESTART)
        rows.append([self._button("telegram.button.start_over", start_over)])
        return inline(rows)

    def take_quiz_keyboard(self, session: Session, user_id: int) -> Keyboard:
        """One button under a shared result: take the quiz yourself."""
        return inline([[self._button("share.take_quiz", _data(session, user_id, c.QUIZ))]])

    def consent_keyboard(self, session: Session, user_id: int) -> Keyboard:
        """Yes, share / No thanks."""
        return inline(
            [
                [self._button("lead.consent_yes", _data(session, user_id, c.CONSENT))],
                [self._button("lead.consent_no", _data(session, user_id, c.DECLINE))],
            ]
        )

    def contact_keyboard(self) -> Keyboard:
        """Share my phone number / No thanks, as a keyboard in place of the typing one."""
        return {
            "keyboard": [
                [{"text": self.k.text("lead.contact_button"), "request_contact": True}],
                [{"text": self.k.text("lead.consent_no")}],
            ],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }

    def forget_keyboard(self, user_id: int) -> Keyboard:
        """Yes, delete everything / No, keep it."""
        yes = callbacks.encode(user_id, 0, callbacks.NO_QUESTION, callbacks.FORGET)
        no = callbacks.encode(user_id, 0, callbacks.NO_QUESTION, callbacks.KEEP)
        return inline(
            [[self._button("privacy.forget_yes", yes)], [self._button("privacy.forget_no", no)]]
        )

    def sales_summary(self, lead: Lead) -> str:
        """The plain-text summary of a lead for the sales chat."""
        k = self.k
        answers = []
        for question in k.questions:
            option = question.option(lead.answers.get(question.id))
            if option is not None:
                answers.append(
                    k.text("lead.sales_answer", question=question.prompt, answer=option.label)
                )
        rec = k.text(f"stack.{lead.recommendation}")
        confidence = recommend(k, lead.answers).confidence
        return k.text(
            "lead.sales_summary",
            name=lead.name,
            contact=lead.contact,
            source=lead.source or k.text("lead.no_source"),
            recommendation=rec,
            confidence=k.text(f"confidence.{confidence}"),
            answers="\n".join(answers),
        )

    def about(self) -> str:
        return self.t(
            "telegram.about",
            title=self.k.source.title,
            publisher=self.k.source.publisher,
            criteria=", ".join(cr.title for cr in self.k.criteria),
            conclusion=self.k.source.conclusion,
        )

    def _button(self, key: str, data: str) -> Button:
        if "." not in key:
            key = f"telegram.button.{key}"
        return button(self.k.text(key), data)


def _data(session: Session, user_id: int, action: str) -> str:
    return callbacks.encode(user_id, session.round, callbacks.NO_QUESTION, action)


def digest(text: str, markup: Keyboard | None) -> str:
    """A short fingerprint of a message's content, to skip edits that would change nothing."""
    raw = json.dumps([text, markup], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class _Out:
    """The outgoing messages of one turn, for one person."""

    def __init__(self, audience: c.Audience) -> None:
        self.audience = audience
        self.messages: list[Outgoing] = []
        self.live_id = audience.live.message_id if audience.live else None

    def add(
        self,
        kind: str,
        body: dict[str, Any],
        *,
        chat_id: int | None = None,
        live: bool = False,
        digest_: str = "",
    ) -> None:
        chat = self.audience.person.chat_id if chat_id is None else chat_id
        self.messages.append(Outgoing(chat, kind, body, live, digest_))

    def send(
        self,
        text: str,
        markup: Keyboard | None = None,
        *,
        chat_id: int | None = None,
        html: bool = True,
        live: bool = False,
    ) -> None:
        body: dict[str, Any] = {"text": text, "html": html}
        if markup is not None:
            body["markup"] = markup
        self.add(
            SEND, body, chat_id=chat_id, live=live, digest_=digest(text, markup) if live else ""
        )

    def show_live(self, text: str, markup: Keyboard, *, edit: bool) -> None:
        """Edit the live message into this screen (nothing, if it shows it already), or send it
        as the new live message and take the buttons off the old one."""
        fingerprint = digest(text, markup)
        live = self.audience.live
        if edit and live is not None:
            if live.digest != fingerprint:
                body = {
                    "message_id": live.message_id,
                    "text": text,
                    "markup": markup,
                }
                self.add(EDIT, body, live=True, digest_=fingerprint)
            return
        self.send(text, markup, live=True)
        if live is not None:
            self.add(UNBUTTON, {"message_id": live.message_id})
