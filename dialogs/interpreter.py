"""Understand what people type: answers in their own words, short replies and commands.

A message is read as a whole. Words are matched to every question's options (labels, synonyms,
replies such as "yep" or "dunno"), typos in longer words are forgiven (rapidfuzz), and
negations count only for the part of the sentence they stand in: in "no programmers so far"
the programmers are negated, which points to hiring; in "it's not a small thing" the small
option is excluded and nothing else is said. Options whose scores come close are returned as
two candidates to ask about; when nothing fits, nothing is returned. Every word comes from
``data/`` (vocabulary.yaml and questions.yaml); nothing typed is kept.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
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

BREAK = "\x00,"  # a punctuation mark between two parts of a sentence
CHOICE = "\x00/"  # "python/js": a choice, like "or"
_WORD_DASH = re.compile(r"(?<=\w)[-‐](?=\w)")
_TOKEN = re.compile(r"[^\W_]+|/|[,.;:!?()\[\]…–—-]+")


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
        ):
            for text in texts:
                self._add(text, Cue(kind))

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
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(self._rewrite_len, len(words) - i), 0, -1):
                replacement = self._rewrites.get(tuple(words[i : i + n]))
                if replacement is not None:
                    out.extend(replacement)
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return out

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

    def _correct(self, word: str) -> str:
        """The known word a typo or another ending stands for, or the word itself."""
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
        for f in found:  # "no developers" holds no "no" reply
            if any(c.at_end for c in f.cues) and f.end not in ends:
                f.cues = tuple(c for c in f.cues if not c.at_end)
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
            foreign = any(
                c.kind == Kind.OPTION and c.question not in ("", question.id) and c.weight > VAGUE
                for c in f.cues
            )
            if cues or foreign:
                matches.append(_Match(f.start, f.end, cues, foreign, reading.clause_of[f.start]))
        spans = [(m.start, m.end) for m in matches if m.cues]
        for m in matches:
            m.inside = any(
                s <= m.start and m.end <= e and e - s > m.end - m.start for s, e in spans
            )
        self._scope(matches, reading.words)
        return matches

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
                    m.negated = m.negated or not (said_no and _says_no(m))
            if neg.inside:  # "no chat or video": on over "or" only
                holder = max(
                    (m for m in matches if m.start <= neg.start and neg.end <= m.end),
                    key=lambda m: m.end - m.start,
                )
                choices = {o.start for o in matches if o.has(Kind.CHOICE)}
                choices |= {i for i, w in enumerate(words) if w == CHOICE}
                vague = all(c.weight <= VAGUE for c in holder.cues if c.kind == Kind.OPTION)
                for m in content:
                    if m.start == holder.end + 1 and holder.end in choices:
                        m.negated = m.negated or not m.negative
                    elif m.start == holder.end and holder.negative and vague:
                        m.negated = m.negated or not m.negative  # "not much processing"
                continue
            plain_no = neg.start == 0 and tuple(words[: neg.end]) in self._plain_no
            for m in content:  # "not a small thing": what follows, a few words on
                if m.clause == neg.clause and neg.end <= m.start < neg.end + SCOPE:
                    agreed = plain_no and _says_no(m)  # "no, just public info" is no "no public"
                    m.negated = m.negated or not (m.negative or agreed)
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
            for option, weight in said.items():
                scores[option] = scores.get(option, 0.0) + weight
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
        for meant, denied in meant_by:
            negated -= meant
            if denied & scores.keys():
                continue  # "no ML but heavy reports": said and denied, so it means no "light"
            for option in meant:
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
            for m in matches
        )
        choice = CHOICE in reading.words or any(
            m.has(Kind.CHOICE) and not m.inside for m in matches
        )
        unsure = any(_is_reply(m, "not_sure") for m in matches if not m.inside)
        hedged = any(m.has(Kind.HEDGE) for m in matches if not m.inside)  # "python, maybe js"
        self._combine(question, scores, negated, choice or unsure or hedged)
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


def _says_no(m: _Match) -> bool:
    """Whether a phrase names only options that a "no" picks ("nothing private", "own team")."""
    options = [c.option for c in m.cues if c.kind == Kind.OPTION and c.option is not None]
    return bool(options) and all(o.reply == "no" for o in options)


def _is_reply(m: _Match, reply: Reply) -> bool:
    return any(c.kind == Kind.REPLY and c.reply == reply for c in m.cues)


def _leads(found: _Found) -> bool:
    """Whether a phrase may follow a "no" reply: another reply or negation ("no, nothing")."""
    return any(c.kind in (Kind.NEGATION, Kind.REPLY) for c in found.cues)
