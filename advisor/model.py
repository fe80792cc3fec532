"""Frozen, typed records for the knowledge the bot is built from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from babel import Locale
from babel.numbers import format_decimal

Stack = Literal["django", "nodejs"]
#: What typed words can ask for besides an answer (data/vocabulary.yaml, ``commands``).
Command = Literal["back", "restart", "why", "help", "quit", "skip", "bye"]
COMMANDS: tuple[Command, ...] = ("back", "restart", "why", "help", "quit", "skip", "bye")
#: The short replies any question may take ("yep", "nah", "dunno"), and the options they pick.
Reply = Literal["yes", "no", "not_sure"]
REPLIES: tuple[Reply, ...] = ("yes", "no", "not_sure")
#: The places of the two options a "Did you mean A or B?" offers ("the first one", "la segunda").
Position = Literal["first", "second"]
POSITIONS: tuple[Position, ...] = ("first", "second")
Verdict = Literal["django", "nodejs", "tie"]
#: The language of ``data/*.yaml``; every other one is a translation in ``data/i18n/<code>/``.
ENGLISH = "en"
#: Placeholders that hold counts, written the language's way from 1,000 on ("12.345"); ids
#: (a chat's, a lead's number) are never formatted.
COUNTS = frozenset(
    ("count", "delivered", "started", "finished", "shared", "leads", "days", "minutes")
)
#: CLDR's plural categories (https://cldr.unicode.org): a text's plural forms are keyed by them.
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
STACKS: tuple[Stack, ...] = ("django", "nodejs")

#: The sign of a verdict in "Django's lead": positive favours Django.
VERDICT_SIGN: Mapping[str, int] = {"django": 1, "nodejs": -1, "tie": 0}


@dataclass(frozen=True, slots=True, eq=False)
class Criterion:
    """One of the article's six criteria and its verdict."""

    id: str
    title: str
    verdict: Verdict
    summary: str
    stacks: Mapping[Stack, str]
    favours: str
    quote: str
    #: A few plain words shown beside the article's name where a person first meets it
    #: ("in the article: freedom to build it your way" for Usability).
    gloss: str = ""
    #: In a translation: what the (English) quote says, in the reader's language.
    quote_translation: str = ""

    @property
    def sign(self) -> int:
        """+1 when the article favours Django, -1 for Node.js, 0 for a tie."""
        return VERDICT_SIGN[self.verdict]

    @property
    def winner(self) -> Stack:
        """The stack a criterion's points go to (for a tie, Node.js: check ``sign`` first)."""
        return "django" if self.sign > 0 else "nodejs"


@dataclass(frozen=True, slots=True, eq=False)
class OwnReason:
    """One of the advisor's own rules of thumb: a reason the article does not give.

    Every point it gives is shown with the mark "Beyond the article" (``result.beyond_article``).
    """

    id: str
    #: A plain name of a few words, for the summary, the chart and the report ("Deadline").
    name: str
    #: What the rule is and how far the article goes, in plain words (for the report, /about).
    summary: str


@dataclass(frozen=True, slots=True)
class Fit:
    """Points an answer gives one stack by one of the advisor's own reasons (``rule``), with
    the words that complete "<because>, and …" ("Django is built on Python")."""

    stack: Stack
    points: int
    reason: str
    #: The id of the :class:`OwnReason` this nudge belongs to.
    rule: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Option:
    """One possible answer to a question and what it changes."""

    id: str
    label: str
    synonyms: tuple[str, ...]
    because: str
    weights: Mapping[str, int]
    fits: tuple[Fit, ...]
    #: Django's lead and the total weight this option adds (precomputed for speed).
    lead: int = 0
    total: int = 0
    #: The short reply ("yes", "no", "not_sure") that picks this option, if any.
    reply: Reply | None = None
    #: Words that mean this option when negated: "no developers" → "we'll hire".
    if_negated: tuple[str, ...] = ()
    #: Options that, named together ("python and javascript"), mean this one ("both").
    combines: tuple[str, ...] = ()
    #: The two options this one lies between: one said for now and the other for later
    #: ("small now, big later") means this one ("medium, it will grow").
    between: tuple[str, ...] = ()
    #: ``because`` about someone else, for shared results ("their team knows Python").
    because_they: str = ""
    #: True when this answer gives points by one of the advisor's own reasons (a fit): the mark
    #: "Beyond the article" the data must carry wherever it does.
    beyond_article: bool = False

    @property
    def is_neutral(self) -> bool:
        """True when choosing this option leaves every score as it was."""
        return not any(self.weights.values()) and not self.fits


