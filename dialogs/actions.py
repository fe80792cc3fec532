"""The dialog's actions, as one table: each button's code, the trigger of the dialog machine it
fires, and the text key of its label.

The code is what a button carries (``frontends/telegram/callbacks.py`` puts it in the callback
data, the conversation service reads it back); the trigger is a trigger of the one machine in
:mod:`dialogs.engine`, so whether an action is valid now is the machine's ``may_trigger`` and
nothing else, and its effect is the engine's method of the same name. A command (``/back``) and
a typed intent ("back") name the same trigger. Adding a button is one row here, one text key in
``data/texts.yaml`` (and its translations), and the presenter placing it on a screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from .sharecode import to36

#: The triggers of the dialog machine that a person's action can fire.
Trigger = Literal[
    "start",
    "answer",
    "back",
    "why",
    "restart",
    "skip",
    "page",
    "summary",
    "revise",
    "preview",
    "keep",
    "undo",
    "quiz",
    "lead",
    "consent",
    "decline",
    "language",
]
#: Where a button is: under a question (its data names the question), under a "What if…" of a
#: question (the question too, marked), or anywhere else (no question).
Place = Literal["question", "what_if", "screen"]
#: What the screen an action leads to does with the message of the tapped button: becomes it
#: ("edit"), comes below it with its buttons kept ("below"), or comes below it with its
#: buttons taken off ("instead").
Shows = Literal["edit", "below", "instead"]


@dataclass(frozen=True, slots=True)
class Act:
    """One row of the table: a button's code, where it is, its trigger and its label's key
    (None: the button is labelled by what it is for: a question, a language)."""

    name: str
    code: str
    place: Place
    trigger: Trigger
    label: str | None
    shows: Shows = "edit"


# -- the table ------------------------------------------------------------------------------------

BACK: Final = Act("back", "<", "question", "back", "telegram.button.back")
WHY: Final = Act("why", "?", "question", "why", "telegram.button.why")
RESTART: Final = Act("restart", "!", "question", "restart", "telegram.button.restart")
SEE_NOW: Final = Act("see_now", ">", "question", "skip", "telegram.button.see_now")
#: "What if…": another answer to a question (its options, each with the result it gives).
CHANGE: Final = Act("change", "*", "what_if", "revise", None)
START_OVER: Final = Act(
    "start_over", "!", "screen", "restart", "telegram.button.start_over", "below"
)
SUMMARY: Final = Act("summary", "sum", "screen", "summary", "telegram.button.summary")
DETAILS: Final = Act("details", "d", "screen", "page", "telegram.button.details")
REPORT: Final = Act("report", "full", "screen", "page", "telegram.button.report")
ANSWERS: Final = Act("answers", "ans", "screen", "page", "telegram.button.answers")
#: "What if…": keep the answer tried, or go back to pick another.
TAKE: Final = Act("take", "take", "screen", "keep", "telegram.button.keep")
UNDO: Final = Act("undo", "undo", "screen", "undo", "telegram.button.other")
#: Under someone else's shared result: take the quiz yourself (from anywhere, any round).
QUIZ: Final = Act("quiz", "quiz", "screen", "quiz", "share.take_quiz", "instead")
#: The hand-off to an expert (Share stays under the result when its consent comes below).
LEAD: Final = Act("lead", "lead", "screen", "lead", "lead.button", "below")
CONSENT: Final = Act("consent", "consent", "screen", "consent", "lead.consent_yes", "instead")
DECLINE: Final = Act("decline", "decline", "screen", "decline", "lead.consent_no", "instead")
#: A language of /language: the code is this prefix and the language's ("lang_es").
LANGUAGE: Final = Act("language", "lang_", "screen", "language", None)

TABLE: Final = (
    BACK,
    WHY,
    RESTART,
    SEE_NOW,
    CHANGE,
    START_OVER,
    SUMMARY,
    DETAILS,
    REPORT,
    ANSWERS,
    TAKE,
    UNDO,
    QUIZ,
    LEAD,
    CONSENT,
    DECLINE,
    LANGUAGE,
)
#: The pages of the result that take a number: ``d1``… (a criterion's details).
NUMBERED = (DETAILS,)
#: The largest page number a button may carry (the six criteria and the own rules' page).
MAX_PAGE = 9
#: Outside the dialog: /forget's confirmation, delete everything or keep it (no trigger: it
#: deletes the session itself).
FORGET, KEEP = "forget", "keep"

_BY_PLACE: dict[tuple[Place, str], Act] = {(a.place, a.code): a for a in TABLE}
assert len(_BY_PLACE) == len(TABLE), "two actions share a code in one place"


@dataclass(frozen=True, slots=True)
class Found:
    """An action's row, with what its code carried beyond it: a page number (``d4``), an
    option id (an answer), or a language code (``lang_es``)."""

    act: Act | None
    number: int | None = None
    option: str | None = None
    language: str | None = None

    @property
    def trigger(self) -> Trigger:
        if self.act is not None:
            return self.act.trigger
        return "answer" if self.option is not None else "revise"


def find(place: Place, code: str) -> Found | None:
    """The action a button's code names at its place; None for a code we never make.

    Under a question, a code that is no action is an option's id (an answer); under a
    "What if…", it is the option to try."""
    act = _BY_PLACE.get((place, code))
    if act is not None:
        return Found(act)
    if place in ("question", "what_if"):
        return Found(CHANGE if place == "what_if" else None, option=code)
    if code.startswith(LANGUAGE.code):
        return Found(LANGUAGE, language=code.removeprefix(LANGUAGE.code))
    for act in NUMBERED:
        number = code.removeprefix(act.code)
        if number != code and number.isdigit() and 1 <= int(number) <= MAX_PAGE:
            return Found(act, number=int(number))
    return None


def numbered(act: Act, number: int) -> str:
    """The code of a numbered page's button: ``d4``."""
    assert act in NUMBERED and 1 <= number <= MAX_PAGE, (act, number)
    return f"{act.code}{number}"


