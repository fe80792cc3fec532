"""Understand typed answers: option numbers, labels, synonyms, small typos and commands."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from advisor import Option, Question

Command = Literal["back", "restart", "why", "help", "quit"]
COMMANDS: tuple[Command, ...] = ("back", "restart", "why", "help", "quit")
MAX_TEXT = 200
FUZZY_CUTOFF = 0.8
AMBIGUITY_GAP = 0.05
_NOT_WORD = re.compile(r"[^\w]+|_")


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: 'Pythón!! ' → 'python'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", stripped.casefold()).split())


@dataclass(frozen=True, slots=True)
class Understood:
    """What typed text meant: a command, an option, several possible options, or nothing."""

    command: Command | None = None
    option: Option | None = None
    candidates: tuple[Option, ...] = ()


NOTHING = Understood()


class Interpreter:
    """Maps text to commands (words from data) and to the options of a question."""

    def __init__(self, command_words: Mapping[Command, str]) -> None:
        self._commands: dict[str, Command] = {}
        for command, words in command_words.items():
            for word in words.split(","):
                if norm := normalize(word):
                    self._commands[norm] = command

    def command(self, text: str) -> Command | None:
        """The command this text names, if any."""
        return self._commands.get(normalize(text)) if len(text) <= MAX_TEXT else None

    def understand(self, text: str, question: Question | None) -> Understood:
        """Interpret text typed while ``question`` is asked (None: no question open)."""
        if len(text) > MAX_TEXT:
            return NOTHING
        norm = normalize(text)
        if not norm:
            return NOTHING
        if norm in self._commands:
            return Understood(command=self._commands[norm])
        if question is None:
            return self._fuzzy_command(norm)
        if norm.isdigit():
            typed = text.strip().rstrip(".)")
            if not (typed.isdecimal() and typed.isascii()):  # "-1", "1.5", "፩": no number
                return NOTHING
            index = int(typed) - 1
            if 0 <= index < len(question.options):
                return Understood(option=question.options[index])
            return NOTHING
        return (
            _pick(_exact(norm, question))
            or _pick(_contained(norm, question))
            or self._fuzzy(norm, question)
        )

    def _fuzzy(self, norm: str, question: Question) -> Understood:
        scored: dict[Option | Command, float] = {}
        for option in question.options:
            scored[option] = max(_ratio(norm, name) for name in _names(option))
        for word, command in self._commands.items():
            scored[command] = max(scored.get(command, 0.0), _ratio(norm, word))
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])
        best, score = ranked[0]
        if score < FUZZY_CUTOFF:
            return NOTHING
        close = [target for target, s in ranked if s >= score - AMBIGUITY_GAP]
        if len(close) > 1:
            options = tuple(t for t in close if isinstance(t, Option))
            return Understood(candidates=options) if len(options) > 1 else NOTHING
        if isinstance(best, Option):
            return Understood(option=best)
        return Understood(command=best)

    def _fuzzy_command(self, norm: str) -> Understood:
        match = difflib.get_close_matches(norm, list(self._commands), n=1, cutoff=FUZZY_CUTOFF)
        return Understood(command=self._commands[match[0]]) if match else NOTHING


def _names(option: Option) -> list[str]:
    return [normalize(n) for n in (option.label, option.id.replace("_", " "), *option.synonyms)]


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _exact(norm: str, question: Question) -> list[Option]:
    return [o for o in question.options if norm in _names(o)]


#: Words that turn "python" into "not python": a name found after one of them is no answer.
NEGATIONS = frozenset({"not", "no", "dont", "don", "never", "without", "nor", "isn", "isnt"})


def _contained(norm: str, question: Question) -> list[Option]:
    """Options named inside the text.

    A name inside a longer name found there does not count ("no" in "no idea"); names of
    different options side by side ("python or javascript") make the text ambiguous.
    """
    padded = f" {norm} "
    spans: list[tuple[int, int, Option]] = []
    for option in question.options:
        for name in filter(None, _names(option)):
            start = padded.find(f" {name} ")
            while start != -1:
                spans.append((start + 1, start + 1 + len(name), option))
                start = padded.find(f" {name} ", start + 1)
    kept = [
        (start, end, option)
        for start, end, option in spans
        if not any(s <= start and end <= e and e - s > end - start for s, e, _ in spans)
    ]
    position = 0
    for word in norm.split():  # "not python" is no answer: a negation outside every name
        start = padded.find(f" {word} ", position) + 1
        position = start + len(word)
        if word in NEGATIONS and not any(s <= start < e for s, e, _ in kept):
            return []
    return list(dict.fromkeys(option for _, _, option in kept))


def _pick(options: list[Option]) -> Understood | None:
    if not options:
        return None
    if len(options) == 1:
        return Understood(option=options[0])
    return Understood(candidates=tuple(options))
