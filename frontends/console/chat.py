"""The console chat: the whole dialog in a terminal, also with piped input.

It is a front end like Telegram: each line becomes an action for the conversation service,
whose replies are rendered here as plain text and printed when delivered. The session lives
in an in-memory SQLite store for as long as the chat runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import TextIO

from advisor import Knowledge, Option, Recommendation
from advisor.chart import render_chart_text
from advisor.render import render_text
from advisor.summary import (
    render_details_text,
    render_own_text,
    render_summary_text,
    render_why_text,
)
from bootstrap import bootstrap
from dialogs import turns as c
from dialogs import wording
from dialogs.turns import Person
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
from settings import Settings
from storage.base import Outgoing
from storage.sqlite import SqliteStore

CONSOLE = Person(chat_id=0, user_id=0, first_name="you", full_name="you")
PRINT = "print"
#: The result fits one terminal screen, before any command.
RESULT_LINES = 25
#: Lines of the result's screen around the summary: a line said before it (what a typed answer
#: was taken as) with its blank lines, and the hint after it. Counted whether or not there is
#: such a line, so the result is the same screen every time it is shown.
AROUND_SUMMARY = 5


class ConsolePresenter:
    """Renders replies as plain text."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.k = knowledge
        self._languages: dict[str, ConsolePresenter] = {knowledge.language: self}

    def speaking(self, language: str | None) -> ConsolePresenter:
        """This presenter in another language (English when that one is not loaded)."""
        knowledge = self.k.speaking(language)
        presenter = self._languages.get(knowledge.language)
        if presenter is None:
            presenter = self._languages[knowledge.language] = ConsolePresenter(knowledge)
            presenter._languages = self._languages
        return presenter

    def present(self, replies: Sequence[c.Reply], audience: c.Audience) -> list[Outgoing]:
        speaker = self.speaking(audience.session.language)
        if speaker is not self:
            return speaker.present(replies, audience)
        lines: list[str] = []
        for reply in replies:
            match reply:
                case c.Show(view):
                    lines += self.screen(view)
                case c.Say(notice) | c.Rewrite(_, notice):
                    lines += ["", self.notice(notice)]
                case c.Answer():  # the console has no buttons to answer
                    pass
        text = "\n".join(lines)
        return [Outgoing(audience.person.chat_id, PRINT, {"text": text})] if lines else []

    def notice(self, notice: Notice) -> str:
        return self.k.text(notice.key, **notice.values)

    def screen(self, view: View) -> list[str]:
        """One screen: a notice, then the question or the result."""
        k = self.k
        match view:
            case Asking():
                lines = [""]
                if view.notice:
                    lines.append(self.notice(view.notice))
                if view.show_why:
                    lines += [f"{k.text('dialog.why_title')}: {view.question.why}", ""]
                if not view.choices:
                    progress = "dialog.progress_followup" if view.followup else "dialog.progress"
                    lines.append(k.text(progress, step=view.step, steps=view.steps))
                    lines.append(view.question.prompt)
                    if view.settled is not None:
                        settled = wording.settled(k, view.settled)
                        lines.append(f"{settled} {k.text('console.settled_hint')}")
                chosen = k.text("dialog.chosen")
                for number, option in enumerate(view.choices or view.options, start=1):
                    mark = f" ({chosen})" if option.id == view.selected else ""
                    lines.append(f"{number}. {option.label}{mark}")
                return lines
            case AtResult(notice):
                return ["", self.notice(notice)]
            case Summary(rec):
                return self.result(rec)
            case Finished(rec, intro):
                return self.result(rec, intro)
            case WhyResult(rec):
                chart = render_chart_text(rec, k, title=False)
                why = render_why_text(rec, k)
                return ["", why, "", chart, "", k.text("console.result_hint")]
            case Explained(rec, number, notice):
                lines = ["", self.notice(notice)] if notice is not None else []
                if number is None:
                    lines += ["", k.text("console.details_all")]
                    numbers = range(1, view.pages + 1)
                else:
                    numbers = range(number, number + 1)
                for n in numbers:
                    if n > len(k.criteria):
                        lines += ["", render_own_text(rec, k)]
                    else:
                        lines += ["", render_details_text(k, n, rec)]
                return [*lines, "", k.text("console.result_hint")]
            case FullReport(rec):
                return ["", render_text(rec, k), "", k.text("console.result_hint")]
            case YourAnswers():
                return self.your_answers(view)
            case Revising():
                return self.revising(view)
            case Preview():
                return self.preview(view)
            case Help(current) if isinstance(current, ResultPage):
                return ["", k.text("console.help_result")]
            case Help(current):
                lines = ["", k.text("console.help")]
                return lines + (self.screen(current)[1:] if current is not None else [])
            case Hint(notice):
                return ["", self.notice(notice)]
            case About():
                return ["", wording.about(k)]
            case Welcome() | Consent() | ContactRequest() | Goodbye() | Languages() | ForgetAsk():
                # The conversation begins the questions for a welcome; the hand-off to an
                # expert is Telegram's; a goodbye ends the chat (ConsoleChat says it); the
                # console keeps nothing after it ends, so it has no /forget.
                return []

    def result(self, rec: Recommendation, intro: Notice | None = None) -> list[str]:
        """The result's screen: the line it follows from (if any), the summary, the hint."""
        k = self.k
        lines = ["", self.notice(intro), ""] if intro is not None else [""]
        summary = render_summary_text(rec, k, max_lines=RESULT_LINES - AROUND_SUMMARY)
        return [*lines, summary, "", k.text("console.result_hint")]

    def your_answers(self, view: YourAnswers) -> list[str]:
        k = self.k
        lines = [""] + ([self.notice(view.notice), ""] if view.notice else [])
        lines += [k.text("whatif.answers_title"), *wording.answer_lines(k, view), ""]
        if view.suggestions:
            lines.append(k.text("whatif.suggestions_title"))
            lines += [f"• {wording.suggestion(k, a)}" for a in view.suggestions]
        else:
            lines.append(k.text("whatif.no_suggestions"))
        return [*lines, "", k.text("console.answers_hint")]

    def revising(self, view: Revising) -> list[str]:
        k = self.k
        lines = [""] + ([self.notice(view.notice), ""] if view.notice else [])
        lines += [
            k.text("whatif.revise_title"),
            f"{view.number}. {view.question.short}: {view.question.prompt}",
            wording.revise_now(k, view),
        ]
        chosen = k.text("dialog.chosen")
        for number, option in enumerate(view.question.options, start=1):
            label = wording.option_with_effect(k, view, option)
            mark = f" ({chosen})" if option is view.current else ""
            lines.append(f"{number}. {label}{mark}")
        return [*lines, "", k.text("console.revise_hint")]

    def preview(self, view: Preview) -> list[str]:
        k = self.k
        lines = [""] + ([self.notice(view.notice), ""] if view.notice else [])
        head, change = wording.preview_head(k, view)
        summary = render_summary_text(view.after, k)
        return [*lines, head, change, "", summary, "", k.text("console.preview_hint")]


