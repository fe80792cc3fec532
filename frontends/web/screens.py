"""The web's presenter: a screen of the conversation as a page.

The web shows the same screens as Telegram, in the same words and with the same buttons: each
view is rendered by the Telegram presenter (its HTML is escaped text with ``<b>``, ``<i>`` and
``<a>`` only), and each message becomes a block of the page, each inline button a form button
that sends its data back (read by the conversation service exactly as a tap in Telegram is, so
a stale or forged one gets the same answer). The chart is the same ledger drawn as SVG.

Unlike a chat, a page shows one screen, and the page is drawn again on every request (after a
form, the browser is sent back to the page: POST-redirect-GET). So :meth:`WebPresenter.present`
owes nothing to an outbox: the page is drawn from the stored session, the page of the result
asked for, and the one-time notice of the last step (see :mod:`.app`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from markupsafe import Markup

from advisor import Knowledge, recommend
from advisor.chart import render_chart_svg
from advisor.session import RESULT, Session
from bootstrap import Parts
from dialogs import turns as c
from dialogs.engine import DialogEngine
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
    Revising,
    Summary,
    View,
    WhyResult,
    YourAnswers,
)
from frontends.telegram.presenter import EDIT, PHOTO, SEND, TelegramPresenter
from storage.base import Outgoing

#: The result's pages a page address may ask for (``?p=``): not personal, safe to share.
PAGE_RE = re.compile(r"(details(-[1-9][0-9]?)?|why|report|answers|languages)")


@dataclass(frozen=True, slots=True)
class Button:
    """A button of a screen: ``press`` sends its data back (``value``); ``link`` goes to a
    page of ours (``value`` is its path)."""

    label: str
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class Block:
    """A part of a screen: text (Telegram HTML, already escaped) or the chart (SVG)."""

    html: Markup
    chart: bool = False


@dataclass(slots=True)
class Screen:
    """One page of the conversation: its blocks, then its rows of buttons."""

    blocks: list[Block] = field(default_factory=list)
    rows: list[list[Button]] = field(default_factory=list)
    #: A question is on screen: a box to type the answer in.
    typing: bool = False
    #: The hand-off asks for a contact: the e-mail and phone form.
    contact: bool = False
    #: The result is on screen (its share link and "Delete my answers" go under it).
    result: bool = False


def paragraphs(text: str) -> Markup:
    """Telegram HTML (escaped text, ``\\n`` for line breaks) as paragraphs."""
    parts = [p for p in text.split("\n\n") if p.strip()]
    return Markup("".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in parts))


class WebPresenter:
    """Draws the conversation's screens as pages, in the person's language."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.telegram = TelegramPresenter.of(parts)

    @classmethod
    def of(cls, parts: Parts) -> WebPresenter:
        return cls(parts)

    def present(self, replies: Sequence[c.Reply], audience: c.Audience) -> list[Outgoing]:
        """Nothing is owed: every page is drawn from the stored session when it is asked for."""
        return []

    def knowledge(self, language: str) -> Knowledge:
        return self.parts.knowledge.speaking(language)

    def engine(self, language: str) -> DialogEngine:
        return self.parts.engine.speaking(language)

    # -- a screen ------------------------------------------------------------------------------

    def screen(self, view: View, audience: c.Audience) -> Screen:
        """The page of one view, drawn as Telegram draws its messages."""
        speaker = self.telegram.speaking(audience.session.language)
        k = speaker.k
        screen = Screen()
        if isinstance(view, Consent):
            # A web visitor has no name to share (the Mini App's Telegram user has one).
            name = audience.person.full_name
            text = speaker.t("lead.consent", name=name) if name else speaker.t("web.consent")
            if view.notice is not None:
                text = f"{speaker.notice(view.notice)}\n\n{text}"
            screen.blocks.append(Block(paragraphs(text)))
            screen.rows = self._buttons(speaker.consent_keyboard(audience.session, _uid(audience)))
            return screen
        if isinstance(view, ContactRequest):
            text = speaker.t("web.ask_contact")
            if view.notice is not None:
                text = f"{speaker.notice(view.notice)}\n\n{text}"
            screen.blocks.append(Block(paragraphs(text)))
            screen.contact = True
            return screen
        if isinstance(view, Help):
            key = "web.help_result" if audience.session.state == RESULT else "web.help"
            screen.blocks.append(Block(paragraphs(speaker.t(key))))
            return screen
        for message in speaker.present([c.Show(view)], audience):
            self._message(screen, message, k)
        screen.typing = isinstance(view, Asking)
        screen.result = isinstance(view, Finished | Summary)
        return screen

    def _message(self, screen: Screen, message: Outgoing, k: Knowledge) -> None:
        body = message.body
        if message.kind == PHOTO:
            rec = recommend(k, dict(body["answers"]))
            screen.blocks.append(Block(Markup(render_chart_svg(rec, k)), chart=True))
        elif message.kind in (SEND, EDIT) and "text" in body:
            screen.blocks.append(Block(paragraphs(str(body["text"]))))
            markup = body.get("markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                screen.rows += self._buttons(markup)

    def _buttons(self, markup: dict[str, object]) -> list[list[Button]]:
        rows: list[list[Button]] = []
        keyboard = markup.get("inline_keyboard")
        assert isinstance(keyboard, list)
        for row in keyboard:
            buttons = []
            for b in row:
                label = str(b["text"])
                if "callback_data" in b:
                    buttons.append(Button(label, "press", str(b["callback_data"])))
                elif "switch_inline_query" in b:  # Share: the web's own share link
                    buttons.append(Button(label, "share", str(b["switch_inline_query"])))
                # a Mini App button opens what the page already is: not shown here
            if buttons:
                rows.append(buttons)
        return rows

    # -- the page a session is on --------------------------------------------------------------

    def view_of(
        self,
        session: Session,
        *,
        page: str | None,
        notice: Notice | None,
        choices: Sequence[str] = (),
    ) -> View:
        """The screen of a stored session: its state's screen, or the page of the result asked
        for (``page``), with the one-time notice of the last step and the choices of a "Did
        you mean…?"."""
        engine = self.engine(session.language)
        probe = Session.from_dict(session.to_dict(), engine.knowledge) or session
        if page == "languages":
            names = tuple(
                (code, self.knowledge(code).text("language.name"))
                for code in self.parts.knowledge.languages
            )
            return Languages(names, session.language)
        if page and session.state == RESULT:
            view = self._result_page(engine, probe, page)
            if view is not None:
                return view
        if page == "why" and probe.question_id is not None:
            return engine.view(probe, notice=notice, show_why=True)
        view = engine.view(probe, notice=notice)
        if isinstance(view, AtResult):
            return Finished(recommend(engine.knowledge, session.answers), notice)
        if isinstance(view, Asking) and choices:
            picked = tuple(o for o in view.question.options if o.id in choices)
            if len(picked) == len(choices):
                view = replace(view, choices=picked)
        return view

    def _result_page(self, engine: DialogEngine, session: Session, page: str) -> View | None:
        if page.startswith("details"):
            number = int(page.split("-")[1]) if "-" in page else None
            return engine.page(session, "details", number)
        if page == "report":
            return engine.page(session, "report")
        if page == "answers":
            return engine.page(session, "answers")
        if page == "why":
            return WhyResult(recommend(engine.knowledge, session.answers))
        return None


def page_of(view: View) -> str | None:
    """The ``?p=`` of the page a view is (None: the session's own screen)."""
    match view:
        case Explained(_, None, _):
            return "details"
        case Explained(_, number, _):
            return f"details-{number}"
        case WhyResult():
            return "why"
        case FullReport():
            return "report"
        case YourAnswers():
            return "answers"
        case Languages():
            return "languages"
        case Asking(show_why=True):
            return "why"
    return None


def notice_of(view: View) -> Notice | None:
    """The one-time line a view shows above its screen."""
    match view:
        case AtResult(notice) | Hint(notice):
            return notice
        case Finished(_, intro):
            return intro
        case (
            Asking()
            | Explained()
            | YourAnswers()
            | Revising()
            | Preview()
            | Consent()
            | ContactRequest()
        ):
            return view.notice
        case Goodbye():
            return Notice("web.bye")
    return None


def information(view: View) -> str | None:
    """The page of ours a view is shown on (help, about, /forget's question)."""
    match view:
        case Help():
            return "/help"
        case About():
            return "/about"
        case ForgetAsk():
            return "/forget"
    return None


def _uid(audience: c.Audience) -> int:
    return audience.person.user_id
