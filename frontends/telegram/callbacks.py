"""Button payloads: short, versioned, and naming the user, round and question they belong to.

Format: ``1|<user id base36>|<round base36>|<question id or ->|<action>`` — at most 58 bytes
with the loader's 20-character ids, within Telegram's 64. The action is an option id or one of
the navigation marks below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.sharecode import to36

VERSION = "1"
BACK, WHY, RESTART = "<", "?", "!"
NO_QUESTION = "-"
#: Actions of buttons that belong to no question (the result, a shared result, /forget).
QUIZ, LEAD, CONSENT, DECLINE, FORGET, KEEP = "quiz", "lead", "consent", "decline", "forget", "keep"
MAX_BYTES = 64
_PATTERN = re.compile(
    r"^1\|([0-9a-z]{1,14})\|([0-9a-z]{1,8})\|([a-z0-9_]{1,20}|-)\|([a-z0-9_]{1,20}|[<?!])$"
)


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press."""

    user_id: int
    round: int
    question: str
    action: str


def encode(user_id: int, round_: int, question: str, action: str) -> str:
    """The callback data for a button."""
    data = f"{VERSION}|{to36(user_id)}|{to36(round_)}|{question}|{action}"
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Press | None:
    """The press this data describes, or None for data we did not make."""
    match = _PATTERN.match(data or "")
    if match is None:
        return None
    user, round_, question, action = match.groups()
    return Press(int(user, 36), int(round_, 36), question, action)