# -- the codec ------------------------------------------------------------------------------------
#
# A button's data: ``1|<user id base36>|<round base36>|<question>|<action>``, at most 59 bytes
# with the loader's 20-character ids, within Telegram's 64. The question is a question id, ``~``
# and a question id for a "What if…" button of that question, or ``-`` for none; the action is
# an option id, or the code of an action of the table (a word, or a sign).

VERSION = "1"
NO_QUESTION = "-"
WHAT_IF = "~"
#: Telegram takes at most 64 bytes of data with a button.
MAX_BYTES = 64
#: Telegram user ids have at most 52 significant bits (Bot API, "User.id"); anything past
#: 2**53 (the largest id a double holds exactly) cannot be one and would overflow SQLite.
MAX_USER_ID = 2**53 - 1
#: A number in base 36 as ``to36`` writes it: no sign, no leading zero, ASCII only.
BASE36 = r"0|[1-9a-z][0-9a-z]*"
_WORD = re.compile(r"[a-z0-9_]{1,20}", re.ASCII)
#: The actions whose codes are a sign rather than a word (in the table above).
_SIGNS = re.escape("".join(sorted({a.code for a in TABLE if not _WORD.fullmatch(a.code)})))
_PATTERN = re.compile(
    rf"1\|({BASE36})\|({BASE36})\|(~?[a-z0-9_]{{1,20}}|-)\|([a-z0-9_]{{1,20}}|[{_SIGNS}])",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press."""

    user_id: int
    round: int
    question: str
    action: str
    #: A "What if…" button of ``question``.
    what_if: bool = False


def encode(user_id: int, round_: int, question: str, action: str, *, what_if: bool = False) -> str:
    """The callback data for a button."""
    mark = WHAT_IF if what_if else ""
    data = f"{VERSION}|{to36(user_id)}|{to36(round_)}|{mark}{question}|{action}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Press | None:
    """The press this data describes, or None for data we did not make (never raises)."""
    if not isinstance(data, str) or len(data) > MAX_BYTES:
        return None
    match = _PATTERN.fullmatch(data)
    if match is None:
        return None
    user, round_, question, action = match.groups()
    if len(user) > 11 or len(round_) > 8:  # 36**11 > 2**53; 8 digits is what encode allows
        return None
    user_id = int(user, 36)
    if user_id > MAX_USER_ID:
        return None
    what_if = question.startswith(WHAT_IF)
    return Press(user_id, int(round_, 36), question.removeprefix(WHAT_IF), action, what_if)
