"""Button payloads: short, versioned, and naming the user, round and question they belong to.

Format: ``1|<user id base36>|<round base36>|<question>|<action>`` — at most 59 bytes with the
loader's 20-character ids, within Telegram's 64. The question is a question id, ``~`` and a
question id for a "What if…" button of that question, or ``-`` for none; the action is an
option id, a word for the buttons of no question, or one of the marks below.

The buttons under a lead in ``/leads`` (admins only) have a format of their own:
``L1|<r: try again, h: mark handled>|<lead id base36>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.sharecode import to36

VERSION = "1"
BACK, WHY, RESTART, SEE_NOW, CHANGE = "<", "?", "!", ">", "*"
NO_QUESTION = "-"
WHAT_IF = "~"
#: Actions of buttons that belong to no question (the result, a shared result, /forget).
QUIZ, LEAD, CONSENT, DECLINE, FORGET, KEEP = "quiz", "lead", "consent", "decline", "forget", "keep"
MAX_BYTES = 64
#: Telegram user ids have at most 52 significant bits (Bot API, "User.id"); anything past
#: 2**53 (the largest id a double holds exactly) cannot be one and would overflow SQLite.
MAX_USER_ID = 2**53 - 1
#: A number in base 36 as ``to36`` writes it: no sign, no leading zero, ASCII only.
_BASE36 = r"0|[1-9a-z][0-9a-z]*"
_PATTERN = re.compile(
    rf"1\|({_BASE36})\|({_BASE36})\|(~?[a-z0-9_]{{1,20}}|-)\|([a-z0-9_]{{1,20}}|[<?!>*])",
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


#: Admin buttons under a lead in /leads.
RETRY_LEAD, SETTLE_LEAD = "r", "h"
_LEAD_PATTERN = re.compile(rf"L1\|([{RETRY_LEAD}{SETTLE_LEAD}])\|({_BASE36})", re.ASCII)
#: A lead id fits in 13 base-36 digits (2**63 has 13).
_LEAD_DIGITS = 13
#: The largest lead number a database holds (a signed 64-bit integer).
MAX_LEAD_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class LeadPress:
    """A decoded admin button under a lead."""

    action: str
    lead_id: int


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


def encode_lead(action: str, lead_id: int) -> str:
    """The callback data of an admin button under a lead."""
    if action not in (RETRY_LEAD, SETTLE_LEAD) or lead_id < 0:
        raise ValueError(f"no lead button {action!r} for lead {lead_id}")
    return f"L1|{action}|{to36(lead_id)}"


def decode_lead(data: str | None) -> LeadPress | None:
    """The admin lead button this data describes, or None (never raises)."""
    if not isinstance(data, str) or len(data) > MAX_BYTES:
        return None
    match = _LEAD_PATTERN.fullmatch(data)
    if match is None or len(match.group(2)) > _LEAD_DIGITS:
        return None
    number = int(match.group(2), 36)
    if number > MAX_LEAD_ID:  # no lead has such a number: a forged button
        return None
    return LeadPress(match.group(1), number)
