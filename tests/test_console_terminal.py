"""The console as a terminal program: Ctrl-C and Ctrl-D in a real pseudo-terminal, wrapping to
the terminal's width, and the command words its hints name understood in every language.

The terminal tests run ``python bot.py --console`` under a pseudo-terminal (the ``pty``
module) and wait for what it prints (the prompt, the end of output), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor import Knowledge
from advisor.model import COMMANDS
from dialogs.interpreter import Interpreter, normalize
from frontends.console.chat import INTERRUPTED, ConsoleChat, wrap

GOODBYE = "Goodbye! Run me again any time."
FINTECH = ("1", "payments", "large", "1", "3", "heavy", "2", "1", "1")
#: The longest a condition is waited for before the test fails (a bound, not a pause).
PATIENCE = 60.0
#: How soon after Ctrl-C the chat must have ended.
PROMPTLY = 10.0
PROMPT = "\n> "


class Terminal:
    """``bot.py`` running in a pseudo-terminal: what it printed so far, and keys to type."""

    def __init__(
        self,
        repo_root: Path,
        *args: str,
        columns: int | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "COLUMNS", "LINES")}
        env.update(environ or {})
        argv = [sys.executable, "bot.py", "--console", *args]
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pseudo-terminal is its controlling terminal
            try:
                if columns is not None:
                    size = struct.pack("HHHH", 24, columns, 0, 0)
                    fcntl.ioctl(0, termios.TIOCSWINSZ, size)
                os.chdir(repo_root)
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.raw = b""
        self.ended = False
        self.code: int | None = None

    @property
    def text(self) -> str:
        """The output so far, with the terminal's line ends made plain."""
        return self.raw.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def wait_for(self, condition: Callable[[str], bool], patience: float = PATIENCE) -> None:
        """Read the output until ``condition`` holds for it (failing after ``patience``)."""
        deadline = time.monotonic() + patience
        while not condition(self.text):
            left = deadline - time.monotonic()
            if self.ended or left <= 0:
                raise AssertionError(f"not seen in time; the output so far:\n{self.text}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO: the terminal's other end is closed
                    chunk = b""
                self.raw += chunk
                self.ended = not chunk

    def wait_for_prompt(self, count: int = 1) -> None:
        self.wait_for(lambda text: text.count(PROMPT) >= count and text.endswith("> "))

    def type(self, keys: str) -> None:
        with contextlib.suppress(OSError):  # it has ended already
            os.write(self.fd, keys.encode())

    def wait_for_exit(self, patience: float = PATIENCE) -> int:
        """Read to the end of the output; the exit code."""
        self.wait_for(lambda _text: self.ended, patience)
        _, status = os.waitpid(self.pid, 0)
        self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def close(self) -> None:
        if self.code is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


@pytest.fixture
def terminal(repo_root: Path) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(*args: str, **options: Any) -> Terminal:
        started.append(Terminal(repo_root, *args, **options))
        return started[-1]

    yield start
    for term in started:
        term.close()


def interrupt(term: Terminal, how: str) -> None:
    """Ctrl-C: the key in the terminal (the terminal sends SIGINT), or SIGINT sent directly."""
    if how == "key":
        term.type("\x03")
    else:
        os.kill(term.pid, signal.SIGINT)


# -- Ctrl-C and Ctrl-D ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["key", "signal"])
def test_ctrl_c_at_the_prompt_ends_the_chat_at_once_with_the_goodbye(
    terminal: Callable[..., Terminal], how: str
) -> None:
    term = terminal()
    term.wait_for_prompt()
    asked = term.text
    started = time.monotonic()
    interrupt(term, how)
    assert term.wait_for_exit(patience=PROMPTLY) == INTERRUPTED == 130
    assert time.monotonic() - started < PROMPTLY
    after = term.text[len(asked) :]
    assert after.rstrip().endswith(GOODBYE)
    assert "Traceback" not in term.text and "KeyboardInterrupt" not in term.text


@pytest.mark.parametrize("how", ["key", "signal"])
def test_a_line_typed_after_ctrl_c_is_not_answered(
    terminal: Callable[..., Terminal], how: str
) -> None:
    term = terminal()
    term.type("python\n")
    term.wait_for_prompt(2)
    assert "Question 2 of 9" in term.text
    interrupt(term, how)
    term.type("payments\n")
    assert term.wait_for_exit(patience=PROMPTLY) == INTERRUPTED
    assert "Question 3 of 9" not in term.text, "the line after Ctrl-C was answered"
    assert term.text.rstrip().endswith(GOODBYE)


def test_ctrl_d_at_the_prompt_ends_the_chat_with_exit_code_0(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal()
    term.wait_for_prompt()
    term.type("\x04")
    assert term.wait_for_exit() == 0
    assert term.text.rstrip().endswith(GOODBYE)


class Keys(io.StringIO):
    """Typed lines; ``on("<reading>")`` is called each time a line is about to be read."""

    def __init__(self, lines: str, on: Callable[[str], None]) -> None:
        super().__init__(lines)
        self.on = on

    def readline(self, size: int | None = -1) -> str:
        self.on("<reading>")
        return super().readline(size)


class Screen(io.StringIO):
    """What the console prints, a terminal or not; ``on`` is called with each text printed."""

    def __init__(self, on: Callable[[str], None], tty: bool = False) -> None:
        super().__init__()
        self.on, self.tty = on, tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        written = super().write(text)
        self.on(text)
        return written


def ctrl_c_when(
    chat_of: Callable[[], ConsoleChat], wanted: Callable[[str], bool]
) -> Callable[[str], None]:
    """A hook pressing Ctrl-C (a real SIGINT to this process) once, when ``wanted`` is seen;
    only while the chat's own handler is installed, so it never reaches pytest."""
    pressed: list[str] = []

    def hook(seen: str) -> None:
        chat = chat_of()
        if pressed or not wanted(seen) or signal.getsignal(signal.SIGINT) != chat._on_ctrl_c:
            return
        pressed.append(seen)
        signal.raise_signal(signal.SIGINT)

    return hook


def test_ctrl_c_while_waiting_for_a_line_drops_the_line(knowledge: Knowledge) -> None:
    chats: list[ConsoleChat] = []
    hook = ctrl_c_when(lambda: chats[0], lambda seen: seen == "<reading>")
    out = Screen(lambda _text: None)
    chats.append(ConsoleChat(knowledge, Keys("python\npayments\n", hook), out, "en"))
    assert asyncio.run(chats[0].run()) == INTERRUPTED
    shown = out.getvalue()
    assert "Question 1 of 9" in shown and "Got it" not in shown and "> python" not in shown
    assert shown.rstrip().endswith(GOODBYE)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "handler restored"


def test_ctrl_c_while_a_reply_is_made_ends_the_chat_once_it_is_shown(
    knowledge: Knowledge,
) -> None:
    chats: list[ConsoleChat] = []
    hook = ctrl_c_when(lambda: chats[0], lambda seen: "Got it: Python." in seen)
    out = Screen(hook)
    chats.append(ConsoleChat(knowledge, io.StringIO("python\npayments\n"), out, "en"))
    assert asyncio.run(chats[0].run()) == INTERRUPTED
    shown = out.getvalue()
    assert "Got it: Python." in shown and "Question 2 of 9" in shown, "the reply is shown"
    assert "> payments" not in shown and "Question 3 of 9" not in shown, "nothing read after"
    assert shown.rstrip().endswith(GOODBYE)


# -- wrapping to the terminal's width ------------------------------------------------------------


def words(text: str) -> str:
    return " ".join(text.split())


def lines_of(text: str) -> list[str]:
    return text.split("\n")


@pytest.mark.parametrize(("language", "width"), [("en", 40), ("es", 33), ("ru", 52)])
def test_the_console_wraps_to_columns_between_words(
    terminal: Callable[..., Terminal], knowledge: Knowledge, language: str, width: int
) -> None:
    k = knowledge.speaking(language)
    term = terminal("--lang", language, environ={"COLUMNS": str(width)})
    term.wait_for_prompt()
    term.type(named(k.text("console.hint"))[4] + "\n")  # "help", in this language
    term.wait_for_prompt(2)
    term.type("\x04")
    term.wait_for_exit()
    shown = term.text
    too_wide = [line for line in lines_of(shown) if len(line) > width]
    assert not too_wide, too_wide
    for key in ("console.hint", "console.goodbye"):
        assert words(k.text(key)) in words(shown), f"{key}: a word was split"
    assert words(k.questions[0].prompt) in words(shown)
    for number, option in enumerate(k.questions[0].options, start=1):
        assert f"\n{number}. {option.label}" in shown
    assert words(k.text("console.help")) in words(shown)
    if language == "en":
        welcome = shown[: shown.index(k.text("console.hint")[:20])]
        assert len(lines_of(welcome.strip())) > 3, "the welcome takes several lines"


def test_without_columns_the_console_wraps_to_the_terminals_own_width(
    terminal: Callable[..., Terminal], knowledge: Knowledge
) -> None:
    term = terminal(columns=50)
    term.wait_for_prompt()
    term.type("\x04")
    term.wait_for_exit()
    shown = lines_of(term.text)
    assert max(len(line) for line in shown) <= 50
    assert max(len(line) for line in shown) > 40, "the whole width is used"
    assert words(knowledge.text("console.hint")) in words(term.text)


def test_piped_output_is_not_wrapped(repo_root: Path, knowledge: Knowledge) -> None:
    """A pipe or a file gets each paragraph on one line, whatever COLUMNS says."""
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "bot.py", "--console"],
        cwd=repo_root, input="quit\n", capture_output=True, text=True, timeout=60,
        env={**env, "COLUMNS": "40"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert knowledge.text("console.hint") in done.stdout.splitlines()


def console_screens(knowledge: Knowledge, typed: tuple[str, ...], tty: bool) -> list[str]:
    out = Screen(lambda _text: None, tty=tty)
    chat = ConsoleChat(knowledge, io.StringIO("".join(f"{t}\n" for t in typed)), out, "en")
    assert asyncio.run(chat.run()) == 0
    return out.getvalue().split(PROMPT)


RESULT_PAGES = (*FINTECH, "why", "details", "details 7", "report", "answers", "change 2", "2")
RESULT_PAGES += ("keep", "help", "quit")


#: From this width on the result's screen fits 25 rows; narrower, its shortest form is shown.
FITS = 50


@pytest.mark.parametrize("width", [36, FITS, 60, 100])
def test_every_page_of_the_result_is_wrapped_and_says_the_same_words(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    piped = console_screens(knowledge, RESULT_PAGES, tty=False)
    monkeypatch.setenv("COLUMNS", str(width))
    wrapped = console_screens(knowledge, RESULT_PAGES, tty=True)
    assert len(wrapped) == len(piped)
    results = (len(FINTECH), RESULT_PAGES.index("keep") + 1)  # the screens with the result
    for number, (screen, same) in enumerate(zip(wrapped, piped, strict=True)):
        too_wide = [line for line in lines_of(screen) if len(line) > width]
        assert not too_wide, too_wide
        if number in results:
            rows = lines_of(screen)[1:]  # the typed answer echoed on the prompt line
            assert len(rows) <= 25 or width < FITS, screen
            assert "Recommendation: Django" in rows
        else:
            assert words(screen) == words(same), "the same words, only wrapped"
    why = wrapped[RESULT_PAGES.index("why") + 1]
    [row] = [line for line in lines_of(piped[RESULT_PAGES.index("why") + 1]) if "Django +4" in line]
    label, bars = re.split(r" {2,}(?=[.#]+\|)", row, maxsplit=1)
    if len(row) <= width:
        assert f"\n{row}\n" in why, "a chart row that fits stays as it is"
    else:
        assert f"\n{label}\n  {bars}\n" in why, "a chart row too wide puts its bars under it"


def test_wrapping_keeps_breaks_and_hangs_bullets_and_numbers_under_their_text() -> None:
    text = (
        "Question 1 of 9\n"
        "• Security: +4 for Django, because you handle payments and private data\n"
        "12. Beyond the article: my own rules, counted apart from the article\n"
        "  an indented line that goes on for longer than the width\n"
        "Security (safe from attacks)  ..........|####......  Django +4\n"
        "see https://example.com/a-very-long-address-that-fits-no-line\n"
        "\n"
        "end"
    )
    assert wrap(text, None) == text
    assert wrap(text, 200) == text
    wrapped = wrap(text, 30)
    assert wrapped.split("\n") == [
        "Question 1 of 9",
        "• Security: +4 for Django,",
        "  because you handle payments",
        "  and private data",
        "12. Beyond the article: my own",
        "    rules, counted apart from",
        "    the article",
        "  an indented line that goes",
        "  on for longer than the width",
        "Security (safe from attacks)",
        "  ..........|####......",
        "  Django +4",
        "see",
        "https://example.com/a-very-long-address-that-fits-no-line",
        "",
        "end",
    ]
    assert words(wrapped) == words(text)


# -- the command words the console names, in every language --------------------------------------


def named(text: str) -> list[str]:
    """The words a console text tells people to type: its quoted words, or else the list
    after its last colon ("Commands: back, why, skip.")."""
    quoted = re.findall(r"[“«]([^”»]+)[”»]", text)
    if quoted:
        return quoted
    return [w.strip().rstrip(".") for w in text.rsplit(":", 1)[1].split(",")]


NAMING = (
    "console.hint",
    "console.help",
    "console.result_hint",
    "console.help_result",
    "console.settled_hint",
    "console.answers_hint",
    "console.revise_hint",
)


@pytest.mark.parametrize("language", ["en", "es", "pt", "ru"])
@pytest.mark.parametrize("key", NAMING)
def test_every_word_the_console_names_is_understood(
    knowledge: Knowledge, language: str, key: str
) -> None:
    """Each word a hint or a help text names does what the English one does: a command
    (back, why, skip, restart, help, quit) for the interpreter, or a word for a page of the
    result ("details 4", "change 2")."""
    english = named(knowledge.text(key))
    k = knowledge.speaking(language)
    said = named(k.text(key))
    assert len(said) == len(english), (said, english)
    interpreter = Interpreter(k)
    for word, meant in zip(said, english, strict=True):
        if meant in COMMANDS:
            assert interpreter.command(word) == meant, f"{word!r} should be {meant!r}"
            continue
        page, *number = meant.split()
        page_words = {normalize(w) for w in k.text(f"whatif.words.{page}").split("|")}
        typed = normalize(word)
        assert any(typed == w or typed.startswith(f"{w} ") for w in page_words), (word, page)
        assert typed.split()[len(typed.split()) - len(number) :] == number


def test_english_commands_work_in_the_spanish_console_as_in_the_others(
    repo_root: Path,
) -> None:
    """Portuguese and Russian take "back" and "quit"; so does Spanish."""
    lines = ("python", "back", "2", "3", "saltar", "respuestas", "back", "quit")
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "bot.py", "--console", "--lang", "es"],
        cwd=repo_root, input="".join(f"{line}\n" for line in lines),
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    screens = done.stdout.split(PROMPT)
    after_back = screens[2]
    assert "Pregunta 1 de 9" in after_back and "1. Python (tu respuesta)" in after_back
    result, _answers, back_to_result = screens[5:8]
    assert "Recomendación: " in result and "Tus respuestas" in _answers
    assert "Recomendación: " in back_to_result
    assert "no te he entendido" not in done.stdout
    assert done.stdout.rstrip().endswith("¡Hasta luego! Vuelve a abrirme cuando quieras.")
