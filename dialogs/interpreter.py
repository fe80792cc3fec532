"""Understand what people type: answers in their own words, short replies and commands.

A message is read as a whole. Words are matched to every question's options (labels, synonyms,
replies such as "yep" or "dunno"), typos in longer words are forgiven (rapidfuzz), letters held
down are let go ("huuuge"), and negations count only for the part of the sentence they stand in:
in "no programmers so far" the programmers are negated, which points to hiring; in "it's not a
small thing" the small option is excluded and nothing else is said, while "not big" means small
(``if_negated``). "Don't care" picks the neutral option at any question; "small now, big
later" the option between the two (``between``); "video calls, that's the product" makes a live
feature the core. Options whose scores come close are returned as two candidates to ask about;
when nothing fits, nothing is returned. A bare "?" asks why. Every word comes from ``data/``
(vocabulary.yaml and questions.yaml); nothing typed is kept.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from advisor import Knowledge, Option, Question
from advisor.model import COMMANDS, REPLIES, Command, Reply, Vocabulary

__all__ = ["COMMANDS", "NOTHING", "Command", "Interpreter", "Understood", "normalize"]

#: Longer messages are not read at all (no answer is that long; it keeps the time bounded).
MAX_TEXT = 300
#: A second option scoring at least this share of the best one is too close to call.
CLOSE = 0.75
#: A second option named on its own words, scoring at least this share of the best one, is a
#: rival answer: asked about rather than outvoted ("a small MVP that grows into a big platform").
RIVAL = 0.5
#: ... and when the message offers a choice ("small or medium?"), any second option named.
CLOSE_CHOICE = 0.3
#: Weights of the cues: a named option, a vague word ("a lot"), a short reply, a negated cue.
STRONG, EXTRA_WORD, VAGUE, YES_NO, NOT_SURE, NEGATED = 1.0, 0.25, 0.5, 0.75, 0.8, 0.6
#: Words after a negation that it still reaches, and words a "not needed" may follow it by.
SCOPE, NEEDED_WITHIN = 6, 2
#: From this length on, a word may be misspelt, not only mistyped ("seperate", "microservises").
LONG_WORD = 8
#: Words a ``*`` in a command stands for.
WILDCARD = range(1, 7)
#: Words that say nothing else ("auction") allowed between "the app is a" and what it names.
CENTRAL_GAP = 2
#: Mentions of an option, said again in later parts of a message, that outweigh its negation in
#: an earlier one ("we don't store card numbers, stripe does. but yes people pay").
AFFIRMED = 2

BREAK = "\x00,"  # a punctuation mark between two parts of a sentence
CHOICE = "\x00/"  # "python/js": a choice, like "or"
_WORD_DASH = re.compile(r"(?<=\w)[-‐](?=\w)")
_TOKEN = re.compile(r"[^\W_]+|/|[,.;:!?()\[\]…–—-]+")
_HELD = re.compile(r"([^\W\d_])\1{2,}")  # a letter held down: three or more in a row


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: 'Pythón!! ' → 'python'."""
    return " ".join(t for t in _tokens(text) if t not in (BREAK, CHOICE))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _tokens(text: str) -> list[str]:
    found = _TOKEN.findall(_WORD_DASH.sub(" ", _fold(text)))
    return [t if t[0].isalnum() else CHOICE if t == "/" else BREAK for t in found]


@dataclass(frozen=True, slots=True)
class Understood:
    """What typed text meant: a command, an option, two options to ask about, or nothing."""

    command: Command | None = None
    option: Option | None = None
    candidates: tuple[Option, ...] = ()


NOTHING = Understood()


class Kind(IntEnum):
    """What a phrase found in a message is."""

    OPTION = 1  # names an option
    IF_NEGATED = 2  # names an option when negated ("no developers" → hire)
    REPLY = 3  # a short reply ("yep")
    NEGATION = 4
    NOT_NEEDED = 5
    BREAK = 6
    CHOICE = 7
    HEDGE = 8
    INDIFFERENT = 9  # any answer will do ("don't care")
    LATER = 10  # what is said beside it is for later ("big later", "grow into")
    NOW = 11  # what is said beside it is for now ("small now", "a prototype first")


@dataclass(frozen=True, slots=True)
class Cue:
    """One meaning of a phrase."""

    kind: Kind
    question: str = ""
    option: Option | None = None
    reply: Reply | None = None
    weight: float = STRONG
    #: The phrase holds a negation ("no rush"): another negation does not turn it around.
    negative: bool = False
    #: A "no" reply counts only at the end of a part of a sentence ("no developers" is no no).
    at_end: bool = False


@dataclass(slots=True)
class _Found:
    """A phrase found in the message, with all its meanings (for every question)."""

    start: int
    end: int
    cues: tuple[Cue, ...]


@dataclass(slots=True)
class _Match:
    """A phrase found in the message, with its meanings for the question asked."""

    start: int
    end: int
    cues: list[Cue]
    foreign: bool  # names an option of another question, clearly
    clause: int = 0
    negated: bool = False
    unsure: bool = False
    inside: bool = False  # inside a longer phrase found at the same place
    #: Negated right beside its negation ("no payments"), not across a verb ("don't store
    #: card numbers" denies the storing more than the payments).
    near: bool = False

    def has(self, kind: Kind) -> bool:
        return any(c.kind == kind for c in self.cues)

    @property
    def names_option(self) -> bool:
        return any(c.kind in (Kind.OPTION, Kind.IF_NEGATED) for c in self.cues)

    @property
    def negative(self) -> bool:
        return any(c.negative for c in self.cues)