@dataclass(frozen=True, slots=True, eq=False)
class Question:
    """A question with its options and an optional condition on earlier answers."""

    id: str
    prompt: str
    why: str
    options: tuple[Option, ...]
    ask_if: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: What kinds of typed answers work here, shown when nothing typed fits.
    hint: str = ""
    #: A plain name of a few words, for the list of answers ("Team's language").
    short: str = ""
    _by_id: Mapping[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {o.id: o for o in self.options})

    def option(self, option_id: str | None) -> Option | None:
        """The option with this id, or None."""
        return self._by_id.get(option_id) if option_id is not None else None

    def applies(self, answers: Mapping[str, str]) -> bool:
        """Whether this question is asked, given the earlier answers."""
        if not self.ask_if:
            return True
        return all(answers.get(qid) in allowed for qid, allowed in self.ask_if.items())


Chosen = tuple[Question, Option]


@dataclass(frozen=True, slots=True)
class Scoring:
    """Thresholds that turn scores into a recommendation and a confidence label."""

    base_importance: int
    either_below: float
    close_below: float
    clear_from: float
    importance_levels: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Source:
    """The article the knowledge comes from."""

    title: str
    publisher: str
    conclusion: str


@dataclass(frozen=True, slots=True, eq=False)
class Vocabulary:
    """The words typed answers are read with (data/vocabulary.yaml), all in one language.

    Phrases are as written in the data; the interpreter normalises them like typed text.
    """

    #: command → phrases that, as the whole message, ask for it; ``*`` stands for a few words.
    commands: Mapping[Command, tuple[str, ...]]
    #: reply → phrases meaning it ("yep" → yes, "dunno" → not_sure).
    replies: Mapping[Reply, tuple[str, ...]]
    #: phrase → what it stands for, applied before anything else ("dont" → "do not").
    rewrites: Mapping[str, str]
    #: Words that negate what follows them in the same part of a sentence ("not", "no").
    negations: tuple[str, ...]
    #: Words that, right after a negation, negate what came before ("chat is not needed").
    not_needed: tuple[str, ...]
    #: Words that end one part of a sentence and start another ("but", "though").
    clause_breaks: tuple[str, ...]
    #: Words that offer a choice ("or"): two options named with one are not both meant.
    alternatives: tuple[str, ...]
    #: Words that end a "not sure" and give a guess ("idk, maybe python" → python).
    hedges: tuple[str, ...]
    #: Words that say only how much or whether, meaningless without the question ("a lot").
    vague: tuple[str, ...]
    #: Words left out before matching ("that" in "not that important").
    fillers: tuple[str, ...]
    #: Polite words around a command ("please", "thanks", "can we").
    polite: tuple[str, ...]
    #: Common words that are never taken for a typo of a known word ("like" is not "live").
    known: tuple[str, ...]
    #: Word endings that make no difference to the meaning: "bookings" is read as "booking".
    endings: tuple[str, ...] = ()
    #: Words that open a question back at the bot ("is python better?"): no answer is read
    #: from such a question.
    asking: tuple[str, ...] = ()
    #: Phrases saying any answer will do ("don't care", "whatever"): at the end of a part of a
    #: sentence they pick the question's neutral option, or the option that lists them itself.
    indifferent: tuple[str, ...] = ()
    #: Words that put what is said in their part of a sentence later in time ("big later",
    #: "grow into a big platform"): what is said for now and for later can mean the option
    #: between the two (``between`` in questions.yaml).
    later: tuple[str, ...] = ()
    #: Words that put what is said beside them now, at the start ("small now", "a prototype
    #: first"): what comes in later parts of the sentence is then for later.
    now: tuple[str, ...] = ()
    #: Phrases saying that what is named beside them is the whole product ("that's the
    #: product", "the app is a …"): a feature named so is the core, not a side feature.
    central: tuple[str, ...] = ()
    #: position → phrases naming that one of the two options a "Did you mean A or B?" offers
    #: ("the first one", "the latter"), read only as the whole reply to that question.
    positions: Mapping[Position, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Knowledge:
    """Everything loaded from ``data/``: criteria, questions, scoring rules and texts."""

    source: Source
    criteria: tuple[Criterion, ...]
    questions: tuple[Question, ...]
    scoring: Scoring
    texts: Mapping[str, str]
    vocabulary: Vocabulary
    #: question id → ids of the later questions whose ``ask_if`` depends on it, directly or
    #: through another question, in the order they are asked.
    dependents: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The language these texts, questions and words are in (a code: "en", "es", …).
    language: str = ENGLISH
    #: Texts with plural forms: dotted key → CLDR category ("one", "few", …) → text. The
    #: ``other`` form is in ``texts`` too.
    plurals: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The advisor's own reasons (criteria.yaml, ``own_reasons``), in the order they are shown.
    own_reasons: tuple[OwnReason, ...] = ()
    _criteria: Mapping[str, Criterion] = field(init=False, repr=False)
    _own: Mapping[str, OwnReason] = field(init=False, repr=False)
    _questions: Mapping[str, Question] = field(init=False, repr=False)
    #: Every language loaded, English first: the same knowledge in each (see :meth:`speaking`).
    _languages: Mapping[str, Knowledge] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_criteria", {c.id: c for c in self.criteria})
        object.__setattr__(self, "_questions", {q.id: q for q in self.questions})
        object.__setattr__(self, "_own", {r.id: r for r in self.own_reasons})
        object.__setattr__(self, "_languages", {self.language: self})

    def with_languages(self, translations: Mapping[str, Knowledge]) -> Knowledge:
        """This knowledge knowing its translations (each of them knowing all the others)."""
        every = {self.language: self, **translations}
        for knowledge in every.values():
            object.__setattr__(knowledge, "_languages", every)
        return self

    @property
    def languages(self) -> tuple[str, ...]:
        """The codes of the languages loaded, English first."""
        return tuple(self._languages)

    def speaking(self, language: str | None) -> Knowledge:
        """The same knowledge in another language (English when it is not loaded)."""
        if language == self.language or not language:
            return self if language else self._languages.get(ENGLISH, self)
        return self._languages.get(language) or self._languages.get(ENGLISH, self)

    def language_for(self, code: str | None) -> str:
        """The language to speak with someone whose Telegram (or system) language is ``code``:
        its base language when loaded ("es-419" → "es", "pt_BR" → "pt"), else English."""
        base = (code or "").replace("_", "-").split("-")[0].strip().casefold()
        return base if base in self._languages else ENGLISH

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion with this id."""
        return self._criteria[criterion_id]

    def own_reason(self, reason_id: str) -> OwnReason:
        """The advisor's own reason with this id."""
        return self._own[reason_id]

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        return self._questions.get(question_id)

    def applicable(self, answers: Mapping[str, str]) -> tuple[Question, ...]:
        """The questions this user is asked, given their answers so far."""
        return tuple(q for q in self.questions if q.applies(answers))

    def prune(self, answers: Mapping[str, str]) -> dict[str, str]:
        """The answers that still count: known options of questions that still apply."""
        return self.select(answers)[0]

    def select(self, answers: Mapping[str, str]) -> tuple[dict[str, str], list[Chosen]]:
        """The answers that still count, and each with its question and option, in order."""
        kept: dict[str, str] = {}
        chosen: list[Chosen] = []
        for question in self.questions:
            option_id = answers.get(question.id)
            if option_id is None:
                continue
            option = question._by_id.get(option_id)
            if option is None or (question.ask_if and not question.applies(kept)):
                continue
            kept[question.id] = option_id
            chosen.append((question, option))
        return kept, chosen

    def text(self, key: str, /, **values: object) -> str:
        """The text at a dotted key from ``data/texts.yaml``, filled with values.

        A text with plural forms takes the form ``count`` calls for in this language; numbers
        of 1,000 and more are written the language's way ("12.345", "12 345")."""
        if not values:
            return self.texts[key]
        forms = self.plurals.get(key)
        count = values.get("count")
        if forms is not None and isinstance(count, int | float):
            template = forms.get(plural_category(self.language, count)) or self.texts[key]
        else:
            template = self.texts[key]
        for name in COUNTS.intersection(values):
            value = values[name]
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 1000:
                values[name] = format_decimal(value, locale=self.language)
        return template.format(**values)

    @property
    def option_count(self) -> int:
        """How many options all questions offer together."""
        return sum(len(q.options) for q in self.questions)


@cache
def plural_categories(language: str) -> frozenset[str]:
    """The plural forms a language's texts need (Babel's CLDR rules), ``other`` included."""
    return frozenset(Locale.parse(language).plural_form.tags | {"other"})


def plural_category(language: str, count: float) -> str:
    """Which plural form a number takes in a language: "one", "few", "many" or "other"."""
    return _plural_rule(language)(count)


@cache
def _plural_rule(language: str) -> PluralRuleFn:
    return Locale.parse(language).plural_form


PluralRuleFn = Callable[[float], str]