class ConsoleChat:
    """Reads lines, hands them to the conversation service and prints what it shows."""

    def __init__(
        self, knowledge: Knowledge, stdin: TextIO, stdout: TextIO, language: str | None = None
    ) -> None:
        code = knowledge.language_for(language)
        self.person = dataclasses.replace(CONSOLE, language=code)
        self.k = knowledge.speaking(code)
        self.store = SqliteStore(":memory:", knowledge)
        advisor = bootstrap(
            Settings(),
            knowledge,
            presenter=lambda parts: ConsolePresenter(parts.knowledge),
            transport=self._print,
            store=self.store,
            warm=False,  # one language, made when first spoken
        )
        self.engine = advisor.engine.speaking(code)
        self.conversation = advisor.conversation
        self.stdin = stdin
        self.stdout = stdout
        self.echo = not _isatty(stdin)
        #: The two options of the last "Did you mean …?", if that was the last question.
        self.choices: tuple[Option, ...] = ()
        #: The last screen was a page of the result (details, why, report, answers): "back"
        #: goes back to the result from there.
        self.on_page = False

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def _print(self, message: Outgoing) -> int | None:
        self.say(str(message.body["text"]))
        return None

    async def act(self, action: c.Action) -> bool:
        """Apply one action and print the replies; False when the person said goodbye."""
        outcome = await self.conversation.turn(self.person, action)
        self.choices = ()
        shown = [r.view for r in outcome.replies if isinstance(r, c.Show)]
        for view in shown:
            if isinstance(view, Asking):
                self.choices = view.choices
        if shown:
            self.on_page = isinstance(shown[-1], Explained | WhyResult | FullReport | YourAnswers)
        return not any(
            isinstance(r, c.Show) and isinstance(r.view, Goodbye) for r in outcome.replies
        )

    def _typed(self, text: str) -> c.Typed:
        """A typed line; "1" or "2" after "Did you mean …?" picks that choice, and "back" on a
        page of the result goes back to the result."""
        number = text.strip().rstrip(".)")
        if self.choices and number in ("1", "2"):
            return c.Typed(self.choices[int(number) - 1].label)
        if self.on_page and self.engine.interpreter.command(text) == "back":
            return c.Typed(self.k.text("whatif.words.summary").split("|")[0])
        return c.Typed(text)

    async def run(self) -> int:
        """Run until the user quits or input ends; return the exit code."""
        await self.store.open()
        try:
            return await self._loop()
        finally:
            await self.store.close()

    async def _loop(self) -> int:
        try:
            self.say(self.k.text("dialog.welcome", **self.engine.welcome_values()))
            self.say(self.k.text("console.hint"))
            await self.act(c.Begin())
            while True:
                self.stdout.write(self.k.text("console.prompt"))
                self.stdout.flush()
                line = self.stdin.readline()
                if not line:
                    break
                text = line.rstrip("\n")
                if self.echo:
                    self.say(text)
                if self.engine.interpreter.command(text) in ("quit", "bye"):
                    break
                if not await self.act(self._typed(text)):
                    break
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:  # the reader went away (e.g. piped into head)
            return 0
        self.say()
        self.say(self.k.text("console.goodbye"))
        return 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run_console(
    knowledge: Knowledge, stdin: TextIO, stdout: TextIO, language: str | None = None
) -> int:
    """Run the console chat on these streams, in a language (a code like "es" or a locale
    like "pt_BR.UTF-8"; English when it is not one we speak)."""
    try:
        return asyncio.run(ConsoleChat(knowledge, stdin, stdout, language).run())
    except KeyboardInterrupt:
        return 0