@dataclass(slots=True)
class _Reading:
    """A message as words, the phrases found in them, and its parts (question-independent)."""

    words: list[str]
    found: list[_Found] = field(default_factory=list)
    clause_of: list[int] = field(default_factory=list)
    choice: bool = False


class Interpreter:
    """Maps typed text to commands and to the options of a question, using data/ words."""

    def __init__(self, knowledge: Knowledge) -> None:
        vocabulary = knowledge.vocabulary
        self._questions = knowledge.questions
        self._rewrites = {_phrase(k): _phrase(v) for k, v in vocabulary.rewrites.items()}
        self._rewrite_len = max(map(len, self._rewrites), default=0)
        self._fillers = {p for p in map(self._raw_phrase, vocabulary.fillers) if p}
        self._filler_len = max(map(len, self._fillers), default=0)
        self._index: dict[tuple[str, ...], tuple[Cue, ...]] = {}
        self._vague = {self._phrase(p) for p in vocabulary.vague}
        self._negations = {p for p in map(self._phrase, vocabulary.negations) if p}
        self._add_vocabulary(vocabulary)
        for question in self._questions:
            for option in question.options:
                self._add_option(question, option)
        #: Where "don't care" goes: the option that lists such words itself ("not much" at a
        #: question of how much it matters), else the neutral one.
        indifferent = {self._phrase(t) for t in vocabulary.indifferent}
        self._indifferent: dict[str, tuple[Option, ...]] = {}
        for question in self._questions:
            listing = tuple(
                o
                for o in question.options
                if any(self._phrase(t) in indifferent for t in (o.label, *o.synonyms))
            )
            neutral = tuple(o for o in question.options if o.reply == "not_sure")
            self._indifferent[question.id] = listing if len(listing) == 1 else neutral
        #: "* is the product", "the app is a *": the words before and after what they make central.
        self._central_patterns = [
            (self._phrase(before), self._phrase(after))
            for before, _, after in (t.partition("*") for t in vocabulary.central)
        ]
        #: "without * there is no app": two negations around what is central
        self._unless_patterns = [
            (before, after)
            for before, after in self._central_patterns
            if before and after and any((w,) in self._negations for w in before)
        ]
        self._longest = max(map(len, self._index), default=1)
        self._reply_options = {
            q.id: {r: tuple(o for o in q.options if o.reply == r) for r in REPLIES}
            for q in self._questions
        }
        self._labels = {q.id: {normalize(o.label): o for o in q.options} for q in self._questions}
        self._commands: dict[tuple[str, ...], Command] = {}
        self._templates: list[tuple[tuple[str, ...], tuple[str, ...], Command]] = []
        for command in COMMANDS:
            for phrase in vocabulary.commands[command]:
                self._add_command(command, phrase)
        self._polite = sorted(
            {p for p in map(self._phrase, vocabulary.polite) if p}, key=len, reverse=True
        )
        meaningful = {w for phrase in self._index for w in phrase}
        meaningful |= {w for phrase in self._commands for w in phrase}
        meaningful |= {w for p, s, _ in self._templates for w in (*p, *s)}
        meaningful |= {w for phrase in self._rewrites for w in phrase}
        meaningful |= {w for before, after in self._central_patterns for w in (*before, *after)}
        self._meaningful = meaningful
        self._endings = tuple(e for e in map(normalize, vocabulary.endings) if e)
        self._asking = frozenset(w for p in vocabulary.asking for w in _phrase(p))
        self._known = meaningful | {w for p in self._fillers for w in p}
        self._known |= {w for p in vocabulary.known for w in _phrase(p)}
        self._known |= {w for q in self._questions for w in _phrase(f"{q.prompt} {q.why}")}
        self._by_length: dict[int, list[str]] = {}
        for word in sorted(meaningful):
            if word.isalpha() and len(word) >= 3:
                self._by_length.setdefault(len(word), []).append(word)

    # -- building -----------------------------------------------------------------------------

    def _raw_phrase(self, text: str) -> tuple[str, ...]:
        """Words of a phrase from the data, rewritten (the fillers not yet left out)."""
        return tuple(self._rewrite(list(_phrase(text))))

    def _phrase(self, text: str) -> tuple[str, ...]:
        return tuple(self._unfill(list(self._raw_phrase(text))))

    def _add(self, text: str, cue: Cue) -> None:
        phrase = self._phrase(text)
        if phrase and cue not in (cues := self._index.get(phrase, ())):
            self._index[phrase] = (*cues, cue)

    def _add_vocabulary(self, vocabulary: Vocabulary) -> None:
        self._reply_phrases = {r: {self._phrase(t) for t in vocabulary.replies[r]} for r in REPLIES}
        #: "no", "nope", "nah": a no said as it is (not "not", left of "not really").
        self._plain_no = {
            p for t in vocabulary.replies["no"] if (p := self._phrase(t)) == self._raw_phrase(t)
        }
        for reply in REPLIES:
            for text in vocabulary.replies[reply]:
                negative = self._is_negative(text)
                weight = NOT_SURE if reply == "not_sure" else YES_NO
                at_end = negative and reply == "no"
                self._add(text, Cue(Kind.REPLY, reply=reply, weight=weight, at_end=at_end))
        for kind, texts in (
            (Kind.NEGATION, vocabulary.negations),
            (Kind.NOT_NEEDED, vocabulary.not_needed),
            (Kind.BREAK, vocabulary.clause_breaks),
            (Kind.CHOICE, vocabulary.alternatives),
            (Kind.HEDGE, vocabulary.hedges),
            (Kind.LATER, vocabulary.later),
            (Kind.NOW, vocabulary.now),
        ):
            for text in texts:
                self._add(text, Cue(kind))
        for text in vocabulary.indifferent:  # "whatever is simpler" is no "whatever"
            negative = self._is_negative(text)
            self._add(text, Cue(Kind.INDIFFERENT, weight=NOT_SURE, negative=negative, at_end=True))

    def _is_negative(self, text: str) -> bool:
        words = self._phrase(text)
        return any(
            words[i : i + len(negation)] == negation
            for negation in self._negations
            for i in range(len(words))
        )

    def _add_option(self, question: Question, option: Option) -> None:
        for text in (option.label, *option.synonyms):
            phrase = self._phrase(text)
            if not phrase or (option.reply and phrase in self._reply_phrases[option.reply]):
                continue  # "Not sure" is read as the reply it is
            weight = VAGUE if phrase in self._vague else STRONG + EXTRA_WORD * (len(phrase) - 1)
            negative = self._is_negative(text)
            cue = Cue(Kind.OPTION, question.id, option, weight=min(weight, 2.0), negative=negative)
            self._add(text, cue)
        for text in option.if_negated:
            self._add(text, Cue(Kind.IF_NEGATED, question.id, option, weight=NEGATED))

    def _add_command(self, command: Command, text: str) -> None:
        before, star, after = text.partition("*")
        prefix, suffix = self._phrase(before), self._phrase(after)
        if star:
            self._templates.append((prefix, suffix, command))
        elif prefix:
            self._commands.setdefault(prefix, command)

    # -- reading a message --------------------------------------------------------------------

    def _rewrite(self, words: list[str]) -> list[str]:
        return rewrite(words, self._rewrites, self._rewrite_len)

    def _unfill(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self._filler_len, len(words) - i), 0, -1):
                if tuple(words[i : i + n]) in self._fillers:
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return out

    def _let_go(self, word: str) -> str:
        """The word without letters held down: "huuuge" → "huge", "sooon" → "soon",
        "огроооомный" → "огромн"."""
        twice, once = _HELD.sub(r"\1\1", word), _HELD.sub(r"\1", word)
        for candidate in (twice, once):
            corrected = self._correct(candidate)
            if corrected in self._known or (corrected,) in self._fillers:
                return corrected
        return self._correct(once)

    def _correct(self, word: str) -> str:
        """The known word a typo or another ending stands for, or the word itself."""
        if _HELD.search(word) and word not in self._known and (word,) not in self._fillers:
            return self._let_go(word)
        if word in self._meaningful or not word.isalpha() or (word,) in self._fillers:
            return word
        for ending in self._endings:  # "bookings" → "booking", "card" → "cards"
            stem = word[: -len(ending)]
            if (
                word.endswith(ending)
                and len(stem) >= 3
                and stem in self._meaningful
                and (stem,) not in self._negations  # "notes" is no "not"
            ):
                return stem
            if word + ending in self._meaningful:
                return word + ending
        if word in self._known or len(word) < 4:
            return word
        edits = 1 if len(word) <= 8 else 2
        choices = [
            w
            for n in range(len(word) - edits, len(word) + edits + 1)
            for w in self._by_length.get(n, ())
        ]
        found = process.extract(word, choices, scorer=OSA.distance, score_cutoff=edits, limit=3)
        if not found:
            return word
        distance = found[0][1]
        closest = [w for w, d, _ in found if d == distance]
        if len(closest) > 1:  # as close to two known words: a slip of the fingers, or no guess
            closest = [w for w in closest if _slip(word, w)]
        if len(closest) != 1 or (len(word) <= 5 and not _slip(word, closest[0])):
            return word
        return closest[0] if _typo(word, closest[0]) else word

    def _words(self, text: str) -> list[str]:
        words = [t if t in (BREAK, CHOICE) else self._correct(t) for t in _tokens(text)]
        return self._unfill(self._rewrite(words))

    def _read(self, words: list[str]) -> _Reading:
        """Find every known phrase in the words, and the parts of the sentence."""
        reading = _Reading(words)
        for i in range(len(words)):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                cues = self._index.get(tuple(words[i : i + n]))
                if cues:
                    reading.found.append(_Found(i, i + n, cues))
        found = reading.found
        ends = {f.start for f in found if _leads(f)} | {len(words)}
        ends |= {i for i, w in enumerate(words) if w == BREAK}
        parts = sorted({i for i, w in enumerate(words) if w == BREAK} | {len(words)})
        longest: list[_Found] = []
        for f in found:  # "no developers" holds no "no" reply
            if any(c.at_end for c in f.cues) and f.end not in ends:
                longest = longest or _longest(found)
                stop = next(i for i in parts if i >= f.end)
                # "don't care what they use", "me da igual el lenguaje" still say it; a word
                # alone ("whatever is simpler", "whatever you think") says it only at the end
                said = f.end - f.start == 1 or any(
                    f.end <= g.start < stop and _says_something(g) for g in longest
                )
                f.cues = tuple(
                    c for c in f.cues if not c.at_end or (c.kind == Kind.INDIFFERENT and not said)
                )
        breaks = {f.start for f in found if any(c.kind == Kind.BREAK for c in f.cues)}
        clause = 0
        for i, word in enumerate(words):
            clause += word == BREAK or i in breaks
            reading.clause_of.append(clause)
        reading.choice = CHOICE in words or any(
            c.kind == Kind.CHOICE for f in found for c in f.cues
        )
        return reading

    def _matches(self, reading: _Reading, question: Question) -> list[_Match]:
        """The phrases found, with their meanings for this question, and what reaches them."""
        matches = []
        for f in reading.found:
            cues = [c for c in f.cues if c.question in ("", question.id)]
            foreign = not any(c.kind == Kind.INDIFFERENT for c in cues) and any(
                c.kind == Kind.OPTION and c.question not in ("", question.id) and c.weight > VAGUE
                for c in f.cues
            )
            if cues or foreign:
                matches.append(_Match(f.start, f.end, cues, foreign, reading.clause_of[f.start]))
        _mark_inside(matches)
        self._scope(matches, reading.words)
        if self._unless(matches, reading):
            _mark_inside(matches)
        return matches

    def _unless(self, matches: list[_Match], reading: _Reading) -> bool:
        """Two negations that make what stands between them the whole product: "without live
        chat there is no app", "sin el chat no hay app", "без чата приложения нет"."""
        words, clause_of = reading.words, reading.clause_of
        present = set(words)
        for before, after in self._unless_patterns:
            if before[0] not in present or after[0] not in present:
                continue
            for i in range(len(words) - len(before) - len(after) + 1):
                if tuple(words[i : i + len(before)]) != before:
                    continue
                at = i + len(before)
                ends = [
                    j
                    for j in range(at + 1, len(words) - len(after) + 1)
                    if tuple(words[j : j + len(after)]) == after
                    and clause_of[j] - clause_of[at] in (0, 1)
                ]
                if not ends:
                    continue
                for m in matches:
                    if at <= m.start and m.end <= ends[0]:
                        m.negated = m.near = False
                    elif i <= m.start < at and m.end > at:  # "sin chat": no "no chat" here
                        m.cues = []
                    elif i <= m.start < at or ends[0] <= m.start < ends[0] + len(after):
                        m.cues = [c for c in m.cues if c.kind not in (Kind.REPLY, Kind.NEGATION)]
                return True
        return False

    def _scope(self, matches: list[_Match], words: list[str]) -> None:
        """Mark what negations and "not sure" reach."""
        content = [m for m in matches if not m.inside and (m.names_option or m.foreign)]
        for neg in (m for m in matches if m.has(Kind.NEGATION)):
            after = [m for m in matches if m.start >= neg.end and m.clause == neg.clause]
            needed = any(  # "chat is not needed" ("not essential" negates only "essential")
                m.has(Kind.NOT_NEEDED) and not m.names_option and m.start - neg.end < NEEDED_WITHIN
                for m in after
            )
            at_end = neg.end >= len(words) or words[neg.end] == BREAK
            if needed or (at_end and not neg.inside):  # "chat is not needed", "chat? no"
                before = [m for m in content if m.end <= neg.start and m.clause == neg.clause]
                if not before and neg.start > 0 and words[neg.start - 1] == BREAK:
                    before = [m for m in content if m.clause == neg.clause - 1]
                said_no = not needed and _is_reply(neg, "no")  # "own team, so no": agreed
                for m in before:
                    if not (said_no and _says_no(m)):
                        m.negated, m.near = True, m.near or m.end == neg.start
            if neg.inside:  # "no chat or video": on over "or" only
                holder = max(
                    (m for m in matches if m.start <= neg.start and neg.end <= m.end),
                    key=lambda m: m.end - m.start,
                )
                choices = {o.start for o in matches if o.has(Kind.CHOICE)}
                choices |= {i for i, w in enumerate(words) if w == CHOICE}
                vague = all(c.weight <= VAGUE for c in holder.cues if c.kind == Kind.OPTION)
                for m in content:
                    if m.negative:
                        continue
                    if (m.start == holder.end + 1 and holder.end in choices) or (
                        m.start == holder.end and holder.negative and vague  # "not much processing"
                    ):
                        m.negated = m.near = True
                continue
            plain_no = neg.start == 0 and tuple(words[: neg.end]) in self._plain_no
            for m in content:  # "not a small thing": what follows, a few words on
                if m.clause == neg.clause and neg.end <= m.start < neg.end + SCOPE:
                    agreed = plain_no and _says_no(m)  # "no, just public info" is no "no public"
                    if not (m.negative or agreed):
                        m.negated, m.near = True, m.near or m.start == neg.end
        unsure = [m for m in matches if _is_reply(m, "not_sure") and not m.inside]
        for doubt in unsure:  # "idk, maybe python" is a guess at python; "idk maybe" is no guess
            hedges = [h.end for h in matches if h.has(Kind.HEDGE) and h.start >= doubt.end]
            if hedges and any(m.start >= min(hedges) for m in content if m.names_option):
                doubt.cues = [c for c in doubt.cues if c.kind != Kind.REPLY]  # a guess follows
                continue
            for m in content:
                if m.clause == doubt.clause and m.start >= doubt.end:
                    m.unsure = True

    # -- the public API -----------------------------------------------------------------------

    def command(self, text: str) -> Command | None:
        """The command this whole text asks for, if any."""
        if len(text) > MAX_TEXT:
            return None
        if _bare_question(text):
            return "why"
        return self._command([w for w in self._words(text) if w not in (BREAK, CHOICE)])

    def _command(self, words: list[str]) -> Command | None:
        for candidate in (words, self._strip_polite(words)):
            found = self._commands.get(tuple(candidate))
            if found is not None:
                return found
        for candidate in (words, self._strip_polite(words)):
            n = len(candidate)
            for prefix, suffix, command in self._templates:
                gap = n - len(prefix) - len(suffix)
                if (
                    gap in WILDCARD
                    and tuple(candidate[: len(prefix)]) == prefix
                    and tuple(candidate[n - len(suffix) :]) == suffix
                ):
                    return command
        return None

    def _strip_polite(self, words: list[str]) -> list[str]:
        changed = True
        while changed and words:
            changed = False
            for phrase in self._polite:
                n = len(phrase)
                if tuple(words[:n]) == phrase and len(words) > n:
                    words, changed = words[n:], True
                elif tuple(words[-n:]) == phrase and len(words) > n:
                    words, changed = words[:-n], True
        return words

    def understand(self, text: str, question: Question | None) -> Understood:
        """Interpret text typed while ``question`` is asked (None: no question open)."""
        if len(text) > MAX_TEXT or not text.strip():
            return NOTHING
        if _bare_question(text):  # "?": what does that mean?
            return Understood(command="why")
        if question is not None and (number := _number(text)) is not None:
            if 0 < number <= len(question.options):
                return Understood(option=question.options[number - 1])
            return NOTHING
        if question is not None and (label := self._labels[question.id].get(normalize(text))):
            return Understood(option=label)
        words = self._words(text)
        command = self._command([w for w in words if w not in (BREAK, CHOICE)])
        if command is not None:
            return Understood(command=command)
        if question is None:
            return NOTHING
        asked = self._asked_back(text)
        if asked is not None:
            return asked
        return self._answer(self._read(words), question)

    def _asked_back(self, text: str) -> Understood | None:
        """A question back at the bot in a part of the message: "is python better?" answers
        nothing, and "heavy? what do you mean" asks what the question means."""
        parts: list[tuple[list[str], bool]] = []
        words: list[str] = []
        for token in _TOKEN.findall(_WORD_DASH.sub(" ", _fold(text))):
            if token[0].isalnum():
                words.append(token)
            elif token != "/" and words:
                parts.append((words, "?" in token))
                words = []
        if words:
            parts.append((words, False))
        if len(parts) < 2 and not any(asks for _, asks in parts):
            return None
        for part, asks in parts:
            part = self._rewrite([self._correct(w) for w in part])
            if asks and part[0] in self._asking and tuple(part[1:2]) not in self._negations:
                return NOTHING  # "doesn't matter?" still tells
            if len(parts) > 1 and self._command(self._unfill(part)) == "why":
                return Understood(command="why")
        return None

    def _answer(self, reading: _Reading, question: Question) -> Understood:
        matches = self._matches(reading, question)
        scores: dict[Option, float] = {}
        replies: dict[Option, float] = {}
        negated: set[Option] = set()
        local: list[_Match] = []
        #: What each phrase said for an option, to tell rival answers from shared words.
        named: list[tuple[_Match, dict[Option, float]]] = []
        #: Options meant by negating others ("no developers" → hire), with those others.
        meant_by: list[tuple[set[Option], set[Option]]] = []
        #: Options negated by words that do not mean them when negated ("not tiny" for small,
        #: though "not big" means small).
        denied_outright: set[Option] = set()
        #: The parts of the sentence each option is denied in (and whether right beside the
        #: negation), and named in.
        denials: dict[Option, list[tuple[int, bool]]] = {}
        mentions: dict[Option, list[int]] = {}
        said_yes_in: set[int] = set()
        indifferent = False
        strong = False
        starts = {f.start for f in reading.found}
        for m in matches:
            if m.inside or not m.cues or self._about_else(m, reading.words, starts):
                continue
            if m.names_option:
                local.append(m)
            said: dict[Option, float] = {}
            for cue in m.cues:
                if cue.kind == Kind.OPTION and cue.option is not None:
                    if m.negated:
                        negated.add(cue.option)
                        denials.setdefault(cue.option, []).append((m.clause, m.near))
                    elif not m.unsure:
                        said[cue.option] = said.get(cue.option, 0.0) + cue.weight
                        strong = strong or cue.weight > VAGUE
                elif cue.kind == Kind.REPLY and cue.reply is not None:
                    options = self._reply_options[question.id][cue.reply]
                    if options:
                        local.append(m)
                    counted = scores if cue.reply == "not_sure" else replies  # doubt always counts
                    for option in options:
                        counted[option] = counted.get(option, 0.0) + cue.weight
                    if cue.reply == "yes":
                        said_yes_in.add(m.clause)
                elif cue.kind == Kind.INDIFFERENT:  # "don't care": like a reply, if nothing else
                    local.append(m)
                    indifferent = True
                    for option in self._indifferent[question.id]:
                        replies[option] = replies.get(option, 0.0) + cue.weight
            for option, weight in said.items():
                scores[option] = scores.get(option, 0.0) + weight
                mentions.setdefault(option, []).append(m.clause)
            if said:
                named.append((m, said))
            if m.negated:  # "no developers" → hire; "no private data" → nothing sensitive
                meant = {
                    c.option
                    for o in matches
                    if m.start <= o.start and o.end <= m.end
                    for c in o.cues
                    if c.kind == Kind.IF_NEGATED and c.option is not None
                }
                denied = {c.option for c in m.cues if c.kind == Kind.OPTION and c.option}
                meant_by.append((meant, denied))
                denied_outright |= denied - meant
        if indifferent:  # "да пофиг", "yeah whatever": a yes or no is no answer beside it
            replies = {o: w for o, w in replies.items() if o in self._indifferent[question.id]}
        for option, parts in denials.items():  # "no card numbers here … but yes, people pay"
            last = max(part for part, _ in parts)
            again = sum(part > last for part in mentions.get(option, ()))
            needed = AFFIRMED if any(near for _, near in parts) else 1  # "no ML but heavy reports"
            if again and again + any(part > last for part in said_yes_in) >= needed:
                negated.discard(option)
                denied_outright.discard(option)
        for meant, denied in meant_by:
            negated -= meant - denied_outright
            if denied & scores.keys():
                continue  # "no ML but heavy reports": said and denied, so it means no "light"
            for option in meant - denied_outright:
                scores[option] = scores.get(option, 0.0) + NEGATED
                strong = True
        if not any(s > 0 for o, s in scores.items() if o not in negated):
            scores = replies  # "yep" answers; "yes, some" is "some"
            clauses = None  # a reply is no answer beside another question's words
        else:
            clauses = {m.clause for m in local}  # "some chat" to "heavy work?" is no "some"
        foreign = any(
            m.foreign
            and not m.negated
            and (clauses is None or m.clause in clauses)
            and not any(o.start <= m.start and m.end <= o.end for o in local)
            # "yes a lot" is the label of another question's option, and all of it read here
            and not all(any(o.start <= i < o.end for o in local) for i in range(m.start, m.end))
            for m in matches
        )
        choice = CHOICE in reading.words or any(
            m.has(Kind.CHOICE) and not m.inside for m in matches
        )
        unsure = any(_is_reply(m, "not_sure") for m in matches if not m.inside)
        hedged = any(m.has(Kind.HEDGE) for m in matches if not m.inside)  # "python, maybe js"
        self._combine(question, scores, negated, choice or unsure or hedged)
        if scores is not replies and not unsure:
            grown = self._now_and_later(question, named, matches, reading)
            if grown is not None and grown not in negated:  # "small now, big later": medium
                return Understood(option=grown)
        ranked = sorted(
            ((s, o) for o, s in scores.items() if o not in negated and s > 0), key=lambda so: -so[0]
        )
        if not ranked or (foreign and not strong):
            return NOTHING
        best = ranked[0][0]
        close = [o for s, o in ranked if s >= best * (CLOSE_CHOICE if choice else CLOSE)]
        if len(close) == 2 and scores is not replies and not choice:
            said_yes = [o for o in close if o in replies]  # "streaming, so yes": yes breaks the tie
            close = said_yes if len(said_yes) == 1 else close
        if len(close) == 2 and scores is not replies:  # "no cards stored, but people pay"
            turns = [b.start for b in matches if b.has(Kind.BREAK)]
            kept = [o for o in close if not _only_denied(o, set(close) - {o}, named, turns)]
            close = kept if len(kept) == 1 else close
        if (
            len(close) == 2
            and scores is not replies
            and set(close) <= self._central(reading, named)
        ):
            core = [o for o in close if o.reply == "yes"]  # "video calls, that's the product"
            close = core if len(core) == 1 else close
        if len(close) == 1 and len(ranked) > 1 and scores is not replies:
            first, (second_score, second) = close[0], ranked[1]
            firsts = [m for m, said in named if first in said]
            begins = firsts[0].start if firsts else len(reading.words)
            turns = [b.start for b in matches if b.has(Kind.BREAK)]
            rival = sum(
                said.get(second, 0.0)
                for m, said in named
                if first not in said
                # "light reporting", "built from scratch": one thing, not two answers
                and not any(o.end == m.start or m.end == o.start for o in firsts)
                # "no chat, but dashboards are the core": what is not wanted, then what is
                and not (m.negative and any(m.end <= t < begins for t in turns))
            )
            if rival >= STRONG and second_score >= best * RIVAL:  # "small mvp, then big"
                close = [first, second]
        if len(close) == 1 and scores is not replies:
            close = self._quantified(matches, close[0], scores) or close
        if len(close) == 1:
            return Understood(option=close[0])
        if len(close) == 2:
            return Understood(candidates=tuple(o for o in question.options if o in close))
        return NOTHING

    @staticmethod
    def _now_and_later(
        question: Question,
        named: list[tuple[_Match, dict[Option, float]]],
        matches: list[_Match],
        reading: _Reading,
    ) -> Option | None:
        """The option between two others when one is said for now and the other for later:
        "small now, big later", "a prototype first, then a big platform", "a small mvp that will
        grow into a big platform" (``between`` in questions.yaml)."""
        markers = [m for m in matches if m.has(Kind.LATER)]
        nows = [m for m in matches if m.has(Kind.NOW)]
        if not named or not (markers or nows):
            return None
        said = sorted(named, key=lambda ms: ms[0].start)
        first = said[0][0]
        if any(k.start < first.end and not k.has(Kind.NOW) for k in markers):
            return None  # "later it will be big": nothing said for now

        def later(m: _Match) -> bool:
            return (
                any(k.start < m.start or m.start <= k.start < m.end for k in markers)
                or any(k.clause == m.clause != first.clause for k in markers)
                or any(first.end <= n.start and n.end <= m.start for n in nows)  # "… first, then"
            )

        now = {o.id for m, options in said if not later(m) for o in options}
        then = {o.id for m, options in said if later(m) for o in options}
        last = max(m.end for m, _ in said)
        if any(m.has(Kind.CHOICE) and first.start < m.start < last for m in matches) or any(
            w == CHOICE for w in reading.words[first.start : last]
        ):
            return None  # "small now or big later?"
        for option in question.options:
            if len(option.between) != 2:
                continue
            low, high = option.between
            if now and then and now <= {low, option.id} and then <= {high, option.id}:
                return option if {low, high} & (now | then) else None
        return None

    def _central(
        self, reading: _Reading, named: list[tuple[_Match, dict[Option, float]]]
    ) -> set[Option]:
        """The options of what is said to be the whole product: "the app is a live auction",
        "live video is the product", "video calls with doctors, that's the product"."""
        words, clause_of = reading.words, reading.clause_of
        present = set(words)
        found: set[Option] = set()
        for before, after in self._central_patterns:
            if (before or after)[0] not in present:
                continue
            for i in range(len(words) - len(before) - len(after) + 1):
                if before:  # "the app is *": what follows it, past words that say nothing else
                    if tuple(words[i : i + len(before)]) != before:
                        continue
                    at = i + len(before)
                    ends = (
                        j
                        for j in range(at + 1, len(words) - len(after) + 1)
                        if tuple(words[j : j + len(after)]) == after
                        and clause_of[j] == clause_of[at]
                    )
                    if not after or next(ends, None) is not None:
                        gap = at  # "una subasta en vivo", "онлайн аукцион в реальном времени"
                        while gap < min(len(words), at + CENTRAL_GAP) and (
                            words[gap] not in self._meaningful
                        ):
                            gap += 1
                        found.update(o for m, said in named if m.start == gap for o in said)
                    continue
                if tuple(words[i : i + len(after)]) != after:
                    continue
                # "* is the product": in its part before it, or in the part it follows
                part = clause_of[i]
                opens = i == 0 or words[i - 1] == BREAK or clause_of[i - 1] != part
                found.update(
                    o
                    for m, said in named
                    if m.end <= i
                    and (clause_of[m.start] == part or (opens and clause_of[m.start] == part - 1))
                    for o in said
                )
        return found

    @staticmethod
    def _quantified(
        matches: list[_Match], chosen: Option, scores: dict[Option, float]
    ) -> list[Option] | None:
        """Two options when a vague word of one says how much of another ("a lot of reports":
        heavy work, or some reports?), unless the vague one is also named on its own."""
        by_start = {m.start: m for m in matches if m.names_option and not m.inside}
        for m in matches:
            vague = {c.option for c in m.cues if c.kind == Kind.OPTION and c.weight <= VAGUE}
            if (
                m.inside
                or m.negated
                or m.unsure
                or m.negative
                or not vague
                or m.end not in by_start
            ):
                continue
            named = by_start[m.end]
            other = {c.option for c in named.cues if c.kind == Kind.OPTION} - vague
            if (
                named.negated
                or named.unsure
                or not other
                or vague & {c.option for c in named.cues if c.kind == Kind.OPTION}
            ):
                continue
            strong_elsewhere = any(
                c.option in vague and c.weight > VAGUE
                for o in matches
                if not (o.inside or o.negated or o.unsure)
                for c in o.cues
                if c.kind == Kind.OPTION
            )
            pair = {o for o in (*vague, *other) if o is not None and scores.get(o, 0) > 0}
            if not strong_elsewhere and chosen in pair and len(pair) == 2:
                return sorted(pair, key=lambda o: -scores[o])
        return None

    def _about_else(self, m: _Match, words: list[str], starts: set[int]) -> bool:
        """Whether a vague word says how much of something else: "lots of photos", "a lot of
        users" say nothing about heavy work."""
        vague = [c for c in m.cues if c.kind == Kind.OPTION]
        return (
            bool(vague)
            and all(c.weight <= VAGUE and not c.negative for c in vague)
            and len(vague) == len(m.cues)
            and m.end < len(words)
            and words[m.end] in self._known
            and m.end not in starts
        )

    @staticmethod
    def _combine(
        question: Question, scores: dict[Option, float], negated: set[Option], choice: bool
    ) -> None:
        """Options named together that mean another one: "python and javascript" → both."""
        if choice:
            return
        for option in question.options:
            parts = [question.option(oid) for oid in option.combines]
            if parts and all(p in scores and p not in negated for p in parts):
                scores[option] = scores.get(option, 0.0) + sum(scores.pop(p) for p in parts if p)


