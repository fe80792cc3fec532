"""The console chat: the whole dialog in a terminal, also with piped input.

It is a front end like Telegram: each line becomes an action for the conversation service,
whose replies are rendered here as plain text and printed when delivered. The session lives
in an in-memory SQLite store for as long as the chat runs.

It behaves like a terminal program:

- Ctrl-C at any time ends the chat at once, with the goodbye line and exit code 130 (128 +
  SIGINT, what a shell reports for a program stopped by Ctrl-C); what was typed on the line is
  dropped. Pressed while a reply is being made, the chat ends as soon as it is shown (a second
  Ctrl-C does not wait). Ctrl-D (end of input) and "quit" end it with exit code 0.
- On a terminal, everything it prints is wrapped to the terminal's width (``COLUMNS`` first,
  else the terminal's own size, else 80) between words, keeping its line breaks and indenting
  the continuation of a bullet ("• ") or a numbered line ("1. "); the chart's bars move under
  their label when a row does not fit. Output that is not a terminal (a pipe, a file) is not
  wrapped: other programs get each paragraph as one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import signal
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TextIO

from advisor import Knowledge, Option, Recommendation
from advisor.chart import render_chart_text
from advisor.render import PLAIN, Style, renderer
from advisor.summary import INTRO_ROOM, SummaryRenderer, find_criterion, summary_limit
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
#: Wrapped between words, a row holds about this many characters fewer than its width.
RAGGED = 8
#: The exit code after Ctrl-C: 128 + SIGINT, as shells report a program it stopped.
INTERRUPTED = 130
#: Columns when the terminal does not say, and the fewest the console wraps at.
DEFAULT_WIDTH, MIN_WIDTH = 80, 20
#: How wide the console is: columns to wrap at, or None (not a terminal: no wrapping).
Width = Callable[[], int | None]


def _unwrapped(text: str) -> str:
    return text


#: Plain text with each paragraph on one line: the console wraps it to the terminal's width.
UNWRAPPED = dataclasses.replace(PLAIN, name="plain-unwrapped", wrap=_unwrapped)
#: What continues a line on the next rows: its indentation, and a bullet's or number's width.
_HANGING = re.compile(r"(\s*)(•\s|\d{1,3}[.)]\s)?")
#: A row of the chart as text: its label, then the bars and the points (advisor/chart.py).
_CHART_ROW = re.compile(r"(?P<label>\S.*?) {2,}(?P<bars>[.#]+\|[.#]+ {2}\S.*)")


def wrap(text: str, width: int | None) -> str:
    """Text wrapped to ``width`` columns between words (None: as it is). Its line breaks stay;
    a bullet's or a numbered line's continuation is indented under its text; a word longer
    than a line is kept whole; a chart row that does not fit puts its bars under its label."""
    if width is None:
        return text
    return "\n".join(row for line in text.split("\n") for row in _wrap_line(line, width))


def _wrap_line(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    if chart := _CHART_ROW.fullmatch(line):
        return [*_wrap_line(chart["label"], width), *_wrap_line(f"  {chart['bars']}", width)]
    hanging = _HANGING.match(line)
    indent = " " * hanging.end() if hanging else ""
    rows = textwrap.wrap(
        line,
        width,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return rows or [line]


def terminal_width(stream: TextIO) -> int:
    """The columns of the terminal ``stream`` writes to, as :func:`shutil.get_terminal_size`
    finds them for standard output: ``COLUMNS`` first, else the terminal's size, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(MIN_WIDTH, columns or DEFAULT_WIDTH)


