"""Short replies read against what was just asked: one of the two options a "Did you mean A or
B?" offered (by its place, its number or the start of its name), and a yes or a no where the
only buttons are a yes and a no (the hand-off's consent).

Everything here reads the whole message only, with the words of ``data/`` (vocabulary.yaml:
``positions``, ``replies``, ``rewrites``, ``fillers`` and ``polite``); longer messages are left
to the :class:`~dialogs.interpreter.Interpreter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from advisor import Option, Question
from advisor.model import POSITIONS, Vocabulary

from .interpreter import MAX_TEXT, normalize, rewrite

#: The shortest start of an option's name that is read as naming it ("med" for "Medium…").
SHORTEST_PREFIX = 3
YesNo = Literal["yes", "no"]


@dataclass(frozen=True, slots=True)
class Picked:
    """What a reply to "Did you mean A or B?" says: one of the two (``option``), or a number
    that is neither of them (``out_of_range``: ask again); neither when it is something else."""

    option: Option | None = None
    out_of_range: bool = False


NOT_A_PICK = Picked()


class ShortReplies:
    """Reads a reply against the choice just offered, in one language."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._rewrites = {_words(k): _words(v) for k, v in vocabulary.rewrites.items()}
        self._rewrites.pop((), None)
        self._rewrite_len = max(map(len, self._rewrites), default=0)
        self._fillers = {w for phrase in vocabulary.fillers for w in _words(phrase)}
        self._polite = sorted(
            {p for p in map(self._phrase, vocabulary.polite) if p}, key=len, reverse=True
        )
        self._positions: dict[tuple[str, ...], int] = {}
        for index, position in enumerate(POSITIONS):
            for text in vocabulary.positions.get(position, ()):
                if phrase := self._phrase(text):
                    self._positions.setdefault(phrase, index)
        self._replies: dict[tuple[str, ...], YesNo] = {}
        for reply in ("yes", "no"):
            self._add_replies(reply, vocabulary.replies.get(reply, ()))

    def _add_replies(self, reply: YesNo, texts: Iterable[str]) -> None:
        for text in texts:
            if phrase := self._phrase(text):
                self._replies.setdefault(phrase, reply)

    # -- reading ------------------------------------------------------------------------------

    def _phrase(self, text: str) -> tuple[str, ...]:
        """The words of a phrase as they are compared: rewritten, without fillers."""
        words = self._rewrite(list(_words(text)))
        return tuple(w for w in words if w not in self._fillers)

    def _rewrite(self, words: list[str]) -> list[str]:
        return rewrite(words, self._rewrites, self._rewrite_len)

    def _said(self, text: str) -> tuple[str, ...]:
        """The whole message as compared with a phrase: the polite words around it left out."""
        words = self._phrase(text)
        changed = True
        while changed and words:
            changed = False
            for phrase in self._polite:
                n = len(phrase)
                if len(words) > n and words[:n] == phrase:
                    words, changed = words[n:], True
                elif len(words) > n and words[-n:] == phrase:
                    words, changed = words[:-n], True
        return words

    def pick(self, text: str, question: Question, offered: Sequence[Option]) -> Picked:
        """Which of the ``offered`` options a reply to "Did you mean A or B?" names: by its
        place ("the first one", "la segunda", "второй вариант"), its number ("2", "#2"), or a
        start of its name no other offered option's name has ("очень" for "Очень сжатые").

        An option's full name is left to the interpreter (any option of the question may be
        named that way); a place and a start of a name that disagree pick nothing."""
        if not offered or len(text) > MAX_TEXT:
            return NOT_A_PICK
        said = normalize(text)
        if not said:
            return NOT_A_PICK
        if said.isdigit():
            typed = text.strip().lstrip("#").rstrip(".)").strip()
            number = int(typed) if typed.isdecimal() and typed.isascii() else 0
            if 0 < number <= len(offered):
                return Picked(offered[number - 1])
            return Picked(out_of_range=True)  # "3", "-1", "0": none of the two
        labels = {normalize(option.label) for option in question.options}
        if said in labels:
            return NOT_A_PICK
        index = self._positions.get(self._said(text))
        by_place = offered[index] if index is not None and index < len(offered) else None
        starting = [o for o in offered if normalize(o.label).startswith(said)]
        by_start = starting[0] if len(starting) == 1 and len(said) >= SHORTEST_PREFIX else None
        if by_place is not None and by_start is not None and by_place is not by_start:
            return NOT_A_PICK
        option = by_place or by_start
        return Picked(option) if option is not None else NOT_A_PICK

    def yes_or_no(self, text: str, *, yes: str = "", no: str = "") -> YesNo | None:
        """A plain yes or no, as the whole message ("yes please", "nope"); ``yes`` and ``no``
        are the labels of the buttons it answers ("Yes, share", "No thanks"), read first."""
        if len(text) > MAX_TEXT:
            return None
        said = self._said(text)
        if not said:
            return None
        buttons: tuple[tuple[YesNo, str], ...] = (("yes", yes), ("no", no))
        for reply, label in buttons:
            if label and said in (self._phrase(label), self._said(label)):
                return reply
        return self._replies.get(said)


def _words(text: str) -> tuple[str, ...]:
    return tuple(normalize(text).split())