# -- small helpers ------------------------------------------------------------------------------


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(t for t in _tokens(text) if t not in (BREAK, CHOICE))


def _bare_question(text: str) -> bool:
    """Whether a message is question marks and nothing more ("?", "??", "¿?"): asking why."""
    typed = text.strip()
    return "?" in typed and not any(ch.isalnum() for ch in typed)


def _number(text: str) -> int | None:
    typed = text.strip().rstrip(".)")
    if not typed or not (typed.isdecimal() and typed.isascii()):
        stripped = normalize(text)
        return -1 if stripped.isdigit() else None  # "-1", "1.5", "፩": a number, but no option
    return int(typed)


def _slip(typed: str, known: str) -> bool:
    """Whether a short word is a likely slip of the fingers: a letter left out, two letters
    swapped or one doubled ("smal", "chta", "bigg"), never another letter ("like" ≠ "live")."""
    if len(typed) == len(known) - 1:
        return True
    if len(typed) == len(known):
        return sorted(typed) == sorted(known)
    return len(typed) == len(known) + 1 and any(
        typed[i] == typed[i + 1] and typed[:i] + typed[i + 1 :] == known
        for i in range(len(typed) - 1)
    )


#: The keyboards people type on, row by row, as normalised text reads them: QWERTY, and the
#: Russian ЙЦУКЕН (its "й" read as "и", like every accent dropped).
_LAYOUTS = (
    ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
    ("ицукенгшщзхъ", "фывапролджэ", "ячсмитьбю"),
)
_KEYS = {
    ch: (r, col + 0.35 * r)
    for rows in _LAYOUTS
    for r, keys in enumerate(rows)
    for col, ch in enumerate(keys)
}
_VOWELS = frozenset("aeiouy" + "аеиоуыэюя")


