"""Turn the conversation's replies into Telegram messages: HTML text and keyboards.

The output is data — an :class:`~storage.base.Outgoing` per Bot API call, committed to the
outbox before anything is sent — so every screen is rendered exactly once, here.
"""

from __future__ import annotations

import copy
import hashlib
import html
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from advisor import Knowledge, Recommendation
from advisor.render import render_html
from advisor.session import LEAD_CONTACT, Session
from advisor.summary import (
    Voice,
    render_details_html,
    render_own_html,
    render_summary_html,
    render_why_html,
)
from bootstrap import Parts
from dialogs import actions, wording
from dialogs import turns as c
from dialogs.outbox import RESULT_MARK
from dialogs.sharecode import ShareCodes
from dialogs.views import (
    About,
    Asking,
    AtResult,
    Consent,
    ContactRequest,
    Explained,
    Finished,
    ForgetAsk,
    FullReport,
    Goodbye,
    Help,
    Hint,
    Languages,
    Notice,
    Preview,
    ResultPage,
    Revising,
    Summary,
    View,
    Welcome,
    WhyResult,
    YourAnswers,
)
from handoff import TELEGRAM, WEBHOOK, HandOff
from storage.base import LeadReach, Outgoing

SEND, EDIT, UNBUTTON, PHOTO = "send", "edit", "unbutton", "photo"
#: The answer to a tap (never stored: a tap can be answered only for a short while).
ANSWER = "answer"
#: Criteria buttons per row on the details menu.
CRITERIA_PER_ROW = 2
#: A ``reply_markup`` as the Bot API takes it; built as plain data, stored in the outbox as is.
Keyboard = dict[str, Any]
Button = dict[str, Any]


def esc(text: str) -> str:
    """Escape text for Telegram HTML."""
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    """Escaped text in bold."""
    return f"<b>{esc(text)}</b>"


#: The longest message Telegram takes, in UTF-16 code units (what it counts).
MESSAGE_LIMIT = 4096


