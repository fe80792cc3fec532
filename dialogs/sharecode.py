"""Share codes: a user's answers packed into a short, signed deep-link payload.

``r_<code>`` fits Telegram's 64-character ``start`` payload with room to spare. The code is
a version digit, the answers as one mixed-radix number in base 36, and an 8-character HMAC
over both and a fingerprint of the questions. A code that was tampered with, or made for a
different set of questions, fails the check and is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string
from collections.abc import Mapping

from advisor import Knowledge

PREFIX = "r_"
VERSION = "1"
MAC_CHARS = 8
_DIGITS = string.digits + string.ascii_lowercase
_MAX_DIGITS = 64 - len(PREFIX) - len(VERSION) - MAC_CHARS  # a start payload has 64 characters
#: What ``encode`` writes: the prefix, the version, base-36 digits and an URL-safe base64 MAC.
_CODE = re.compile(
    rf"{PREFIX}{VERSION}([0-9a-z]{{1,{_MAX_DIGITS}}})([A-Za-z0-9_-]{{{MAC_CHARS}}})", re.ASCII
)


class ShareCodes:
    """Encodes and checks share codes for one knowledge base and secret."""

    def __init__(self, knowledge: Knowledge, secret: bytes) -> None:
        self.knowledge = knowledge
        self.key = hashlib.sha256(b"stack-advisor/share/" + secret).digest()
        shape = ";".join(f"{q.id}:{','.join(o.id for o in q.options)}" for q in knowledge.questions)
        self.fingerprint = hashlib.sha256(shape.encode()).hexdigest()[:16]

    def _mac(self, body: str) -> str:
        digest = hmac.new(self.key, f"{self.fingerprint}|{body}".encode(), "sha256").digest()
        return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]

    def encode(self, answers: Mapping[str, str]) -> str:
        """The deep-link payload (``r_…``) for these answers."""
        number = 0
        for question in reversed(self.knowledge.questions):
            option = question.option(answers.get(question.id))
            digit = question.options.index(option) + 1 if option is not None else 0
            number = number * (len(question.options) + 1) + digit
        body = VERSION + to36(number)
        return PREFIX + body + self._mac(body)

    def decode(self, payload: str) -> dict[str, str] | None:
        """The answers in a payload, or None when it is not a valid, current share code.

        Never raises: anything that is not exactly what :meth:`encode` writes is refused
        before the MAC is compared (which would raise on non-ASCII text).
        """
        match = _CODE.fullmatch(payload) if isinstance(payload, str) else None
        if match is None:
            return None
        digits, mac = match.groups()
        body = VERSION + digits
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        number = int(digits, 36)
        answers: dict[str, str] = {}
        for question in self.knowledge.questions:
            number, digit = divmod(number, len(question.options) + 1)
            if digit:
                answers[question.id] = question.options[digit - 1].id
        if number or self.knowledge.prune(answers) != answers:
            return None
        return answers

    @staticmethod
    def is_share_payload(payload: str) -> bool:
        """Whether a start payload is meant as a share code (valid or not)."""
        return payload.startswith(PREFIX)


def to36(number: int) -> str:
    """A non-negative integer in base 36 (digits and lowercase letters)."""
    if number < 0:
        raise ValueError("negative")
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if not number:
            return digits