def _near(a: str, b: str) -> bool:
    """Whether one letter is easily typed for another: next to it on the keyboard, or a vowel
    for a vowel ("seperate")."""
    if a in _VOWELS and b in _VOWELS:
        return True
    ka, kb = _KEYS.get(a), _KEYS.get(b)
    return ka is not None and kb is not None and (ka[0] - kb[0]) ** 2 + (ka[1] - kb[1]) ** 2 < 1.7


def _typo(typed: str, known: str) -> bool:
    """Whether ``typed`` is a likely mistyping of ``known``: the first letter right (or swapped
    with the second), and every changed letter near the one meant; "wealth" is not "health",
    "related" is not "relaxed"."""
    if typed[0] != known[0] and typed[:2] != known[1::-1]:
        return False
    ops = [op for op in Levenshtein.editops(typed, known) if op.tag == "replace"]
    swapped = {
        i
        for a, b in itertools.pairwise(ops)
        if b.src_pos == a.src_pos + 1
        and b.dest_pos == a.dest_pos + 1
        and typed[a.src_pos] == known[b.dest_pos]
        and typed[b.src_pos] == known[a.dest_pos]
        for i in (a.src_pos, b.src_pos)
    }
    return len(typed) >= LONG_WORD or all(  # "microservises": spelling, not fingers
        op.src_pos in swapped or _near(typed[op.src_pos], known[op.dest_pos]) for op in ops
    )