def units(text: str) -> int:
    """How long Telegram counts a text: in UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def grouped(blocks: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[list[int]]:
    """Which blocks go into which message: as few messages as fit Telegram's limit, a blank
    line between two blocks, a block never split (by their indexes, in order)."""
    groups: list[list[int]] = []
    length = 0
    for index, block in enumerate(blocks):
        if groups and length + 2 + units(block) <= limit:
            groups[-1].append(index)
            length += 2 + units(block)
        else:
            groups.append([index])
            length = units(block)
    return groups


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
        hand_off: HandOff | None = None,
        web_url: str | None = None,
    ) -> None:
        self.k = knowledge
        self.welcome_values = welcome_values
        self.share_codes = share_codes
        #: Whether "Talk to an expert" is offered, consulted at each result (None: never).
        self.hand_off = hand_off
        #: The Mini App's address (WEB_URL's ``/app``), when WEB_URL is https: Telegram opens
        #: only https pages as Mini Apps.
        self.mini_app = f"{web_url}/app" if web_url and web_url.startswith("https://") else None
        #: This presenter in each language (made when first needed), this one included.
        self._languages: dict[str, TelegramPresenter] = {knowledge.language: self}

    @classmethod
    def of(cls, parts: Parts) -> TelegramPresenter:
        """The presenter of a bootstrapped advisor's parts (see :func:`bootstrap.bootstrap`)."""
        return cls(
            parts.knowledge,
            parts.engine.welcome_values(),
            share_codes=parts.share_codes,
            hand_off=parts.hand_off,
            web_url=parts.web_url,
        )

    def speaking(self, language: str | None) -> TelegramPresenter:
        """This presenter in another language (English when that one is not loaded)."""
        knowledge = self.k.speaking(language)
        presenter = self._languages.get(knowledge.language)
        if presenter is None:
            presenter = copy.copy(self)
            presenter.k = knowledge
            self._languages[knowledge.language] = presenter
        return presenter

    def t(self, key: str, **values: object) -> str:
        """Escaped text from data."""
        return esc(self.k.text(key, **values))

    def notice(self, notice: Notice) -> str:
        return self.t(notice.key, **notice.values)

    # -- replies to outgoing messages ----------------------------------------------------------

    def present(self, replies: Sequence[c.Reply], audience: c.Audience) -> list[Outgoing]:
        speaker = self.speaking(audience.session.language)
        if speaker is not self:
            return speaker.present(replies, audience)
        out = _Out(audience)
        for reply in replies:
            match reply:
                case c.Show(view, edit, welcome):
                    self._show(out, view, edit=edit, welcome=welcome)
                case c.Say(notice, keep):
                    keyboard = self._said_keyboard(audience.session, keep=keep)
                    out.send(self.notice(notice), keyboard)
                case c.ShowShared(rec):
                    self._shared(out, rec)
                case c.Unbutton(message_id):
                    target = message_id if message_id is not None else out.live_id
                    if target is not None:
                        out.add(UNBUTTON, {"message_id": target})
                case c.Rewrite(message_id, notice):
                    out.rewrite(message_id, self.notice(notice))
                case c.Forgot(reach, message_id):
                    out.rewrite(message_id, self.forgotten(reach))
                case c.Answer(query_id, toast):
                    text = self.notice(toast) if toast is not None else None
                    out.add(ANSWER, {"query_id": query_id, "text": text})
        return out.messages

    def _show(self, out: _Out, view: View, *, edit: bool, welcome: bool) -> None:
        audience = out.audience
        match view:
            case Asking():
                name = None if audience.person.private else audience.person.first_name
                text = self.question(view, name=name, welcome=welcome)
                markup = self.question_keyboard(view, audience.session, audience.person.user_id)
                out.show_live(text, markup, edit=edit)
            case AtResult(notice):
                out.send(self.notice(notice), NO_KEYBOARD)
            case Summary(rec):
                out.show_live(self.summary(rec), self.result_keyboard(audience), edit=edit)
            case Finished(rec, intro):
                self._result(out, rec, intro, edit=edit)
            case Explained(rec, None, notice):
                text = self._with_notice(notice, bold(self.k.text("telegram.details_menu")))
                out.show_live(text, self.details_menu_keyboard(view, audience), edit=edit)
            case Explained(rec, number, notice):
                assert number is not None
                if number > len(self.k.criteria):
                    page = render_own_html(rec, self.k)
                else:
                    page = render_details_html(self.k, number, rec)
                text = self._with_notice(notice, page)
                out.show_live(text, self.details_keyboard(view, audience, number), edit=edit)
            case WhyResult(rec):
                out.show_live(render_why_html(rec, self.k), self.why_keyboard(audience), edit=edit)
            case FullReport(rec):
                for part in render_html(rec, self.k):
                    out.send(part)
            case YourAnswers():
                out.show_live(
                    self.your_answers(view), self.answers_keyboard(view, audience), edit=edit
                )
            case Revising():
                out.show_live(self.revising(view), self.revise_keyboard(view, audience), edit=edit)
            case Preview():
                out.show_live(self.preview(view), self.preview_keyboard(audience), edit=edit)
            case Consent(notice):
                text = self._with_notice(
                    notice, self.t("lead.consent", name=audience.person.full_name)
                )
                out.send(text, self.consent_keyboard(audience.session, audience.person.user_id))
            case ContactRequest(notice):
                out.send(
                    self._with_notice(notice, self.t("lead.ask_contact")), self.contact_keyboard()
                )
            case Help(current) if isinstance(current, ResultPage):
                out.send(self.t("dialog.notice.help_result"))
            case Help():
                out.send(self.t("telegram.help"))
            case Languages(choices, current):
                out.send(
                    self.t("language.choose"), self.languages_keyboard(choices, current, audience)
                )
            case About():
                out.send(self.about())
            case ForgetAsk():
                out.send(
                    self.t("privacy.forget_ask"), self.forget_keyboard(audience.person.user_id)
                )
            case Hint(notice):
                out.send(self.notice(notice))
            case Welcome():  # the conversation begins the questions instead
                pass
            case Goodbye():
                out.send(self.t("telegram.bye"))

    def _result(self, out: _Out, rec: Recommendation, intro: Notice | None, *, edit: bool) -> None:
        """A new result: the chart, then the summary with its buttons, as the live message.

        The question message the last tap came from says the result is below (or what the
        tap did); everything new the person reads stays within one screen."""
        said = ""
        if edit and out.live_id is not None:
            said = self.notice(intro) if intro is not None else self.t("telegram.done")
            out.add(EDIT, {"message_id": out.live_id, "text": said})
        else:
            if intro is not None:
                said = self.notice(intro)
                out.send(said)
            if out.live_id is not None:
                out.add(UNBUTTON, {"message_id": out.live_id})
        out.add(PHOTO, {"answers": dict(rec.answers), "language": self.k.language})
        out.send(self.summary(rec), self.result_keyboard(out.audience), live=True, result=True)

    def _shared(self, out: _Out, rec: Recommendation | None) -> None:
        quiz = self.take_quiz_keyboard(out.audience.session, out.audience.person.user_id)
        if rec is None:
            out.send(self.t("share.broken"), quiz)
            return
        out.add(PHOTO, {"answers": dict(rec.answers), "language": self.k.language})
        out.send(self.summary(rec, voice="they"), quiz)

    def summary(self, rec: Recommendation, *, voice: Voice = "you") -> str:
        """The one-screen summary, as Telegram HTML: the same every time it is shown."""
        return render_summary_html(rec, self.k, voice=voice)

    def your_answers(self, view: YourAnswers) -> str:
        """The answers, one line each, then the changes that would matter most."""
        k = self.k
        lines = [bold(k.text("whatif.answers_title"))]
        lines += [esc(line) for line in wording.answer_lines(k, view)]
        lines.append("")
        if view.suggestions:
            lines.append(bold(k.text("whatif.suggestions_title")))
            lines += ["• " + esc(wording.suggestion(k, a)) for a in view.suggestions]
        else:
            lines.append(self.t("whatif.no_suggestions"))
        lines += ["", self.t("whatif.pick_question")]
        return self._with_notice(view.notice, "\n".join(lines))

    def revising(self, view: Revising) -> str:
        """One question again, with the answer and the advice as they are now."""
        lines = [
            bold(self.k.text("whatif.revise_title")),
            "",
            bold(f"{view.number}. {view.question.short}"),
            esc(view.question.prompt),
            "",
            esc(wording.revise_now(self.k, view)),
        ]
        return self._with_notice(view.notice, "\n".join(lines))

    def preview(self, view: Preview) -> str:
        """The result with one answer changed, and whether the advice would change."""
        head, change = wording.preview_head(self.k, view)
        text = f"{bold(head)}\n{esc(change)}\n\n{self.summary(view.after)}"
        return self._with_notice(view.notice, text)

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
        if view.settled is not None:
            body += f"\n\n<i>{esc(wording.settled(self.k, view.settled))}</i>"
        parts.append(body)
        return "\n\n".join(parts)

    def question_keyboard(self, view: Asking, session: Session, user_id: int) -> Keyboard:
        """The options, then Back / Why / Restart."""
        question = view.question

        def data(action: str) -> str:
            return actions.encode(user_id, session.round, question.id, action)

        rows = []
        for option in view.choices or question.options:
            label = option.label
            if option.id == view.selected:
                label = self.k.text("telegram.button.chosen", label=label)
            rows.append([button(label, data(option.id))])
        if view.settled is not None and not view.choices:
            rows.append([self._act(actions.SEE_NOW, data)])
        nav = []
        if view.can_go_back:
            nav.append(self._act(actions.BACK, data))
        nav.append(self._act(actions.WHY, data))
        nav.append(self._act(actions.RESTART, data))
        rows.append(nav)
        return inline(rows)

    def result_keyboard(self, audience: c.Audience) -> Keyboard:
        """Under the summary: Details, Full report, Your answers, then Share, Talk to an expert
        (in a private chat, while leads can reach the sales team) and Start over."""
        session, person = audience.session, audience.person

        def data(action: str) -> str:
            return _data(session, person.user_id, action)

        code = self.share_codes.encode(session.answers)
        rows = [
            [self._act(actions.DETAILS, data), self._act(actions.REPORT, data)],
            [self._act(actions.ANSWERS, data)],
        ]
        share = [{"text": self.k.text("share.button"), "switch_inline_query": code}]
        if self.hand_off is not None and self.hand_off.open_for(private=person.private):
            share.append(self._act(actions.LEAD, data))
        rows.append(share)
        if self.mini_app is not None and person.private:  # Mini Apps open in private chats
            app = {"text": self.k.text("web.open_app"), "web_app": {"url": self.mini_app}}
            rows.append([app])
        rows.append([self._act(actions.START_OVER, data)])
        return inline(rows)

    def _summary_button(self, audience: c.Audience) -> Button:
        return self._act(actions.SUMMARY, self._screen(audience))

    def details_menu_keyboard(self, view: Explained, audience: c.Audience) -> Keyboard:
        """One button per criterion (the article's names), one for the advisor's own rules
        when they gave points, then back to the summary."""
        session, user_id = audience.session, audience.person.user_id
        buttons = [
            button(criterion.title, _details(session, user_id, number))
            for number, criterion in enumerate(self.k.criteria, start=1)
        ]
        if view.pages > len(self.k.criteria):
            own = _details(session, user_id, view.pages)
            buttons.append(button(self.k.text("chart.own"), own))
        rows = [buttons[i : i + CRITERIA_PER_ROW] for i in range(0, len(buttons), CRITERIA_PER_ROW)]
        rows.append([self._summary_button(audience)])
        return inline(rows)

    def why_keyboard(self, audience: c.Audience) -> Keyboard:
        """Under "why": the details of the criteria, then back to the summary."""
        details = self._act(actions.DETAILS, self._screen(audience))
        return inline([[details], [self._summary_button(audience)]])

    def details_keyboard(self, view: Explained, audience: c.Audience, number: int) -> Keyboard:
        """Previous and next criterion, then back to the summary."""
        session, user_id = audience.session, audience.person.user_id
        steps = []
        if number > 1:
            steps.append(
                self._button(
                    "previous",
                    _details(session, user_id, number - 1),
                )
            )
        if number < view.pages:
            steps.append(self._button("next", _details(session, user_id, number + 1)))
        return inline(
            [steps, [self._summary_button(audience)]]
            if steps
            else [[self._summary_button(audience)]]
        )

    def answers_keyboard(self, view: YourAnswers, audience: c.Audience) -> Keyboard:
        """The changes that matter most, then one button per question, then back."""
        session, user_id = audience.session, audience.person.user_id

        def data(question: str, action: str) -> str:
            return actions.encode(user_id, session.round, question, action, what_if=True)

        rows = [
            [button(wording.suggestion(self.k, a), data(a.question.id, a.new.id))]
            for a in view.suggestions
        ]
        questions = [
            button(f"{number}. {question.short}", data(question.id, actions.CHANGE.code))
            for number, (question, _) in enumerate(view.answered, start=1)
        ]
        rows += [questions[i : i + 2] for i in range(0, len(questions), 2)]
        rows.append([self._summary_button(audience)])
        return inline(rows)

    def revise_keyboard(self, view: Revising, audience: c.Audience) -> Keyboard:
        """Each option (the current one marked), with the advice it would give when that
        differs from now; then back to the summary."""
        session, user_id = audience.session, audience.person.user_id
        rows = []
        for option in view.question.options:
            label = wording.option_with_effect(self.k, view, option)
            if option is view.current:
                label = self.k.text("telegram.button.chosen", label=label)
            data = actions.encode(user_id, session.round, view.question.id, option.id, what_if=True)
            rows.append([button(label, data)])
        rows.append([self._summary_button(audience)])
        return inline(rows)

    def preview_keyboard(self, audience: c.Audience) -> Keyboard:
        """Keep this answer, try another, or back to the summary as it was."""
        data = self._screen(audience)
        return inline(
            [
                [self._act(actions.TAKE, data)],
                [self._act(actions.UNDO, data)],
                [self._summary_button(audience)],
            ]
        )

    def take_quiz_keyboard(self, session: Session, user_id: int) -> Keyboard:
        """One button under a shared result: take the quiz yourself."""
        return inline([[self._act(actions.QUIZ, lambda code: _data(session, user_id, code))]])

    def consent_keyboard(self, session: Session, user_id: int) -> Keyboard:
        """Yes, share / No thanks."""

        def data(code: str) -> str:
            return _data(session, user_id, code)

        return inline(
            [
                [self._act(actions.CONSENT, data)],
                [self._act(actions.DECLINE, data)],
            ]
        )

    def _said_keyboard(self, session: Session, *, keep: bool) -> Keyboard:
        """Under a line said on its own: the contact keyboard again when the line names its
        buttons while the contact is still asked for ("or tap “No thanks”"), else none (a
        contact keyboard goes away)."""
        return self.contact_keyboard() if keep and session.state == LEAD_CONTACT else NO_KEYBOARD

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
        yes = actions.encode(user_id, 0, actions.NO_QUESTION, actions.FORGET)
        no = actions.encode(user_id, 0, actions.NO_QUESTION, actions.KEEP)
        return inline(
            [[self._button("privacy.forget_yes", yes)], [self._button("privacy.forget_no", no)]]
        )

    def forgotten(self, reach: LeadReach) -> str:
        """What /forget deleted, and where the person's contact had already gone."""
        lines = [self.t("privacy.forgotten")]
        if TELEGRAM in reach.delivered:
            lines.append(self.t("privacy.forgotten_sales_chat"))
        elif reach.handled:
            lines.append(self.t("privacy.forgotten_handled"))
        if WEBHOOK in reach.delivered:
            lines.append(self.t("privacy.forgotten_crm"))
        if reach.leads and len(lines) == 1:
            lines.append(self.t("privacy.forgotten_withdrawn"))
        return "\n\n".join(lines)

    def about(self) -> str:
        """Where the advice comes from, and every rule of its own, read from the data."""
        return esc(wording.about(self.k))

    def languages_keyboard(
        self, choices: Sequence[tuple[str, str]], current: str, audience: c.Audience
    ) -> Keyboard:
        """One button per language, named in its own words; the current one ticked."""
        session, user_id = audience.session, audience.person.user_id
        rows = []
        for code, name in choices:
            label = self.k.text("telegram.button.chosen", label=name) if code == current else name
            rows.append([button(label, _data(session, user_id, actions.LANGUAGE.code + code))])
        return inline(rows)

    def _act(self, act: actions.Act, data: Callable[[str], str]) -> Button:
        """The button of an action, labelled as its row in the table says."""
        assert act.label is not None, act
        return button(self.k.text(act.label), data(act.code))

    @staticmethod
    def _screen(audience: c.Audience) -> Callable[[str], str]:
        """The callback data of a button on no question, for this person and round."""
        session, user_id = audience.session, audience.person.user_id
        return lambda code: _data(session, user_id, code)

    def _button(self, key: str, data: str) -> Button:
        if "." not in key:
            key = f"telegram.button.{key}"
        return button(self.k.text(key), data)


def _data(session: Session, user_id: int, action: str) -> str:
    return actions.encode(user_id, session.round, actions.NO_QUESTION, action)


def _details(session: Session, user_id: int, number: int) -> str:
    """The callback data of a criterion's page of details (or the own rules' page)."""
    return _data(session, user_id, actions.numbered(actions.DETAILS, number))


def digest(text: str, markup: Keyboard | None) -> str:
    """A short fingerprint of a message's content, to skip edits that would change nothing."""
    raw = orjson.dumps([text, markup], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(raw).hexdigest()[:16]


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
        result: bool = False,
    ) -> None:
        body: dict[str, Any] = {"text": text, "html": html}
        if result:  # the result's summary: if it cannot reach the person, /start shows it
            body[RESULT_MARK] = True
        if markup is not None:
            body["markup"] = markup
        self.add(
            SEND, body, chat_id=chat_id, live=live, digest_=digest(text, markup) if live else ""
        )

    def rewrite(self, message_id: int | None, text: str) -> None:
        """A message of ours rewritten to this text, its buttons gone (None: sent anew)."""
        if message_id is None:
            self.send(text)
        else:
            self.add(EDIT, {"message_id": message_id, "text": text})

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