class ConsolePresenter:
    """Renders replies as plain text: with ``width``, unwrapped for the console to wrap to it
    (and the result's summary shortened to fit its screen at that width); without, with the
    paragraphs of the result wrapped at 78 columns, as :mod:`advisor.summary` renders them."""

    def __init__(self, knowledge: Knowledge, width: Width | None = None) -> None:
        self.k = knowledge
        self.width: Width = width or (lambda: None)
        self.style: Style = PLAIN if width is None else UNWRAPPED
        self.summaries = SummaryRenderer(renderer(knowledge, self.style))
        self._languages: dict[str, ConsolePresenter] = {knowledge.language: self}

    def speaking(self, language: str | None) -> ConsolePresenter:
        """This presenter in another language (English when that one is not loaded)."""
        knowledge = self.k.speaking(language)
        presenter = self._languages.get(knowledge.language)
        if presenter is None:
            presenter = ConsolePresenter(knowledge, None if self.style is PLAIN else self.width)
            self._languages[knowledge.language] = presenter
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
                why = self.summaries.why(rec)
                return ["", why, "", chart, "", k.text("console.result_hint")]
            case Explained(rec, number, notice):
                lines = ["", self.notice(notice)] if notice is not None else []
                if number is None:
                    lines += ["", k.text("console.details_all")]
                    numbers = range(1, view.pages + 1)
                else:
                    numbers = range(number, number + 1)
                for n in numbers:
                    criterion = find_criterion(k, str(n)) if n <= len(k.criteria) else None
                    if criterion is None:
                        lines += ["", self.summaries.own(rec)]
                    else:
                        lines += ["", self.summaries.details(criterion, rec)]
                return [*lines, "", k.text("console.result_hint")]
            case FullReport(rec):
                report = "\n\n".join(renderer(k, self.style).sections(rec))
                return ["", report, "", k.text("console.result_hint")]
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
        hint = k.text("console.result_hint")
        rows = RESULT_LINES - AROUND_SUMMARY - (self._rows(hint) - 1) - (self._intro_rows() - 1)
        return [*lines, self.summary(rec, rows), "", hint]

    def _intro_rows(self) -> int:
        """The rows kept for the line before the result (as long as :data:`INTRO_ROOM` at
        most), whether or not there is one, so the result is the same screen every time."""
        width = self.width()
        return 1 if width is None else -(-INTRO_ROOM // max(1, width - RAGGED))

    def summary(self, rec: Recommendation, rows: int | None = None) -> str:
        """The result's summary, in at most ``rows`` rows of the console (None: in full)."""
        limit = summary_limit("you")
        text = self.summaries.render(rec, "you", max_lines=rows, limit=limit)
        if rows is None or self.width() is None:
            return text
        for fewer in range(rows - 1, 0, -1):  # lines that wrap take more rows than one each
            if self._rows(text) <= rows:
                break
            text = self.summaries.render(rec, "you", max_lines=fewer, limit=limit)
        return text

    def _rows(self, text: str) -> int:
        """The rows ``text`` takes on the console."""
        return wrap(text, self.width()).count("\n") + 1

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
        summary = self.summary(view.after)
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
        self.stdin = stdin
        self.stdout = stdout
        #: On a terminal, what is printed is wrapped to its width.
        self.wraps = _isatty(stdout)
        advisor = bootstrap(
            Settings(),
            knowledge,
            presenter=lambda parts: ConsolePresenter(
                parts.knowledge, self.width if self.wraps else None
            ),
            transport=self._print,
            store=self.store,
            warm=False,  # one language, made when first spoken
        )
        self.engine = advisor.engine.speaking(code)
        self.conversation = advisor.conversation
        self.echo = not _isatty(stdin)
        #: The two options of the last "Did you mean …?", if that was the last question.
        self.choices: tuple[Option, ...] = ()
        #: The last screen was a page of the result (details, why, report, answers): "back"
        #: goes back to the result from there.
        self.on_page = False
        #: Waiting for a line: Ctrl-C now ends the chat at once.
        self.reading = False
        #: Ctrl-C was pressed while a reply was being made: the chat ends when it is shown.
        self.interrupted = False

    def width(self) -> int | None:
        """The columns to wrap at (asked each time: a terminal may be resized); None when the
        output is not a terminal."""
        return terminal_width(self.stdout) if self.wraps else None

    def say(self, text: str = "") -> None:
        self.stdout.write(wrap(text, self.width()) + "\n")
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
        with self._ctrl_c():
            try:
                self.say(self.k.text("dialog.welcome", **self.engine.welcome_values()))
                self.say(self.k.text("console.hint"))
                await self.act(c.Begin())
                while (line := self._read()) is not None:
                    text = line.rstrip("\n")
                    if self.echo:
                        self.say(text)
                    if self.engine.interpreter.command(text) in ("quit", "bye"):
                        break
                    if not await self.act(self._typed(text)):
                        break
            except KeyboardInterrupt:
                self.interrupted = True
            except BrokenPipeError:  # the reader went away (e.g. piped into head)
                return 0
            self.say()
            self.say(self.k.text("console.goodbye"))
            return INTERRUPTED if self.interrupted else 0

    def _read(self) -> str | None:
        """Prompt and read a line; None at the end of input. Ctrl-C pressed before or while
        waiting raises KeyboardInterrupt (from the line being read, not after it)."""
        self.reading = True  # from here on Ctrl-C raises; before, it was noted
        try:
            if self.interrupted:
                raise KeyboardInterrupt
            self.stdout.write(self.k.text("console.prompt"))
            self.stdout.flush()
            return self.stdin.readline() or None
        finally:
            self.reading = False

    def _on_ctrl_c(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT: end the chat now when waiting for a line (or at a second Ctrl-C), else as
        soon as the reply being made is shown (so no turn is left half done)."""
        if self.reading or self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True

    @contextlib.contextmanager
    def _ctrl_c(self) -> Iterator[None]:
        """Handle Ctrl-C as :meth:`_on_ctrl_c` says while the chat runs. (asyncio.run's own
        handler only cancels the task at its next await, so the first Ctrl-C at the prompt
        waited for a line, and that line was still answered.)"""
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread receives signals
            return
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_ctrl_c)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


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
    except KeyboardInterrupt:  # a second Ctrl-C while a reply was being made
        return INTERRUPTED
