"""The console chat: the whole dialog in a terminal, also with piped input."""

from __future__ import annotations

from typing import TextIO

from advisor import Knowledge
from advisor.render import render_text
from dialogs.engine import DialogEngine, View
from dialogs.session import RESULT, Session


class ConsoleChat:
    """Reads lines, feeds them to the engine and prints what it shows."""

    def __init__(self, engine: DialogEngine, stdin: TextIO, stdout: TextIO) -> None:
        self.engine = engine
        self.k: Knowledge = engine.knowledge
        self.stdin = stdin
        self.stdout = stdout
        self.echo = not _isatty(stdin)

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def run(self, session: Session | None = None) -> int:
        """Run until the user quits or input ends; return the exit code."""
        session = session or Session()
        try:
            self.say(self.k.text("dialog.welcome", **self.engine.welcome_values()))
            self.say(self.k.text("console.hint"))
            self.show(self.engine.start(session))
            while True:
                self.stdout.write(self.k.text("console.prompt"))
                self.stdout.flush()
                line = self.stdin.readline()
                if not line:
                    break
                text = line.rstrip("\n")
                if self.echo:
                    self.say(text)
                if self.engine.interpreter.command(text) == "quit":
                    break
                self.show(self.engine.handle_text(session, text))
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:  # the reader went away (e.g. piped into head)
            return 0
        self.say()
        self.say(self.k.text("console.goodbye"))
        return 0

    def show(self, view: View) -> None:
        """Print one screen: a notice, then the question or the result."""
        self.say()
        if view.notice:
            self.say(self.k.text(view.notice, **(view.notice_values or {})))
        if view.kind == "result" and view.recommendation is not None:
            if not view.notice:
                self.say(render_text(view.recommendation, self.k))
                self.say()
                self.say(self.k.text("console.result_hint"))
            return
        question = view.question
        if question is None:
            return
        if view.show_why:
            self.say(f"{self.k.text('dialog.why_title')}: {question.why}")
            self.say()
        self.say(self.k.text("dialog.progress", step=view.step, steps=view.steps))
        self.say(question.prompt)
        chosen = self.k.text("dialog.chosen")
        for number, option in enumerate(question.options, start=1):
            mark = f" ({chosen})" if option.id == view.selected else ""
            self.say(f"{number}. {option.label}{mark}")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run_console(knowledge: Knowledge, stdin: TextIO, stdout: TextIO) -> int:
    """Run the console chat on these streams."""
    return ConsoleChat(DialogEngine(knowledge), stdin, stdout).run()


__all__ = ["RESULT", "ConsoleChat", "run_console"]