def _longest(found: list[_Found]) -> list[_Found]:
    """The phrases found that are not part of a longer one."""
    return [
        g
        for g in found
        if not any(
            h.start <= g.start and g.end <= h.end and h.end - h.start > g.end - g.start
            for h in found
        )
    ]


def _says_something(found: _Found) -> bool:
    """Whether a phrase names an option, of any question, is a short reply or a guess (and
    says more than that any answer will do)."""
    kinds = {c.kind for c in found.cues}
    return Kind.INDIFFERENT not in kinds and bool(kinds & {Kind.OPTION, Kind.REPLY, Kind.HEDGE})


def _mark_inside(matches: list[_Match]) -> None:
    """Mark the phrases inside a longer one found at the same place."""
    spans = [(m.start, m.end) for m in matches if m.cues]
    for m in matches:
        m.inside = any(s <= m.start and m.end <= e and e - s > m.end - m.start for s, e in spans)


def _says_no(m: _Match) -> bool:
    """Whether a phrase names only options that a "no" picks ("nothing private", "own team")."""
    options = [c.option for c in m.cues if c.kind == Kind.OPTION and c.option is not None]
    return bool(options) and all(o.reply == "no" for o in options)


def _only_denied(
    option: Option,
    others: set[Option],
    named: list[tuple[_Match, dict[Option, float]]],
    turns: list[int],
) -> bool:
    """Whether an option is named only in words that deny ("we don't store it"), all before a
    turn ("but") after which the other is named: "карточки не храним, но оплата будет"."""
    mine = [m for m, said in named if option in said]
    theirs = [m for m, said in named if others & said.keys()]
    return (
        bool(mine and theirs)
        and all(m.negative for m in mine)
        and any(all(m.end <= t for m in mine) and all(t < m.start for m in theirs) for t in turns)
    )


def _is_reply(m: _Match, reply: Reply) -> bool:
    return any(c.kind == Kind.REPLY and c.reply == reply for c in m.cues)


def _leads(found: _Found) -> bool:
    """Whether a phrase may follow a "no" reply: another reply or negation ("no, nothing")."""
    return any(c.kind in (Kind.NEGATION, Kind.REPLY) for c in found.cues)


def rewrite(
    words: Sequence[str], rewrites: Mapping[tuple[str, ...], Sequence[str]], longest: int
) -> list[str]:
    """The words with each run that ``rewrites`` names (at most ``longest`` words, the longest
    first) replaced by its written form ("don't" → "do not")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            replacement = rewrites.get(tuple(words[i : i + n]))
            if replacement is not None:
                out.extend(replacement)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return out
