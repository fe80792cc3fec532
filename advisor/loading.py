"""Load ``data/*.yaml`` into frozen records, validating everything with precise messages."""

from __future__ import annotations

import dataclasses
import os
import re
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from .errors import DataError
from .model import (
    COMMANDS,
    ENGLISH,
    PLURAL_CATEGORIES,
    POSITIONS,
    REPLIES,
    STACKS,
    VERDICT_SIGN,
    Command,
    Criterion,
    Fit,
    Knowledge,
    Option,
    OwnReason,
    Position,
    Question,
    Reply,
    Scoring,
    Source,
    Stack,
    Verdict,
    Vocabulary,
    plural_categories,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"

MAX_LABEL = 30
MAX_SHORT = 20  # a question's short name: one button, one line of the list of answers
MAX_NAME = 24  # an own reason's name: one line of the chart and the text bars
MAX_GLOSS = 60  # a criterion's gloss, beside its name on the summary's line
MAX_WEIGHT = 3
MAX_FIT = 3
MIN_OPTIONS, MAX_OPTIONS = 2, 5
MAX_ID = 20  # keeps Telegram button data within 64 bytes
ID_CHARS = frozenset(string.ascii_lowercase + string.digits + "_")

#: Texts every front end relies on; a missing one is a data error at start-up, not at run time.
REQUIRED_TEXTS = (
    "stack.django",
    "stack.nodejs",
    "stack.either",
    "stack.tie",
    "confidence.clear",
    "confidence.moderate",
    "confidence.close",
    "importance.high",
    "importance.medium",
    "importance.low",
    *(
        f"result.{key}"
        for key in (
            "title",
            "recommendation",
            "recommendation_either",
            "confidence",
            "ledger_title",
            "ledger_line",
            "ledger_own",
            "ledger_tie",
            "ledger_base",
            "ledger_cause",
            "ledger_joiner",
            "ledger_total",
            "reason_fit",
            "beyond_article",
            "criteria_title",
            "criterion_line",
            "criterion_verdict",
            "criterion_verdict_tie",
            "criterion_mattered",
            "criterion_mattered_because",
            "criterion_points",
            "criterion_points_tie",
            "because_joiner",
            "criterion_quote",
            "own_title",
            "own_line",
            "change_title",
            "change_one",
            "change_two",
            "change_either",
            "change_none",
            "answer_change",
            "answer_new",
            "change_joiner",
            "disclaimer",
        )
    ),
    *(
        f"summary.{key}"
        for key in (
            "verdict",
            "lead.clear",
            "lead.moderate",
            "lead.close",
            "lead.either",
            "points",
            "criteria",
            "criterion",
            "own",
            "own_line",
            "side_points",
            "tie_points",
            "reasons_for",
            "reason_criterion",
            "change_joiner",
        )
    ),
    *(
        f"summary.{voice}.{key}"
        for voice in ("you", "they")
        for key in (
            "intro",
            "reason",
            "no_reasons",
            "change",
            "change_either",
            "change_none",
            "answered",
            "invite",
        )
    ),
    "why.title",
    "why.title_either",
    "why.biggest",
    "why.entry",
    "why.entry_own",
    "why.joiner",
    "hire.django",
    "hire.nodejs",
    "hire.switch.django",
    "hire.switch.nodejs",
    "hire.neither.django",
    "hire.neither.nodejs",
    "hire.either.unknown",
    "details.title",
    "details.stack",
    "details.quote",
    "chart.criteria",
    "chart.own",
    "chart.tie",
)


@dataclass(frozen=True)
class _Node:
    """A value read from YAML together with where it came from, for error messages."""

    file: str
    path: str
    value: Any

    def fail(self, problem: str) -> DataError:
        return DataError(self.file, self.path, problem)

    def child(self, key: str | int) -> _Node:
        path = f"{self.path}[{key}]" if isinstance(key, int) else _join(self.path, key)
        value = self.value[key] if isinstance(key, int) else self.value.get(key)
        return _Node(self.file, path, value)

    def mapping(self) -> Mapping[str, Any]:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected a mapping, got {_kind(self.value)}")
        return cast(Mapping[str, Any], self.value)

    def items(self) -> list[_Node]:
        if not isinstance(self.value, list):
            raise self.fail(f"expected a list, got {_kind(self.value)}")
        return [self.child(i) for i in range(len(self.value))]

    def text(self, key: str, *, optional: bool = False, max_len: int | None = None) -> str:
        self.mapping()
        node = self.child(key)
        if node.value is None:
            if optional:
                return ""
            raise node.fail("missing")
        if not isinstance(node.value, str | int | float) or isinstance(node.value, bool):
            raise node.fail(f"expected text, got {_kind(node.value)}")
        text = " ".join(str(node.value).split())
        if not text:
            raise node.fail("must not be empty")
        if max_len is not None and len(text) > max_len:
            raise node.fail(f"{len(text)} characters, at most {max_len} allowed: {text!r}")
        return text

    def ident(self, key: str = "id") -> str:
        value = self.text(key)
        if len(value) > MAX_ID or not set(value) <= ID_CHARS:
            raise self.child(key).fail(
                f"{value!r} is not a valid id (lowercase letters, digits and _, "
                f"at most {MAX_ID} characters)"
            )
        return value

    def number(self, key: str, *, low: float, high: float, whole: bool = False) -> float:
        node = self.child(key)
        value = node.value
        kinds = (int,) if whole else (int, float)
        if value is None:
            raise node.fail("missing")
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise node.fail(f"expected a {'whole ' if whole else ''}number, got {_kind(value)}")
        if not low <= value <= high:
            raise node.fail(f"{value} is out of range ({low:g} to {high:g})")
        return float(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    return {type(None): "nothing", dict: "a mapping", list: "a list", str: "text"}.get(
        type(value), type(value).__name__
    )


def _read_yaml(data_dir: Path, name: str) -> _Node:
    path = data_dir / name
    shown = _display(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(shown, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(shown, "", f"cannot be read ({exc})") from None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataError(shown, "", f"invalid YAML: {where}{problem}") from None
    node = _Node(shown, "", value)
    node.mapping()
    return node


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def _word(node: _Node) -> str:
    if isinstance(node.value, bool):
        raise node.fail("expected text, got true/false (put yes, no, on and off in quotes)")
    if not isinstance(node.value, str | int) or not str(node.value).strip():
        raise node.fail(f"expected text, got {_kind(node.value)}")
    return str(node.value)


def _words(
    node: _Node, *, wildcard: bool = False, fillers: Collection[str] = (), slot: bool = False
) -> tuple[str, ...]:
    """A list of phrases, each with at least one word (``*`` stands for words in commands)
    that is not a filler (a phrase of fillers only would never match anything). With ``slot``,
    each phrase has one ``*``, anywhere: where what it speaks of goes ("* is the product")."""
    phrases = []
    for item in node.items():
        phrase = _word(item)
        words = _phrase_words(phrase)
        if slot and words.count("*") != 1:
            raise item.fail(f"{phrase!r}: one '*' where what it speaks of goes")
        if "*" in words and not (wildcard or slot):
            raise item.fail(f"{phrase!r}: '*' works only in commands")
        if not [w for w in words if w != "*"]:
            raise item.fail(f"{phrase!r} has no words")
        if not slot and (words.count("*") > 1 or words[:1] == ["*"]):
            raise item.fail(f"{phrase!r}: one '*' at most, after a word")
        if all(w in fillers or w == "*" for w in words):
            raise item.fail(
                f"{phrase!r} has only filler words (vocabulary.yaml, fillers), "
                "so it would never match"
            )
        phrases.append(phrase)
    if not phrases:
        raise node.fail("no words")
    return tuple(phrases)


def _single_words(phrases: Iterable[str]) -> set[str]:
    """The phrases that are one word ("kind of" is no filler of "kind")."""
    return {words[0] for words in map(_phrase_words, phrases) if len(words) == 1}


def _phrase_words(phrase: str) -> list[str]:
    return [w for w in _NOT_WORD.sub(" ", phrase.casefold()).split() if w]


_NOT_WORD = re.compile(r"[^\w*]+|_")


def _unique(nodes: Iterable[_Node], what: str) -> list[tuple[_Node, str]]:
    seen: set[str] = set()
    result = []
    for node in nodes:
        ident = node.ident()
        if ident in seen:
            raise node.child("id").fail(f"duplicate {what} id {ident!r}")
        seen.add(ident)
        result.append((node, ident))
    return result


def _criterion(node: _Node, ident: str) -> Criterion:
    _no_unknown_keys(
        node, ("id", "title", "gloss", "verdict", "summary", "stacks", "favours", "quote"), "field"
    )
    verdict = node.text("verdict")
    if verdict not in VERDICT_SIGN:
        raise node.child("verdict").fail(
            f"unknown verdict {verdict!r} (known: {', '.join(VERDICT_SIGN)})"
        )
    stacks_node = node.child("stacks")
    stacks_node.mapping()
    _no_unknown_keys(stacks_node, STACKS, "stack")
    return Criterion(
        id=ident,
        title=node.text("title"),
        verdict=cast(Verdict, verdict),
        summary=node.text("summary"),
        stacks={stack: stacks_node.text(stack) for stack in STACKS},
        favours=node.text("favours"),
        quote=node.text("quote"),
        gloss=node.text("gloss", max_len=MAX_GLOSS),
    )


def _own_reasons(root: _Node) -> tuple[OwnReason, ...]:
    """The advisor's own reasons (``own_reasons`` in criteria.yaml)."""
    node = root.child("own_reasons")
    if node.value is None:
        return ()
    reasons = []
    for one, ident in _unique(node.items(), "own reason"):
        _no_unknown_keys(one, ("id", "name", "summary"), "field")
        reasons.append(OwnReason(ident, one.text("name", max_len=MAX_NAME), one.text("summary")))
    return tuple(reasons)


def _names(root: _Node) -> frozenset[str]:
    """The names that stay as they are in every language (``names`` in criteria.yaml)."""
    node = root.child("names")
    if node.value is None:
        return frozenset()
    return frozenset(_word(item) for item in node.items())


def _no_unknown_keys(node: _Node, known: Iterable[str], what: str) -> None:
    known = tuple(known)
    for key in node.mapping():
        if key not in known:
            raise node.child(str(key)).fail(f"unknown {what} {key!r} (known: {', '.join(known)})")


def _option(
    node: _Node,
    ident: str,
    criteria: Mapping[str, Criterion],
    fillers: Collection[str],
    own: Mapping[str, OwnReason],
) -> Option:
    weights: dict[str, int] = {}
    weights_node = node.child("weights")
    if weights_node.value is not None:
        _no_unknown_keys(weights_node, criteria, "criterion")
        for cid in weights_node.mapping():
            weights[cid] = int(weights_node.number(cid, low=0, high=MAX_WEIGHT, whole=True))
    fits: list[Fit] = []
    fit_node = node.child("fit")
    if fit_node.value is not None:
        _no_unknown_keys(fit_node, STACKS, "stack")
        for stack in fit_node.mapping():
            one = fit_node.child(stack)
            one.mapping()
            _no_unknown_keys(one, ("points", "reason", "rule"), "field")
            points = int(one.number("points", low=1, high=MAX_FIT, whole=True))
            rule = one.text("rule", optional=True)
            if not rule:
                raise one.child("rule").fail(
                    "missing: points given outside the article's six criteria are one of the "
                    "advisor's own reasons; name it (known: "
                    f"{', '.join(own) or 'none: declare own_reasons in criteria.yaml'})"
                )
            if rule not in own:
                raise one.child("rule").fail(
                    f"unknown own reason {rule!r} (known: {', '.join(own) or 'none'})"
                )
            fits.append(Fit(cast(Stack, stack), points, one.text("reason"), rule))
    synonyms_node = node.child("synonyms")
    synonyms: tuple[str, ...] = ()
    if synonyms_node.value is not None:
        synonyms = _words(synonyms_node, fillers=fillers)
    lead = sum(w * criteria[cid].sign for cid, w in weights.items())
    lead += sum(f.points if f.stack == "django" else -f.points for f in fits)
    # The points a side gets: a tied criterion's weight goes to neither, so it is no part of them.
    total = sum(w for cid, w in weights.items() if criteria[cid].sign) + sum(f.points for f in fits)
    neutral = not fits and not any(weights.values())
    because = node.text("because", optional=neutral)
    because_they = node.text("because_they", optional=not because)
    beyond = node.child("beyond_article").value
    if beyond is not None and not isinstance(beyond, bool):
        raise node.child("beyond_article").fail(f"expected true or false, got {_kind(beyond)}")
    if fits and beyond is not True:
        raise node.child("beyond_article").fail(
            "missing the mark: this answer gives points by one of the advisor's own reasons "
            "(fit), so it must say beyond_article: true"
        )
    if beyond and not fits:
        raise node.child("beyond_article").fail(
            "this answer gives no points beyond the article (no fit), so it is not beyond it"
        )
    reply = node.text("reply", optional=True)
    if reply and reply not in REPLIES:
        raise node.child("reply").fail(f"unknown reply {reply!r} (known: {', '.join(REPLIES)})")
    if_negated_node = node.child("if_negated")
    if_negated: tuple[str, ...] = ()
    if if_negated_node.value is not None:
        if_negated = _words(if_negated_node, fillers=fillers)
    combines_node = node.child("combines")
    combines: tuple[str, ...] = ()
    if combines_node.value is not None:
        combines = tuple(_word(item) for item in combines_node.items())
    between_node = node.child("between")
    between: tuple[str, ...] = ()
    if between_node.value is not None:
        between = tuple(_word(item) for item in between_node.items())
        if len(between) != 2:
            raise between_node.fail(f"{len(between)} options: between names 2, for now and later")
    return Option(
        id=ident,
        label=node.text("label", max_len=MAX_LABEL),
        synonyms=synonyms,
        because=because,
        weights=weights,
        fits=tuple(fits),
        lead=lead,
        total=total,
        reply=reply if reply else None,
        if_negated=if_negated,
        combines=combines,
        between=between,
        because_they=because_they,
        beyond_article=bool(beyond),
    )


def _question(
    node: _Node,
    ident: str,
    criteria: Mapping[str, Criterion],
    fillers: Collection[str],
    own: Mapping[str, OwnReason],
) -> Question:
    options_node = node.child("options")
    nodes = options_node.items()
    if not MIN_OPTIONS <= len(nodes) <= MAX_OPTIONS:
        raise options_node.fail(
            f"{len(nodes)} options, a question needs {MIN_OPTIONS} to {MAX_OPTIONS}"
        )
    options = tuple(_option(n, oid, criteria, fillers, own) for n, oid in _unique(nodes, "option"))
    labels = [o.label.casefold() for o in options]
    for index, label in enumerate(labels):
        if labels.index(label) != index:
            raise (
                options_node.child(index)
                .child("label")
                .fail(f"duplicate label {options[index].label!r}")
            )
    if not any(o.is_neutral for o in options):
        raise options_node.fail(
            "no neutral option: every question needs a 'not sure' answer with no weights or fit"
        )
    if not any(o.reply == "not_sure" for o in options):
        raise options_node.fail(
            "no option has reply: not_sure, so “dunno” would pick nothing; "
            "give it to the neutral option"
        )
    ids = [o.id for o in options]
    for index, option in enumerate(options):
        for key, others in (("combines", option.combines), ("between", option.between)):
            for position, oid in enumerate(others):
                if oid in ids and oid != option.id:
                    continue
                raise (
                    options_node.child(index)
                    .child(key)
                    .child(position)
                    .fail(
                        f"{oid!r} is not another option of question {ident!r} "
                        f"(known: {', '.join(i for i in ids if i != option.id)})"
                    )
                )
    return Question(
        id=ident,
        prompt=node.text("prompt"),
        why=node.text("why"),
        options=options,
        hint=node.text("hint"),
        short=node.text("short", optional=True, max_len=MAX_SHORT) or ident.capitalize(),
    )


def _conditions(node: _Node, question: Question, earlier: Mapping[str, Question]) -> Question:
    cond_node = node.child("ask_if")
    if cond_node.value is None:
        return question
    ask_if: dict[str, frozenset[str]] = {}
    for qid in cond_node.mapping():
        target = earlier.get(qid)
        one = cond_node.child(str(qid))
        if target is None:
            raise one.fail(f"condition on {qid!r}, which is not an earlier question")
        allowed = [str(item.value) for item in one.items()]
        for index, oid in enumerate(allowed):
            if target.option(oid) is None:
                raise one.child(index).fail(
                    f"unknown option {oid!r} of question {qid!r} "
                    f"(known: {', '.join(o.id for o in target.options)})"
                )
        ask_if[qid] = frozenset(allowed)
    return dataclasses.replace(question, ask_if=ask_if)


def _scoring(node: _Node) -> Scoring:
    node.mapping()
    levels_node = node.child("importance_levels")
    levels = tuple(
        (str(key), int(levels_node.number(key, low=1, high=100, whole=True)))
        for key in levels_node.mapping()
    )
    scoring = Scoring(
        base_importance=int(node.number("base_importance", low=0, high=10, whole=True)),
        either_below=node.number("either_below", low=0, high=1),
        close_below=node.number("close_below", low=0, high=1),
        clear_from=node.number("clear_from", low=0, high=1),
        importance_levels=tuple(sorted(levels, key=lambda kv: -kv[1])),
    )
    if not scoring.either_below <= scoring.close_below <= scoring.clear_from:
        raise node.fail("thresholds must satisfy either_below ≤ close_below ≤ clear_from")
    return scoring


#: Every placeholder the code fills in; any other name in a text is a typo.
PLACEHOLDERS = frozenset(
    (
        "answer",
        "translation",
        "answers",
        "because",
        "candidates",
        "change",
        "channel",
        "chat",
        "conclusion",
        "confidence",
        "contact",
        "count",
        "criteria",
        "days",
        "delivered",
        "destination",
        "django",
        "django_points",
        "favours",
        "finished",
        "first",
        "gloss",
        "hint",
        "label",
        "leads",
        "level",
        "minutes",
        "name",
        "new",
        "nodejs",
        "nodejs_points",
        "number",
        "old",
        "outcome",
        "points",
        "problem",
        "publisher",
        "question",
        "quote",
        "rate",
        "second",
        "reason",
        "recommendation",
        "rules",
        "shared",
        "source",
        "split",
        "stack",
        "started",
        "step",
        "steps",
        "title",
        "url",
        "when",
        "winner",
    )
)


def _check_placeholders(node: _Node, text: str, problems: list[DataError] | None = None) -> None:
    """Raise on a broken or unknown placeholder (or, given ``problems``, add it there)."""
    try:
        _check_known_placeholders(node, text)
    except DataError as exc:
        if problems is None:
            raise
        problems.append(exc)


def _check_known_placeholders(node: _Node, text: str) -> None:
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise node.fail(
            f"broken placeholder ({exc}); write {{{{ and }}}} for literal braces"
        ) from None
    for field in fields:
        if field not in PLACEHOLDERS:
            raise node.fail(
                f"unknown placeholder {{{field}}} (known: {', '.join(sorted(PLACEHOLDERS))})"
            )


def _flatten(
    node: _Node,
    prefix: str = "",
    plurals: dict[str, dict[str, str]] | None = None,
    problems: list[DataError] | None = None,
) -> dict[str, str]:
    """Texts by dotted key. A mapping of plural categories ("one", "other", …) is one text with
    plural forms: its forms go to ``plurals`` and its ``other`` form to the result."""
    flat: dict[str, str] = {}
    for key, value in node.mapping().items():
        child = node.child(str(key))
        dotted = _join(prefix, str(key))
        if isinstance(value, dict) and _is_plural(value):
            forms = {str(k): _plural_form(child.child(str(k)), problems) for k in value}
            if "other" not in forms:
                raise child.fail("plural forms need an 'other' form")
            if plurals is not None:
                plurals[dotted] = forms
            flat[dotted] = forms["other"]
        elif isinstance(value, dict):
            flat.update(_flatten(child, dotted, plurals, problems))
        elif isinstance(value, str):
            _check_placeholders(child, value, problems)
            flat[dotted] = value.strip("\n")
        else:
            raise child.fail(f"expected text or a mapping, got {_kind(value)}")
    return flat


def _is_plural(value: Mapping[Any, Any]) -> bool:
    return bool(value) and all(key in PLURAL_CATEGORIES for key in value)


def _plural_form(node: _Node, problems: list[DataError] | None = None) -> str:
    if not isinstance(node.value, str):
        raise node.fail(f"expected text, got {_kind(node.value)}")
    _check_placeholders(node, node.value, problems)
    return node.value.strip("\n")


def check_plurals(
    file: str, language: str, plurals: Mapping[str, Mapping[str, str]]
) -> list[DataError]:
    """Problems with plural forms: each text has exactly the forms its language needs."""
    problems = []
    needed = plural_categories(language)
    for key, forms in plurals.items():
        missing = sorted(needed - set(forms), key=PLURAL_CATEGORIES.index)
        extra = sorted(set(forms) - needed, key=PLURAL_CATEGORIES.index)
        if missing:
            problems.append(
                DataError(
                    file,
                    key,
                    f"missing plural form {', '.join(missing)} "
                    f"({language} needs {', '.join(sorted(needed, key=PLURAL_CATEGORIES.index))})",
                )
            )
        if extra:
            problems.append(
                DataError(file, key, f"{language} has no plural form {', '.join(extra)}")
            )
        if "count" not in placeholders(forms["other"]):
            problems.append(DataError(file, key, "a text with plural forms needs {count}"))
    return problems


def unmarked_whys(questions: Iterable[Question], texts: Mapping[str, str]) -> list[Question]:
    """The questions whose answers give points beyond the article (a fit) but whose ``why``
    does not say so with the mark (``result.beyond_article`` before its ``{reason}``)."""
    mark = beyond_mark(texts)
    return [
        q
        for q in questions
        if any(o.fits for o in q.options) and mark.casefold() not in q.why.casefold()
    ]


def beyond_mark(texts: Mapping[str, str]) -> str:
    """The words that mark a reason as not the article's: "Beyond the article"."""
    return texts["result.beyond_article"].split("{reason}")[0].strip(" :—-–")


def placeholders(text: str) -> frozenset[str]:
    """The {placeholders} of a text."""
    return frozenset(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)


def read_texts(
    data_dir: Path, required: Iterable[str] = (), language: str = ENGLISH
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """``texts.yaml``: its texts by dotted key, and the plural forms of those that have them."""
    node = _read_yaml(data_dir, "texts.yaml")
    plurals: dict[str, dict[str, str]] = {}
    texts = _flatten(node, plurals=plurals)
    for key in (*REQUIRED_TEXTS, *required):
        if key not in texts:
            raise DataError(node.file, key, "missing text")
    problems = check_plurals(node.file, language, plurals)
    if problems:
        raise problems[0]
    return texts, plurals


VOCABULARY_LISTS = (
    "negations",
    "not_needed",
    "clause_breaks",
    "alternatives",
    "hedges",
    "vague",
    "fillers",
    "polite",
    "known",
    "endings",
    "asking",
    "indifferent",
    "later",
    "now",
    "central",
)


#: Lists whose words are read as they are, fillers included.
UNFILTERED = ("fillers", "polite", "known", "endings", "asking")
#: Lists whose phrases have a ``*`` where what they speak of goes ("* is the product").
SLOTTED = ("central",)


def load_vocabulary(data_dir: Path) -> Vocabulary:
    """Read ``vocabulary.yaml``: the words typed answers and commands are read with."""
    root = _read_yaml(data_dir, "vocabulary.yaml")
    fillers_node = root.child("fillers")
    if fillers_node.value is None:
        raise fillers_node.fail("missing")
    fillers = _single_words(_words(fillers_node))
    sections = ("commands", "replies", "rewrites", "positions", *VOCABULARY_LISTS)
    _no_unknown_keys(root, sections, "section")
    commands_node = root.child("commands")
    commands_node.mapping()
    _no_unknown_keys(commands_node, COMMANDS, "command")
    commands: dict[Command, tuple[str, ...]] = {}
    for command in COMMANDS:
        one = commands_node.child(command)
        if one.value is None:
            raise one.fail("missing")
        commands[command] = _words(one, wildcard=True, fillers=fillers)
    replies_node = root.child("replies")
    replies_node.mapping()
    _no_unknown_keys(replies_node, REPLIES, "reply")
    replies: dict[Reply, tuple[str, ...]] = {}
    for reply in REPLIES:
        one = replies_node.child(reply)
        if one.value is None:
            raise one.fail("missing")
        replies[reply] = _words(one, fillers=fillers)
    rewrites_node = root.child("rewrites")
    rewrites: dict[str, str] = {}
    for key in rewrites_node.mapping():
        one = rewrites_node.child(str(key))
        if not isinstance(key, str):
            raise one.fail("expected text, got true/false (put yes, no, on and off in quotes)")
        if not _phrase_words(key):
            raise one.fail(f"{key!r} has no words")
        rewrites[key] = _word(one)
        if not _phrase_words(rewrites[key]):
            raise one.fail(f"{rewrites[key]!r} has no words")
    lists: dict[str, tuple[str, ...]] = {}
    for name in VOCABULARY_LISTS:
        one = root.child(name)
        if one.value is None:
            raise one.fail("missing")
        filtered = () if name in UNFILTERED else fillers
        lists[name] = _words(one, fillers=filtered, slot=name in SLOTTED)
    positions_node = root.child("positions")
    if positions_node.value is None:
        raise positions_node.fail("missing")
    positions_node.mapping()
    _no_unknown_keys(positions_node, POSITIONS, "position")
    positions: dict[Position, tuple[str, ...]] = {}
    for position in POSITIONS:
        one = positions_node.child(position)
        if one.value is None:
            raise one.fail("missing")
        positions[position] = _words(one, fillers=fillers)
    return Vocabulary(
        commands=commands, replies=replies, rewrites=rewrites, positions=positions, **lists
    )


def load_english(
    data_dir: Path | None = None, *, required_texts: Iterable[str] = ()
) -> tuple[Knowledge, frozenset[str]]:
    """Load and validate the English data files; raise :class:`DataError` on the first problem.
    Also return the names that stay as they are in every language (for the translations)."""
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    crit_root = _read_yaml(data_dir, "criteria.yaml")
    source_node = crit_root.child("source")
    source_node.mapping()
    source = Source(
        title=source_node.text("title"),
        publisher=source_node.text("publisher"),
        conclusion=source_node.text("conclusion"),
    )
    crit_nodes = crit_root.child("criteria").items()
    if not crit_nodes:
        raise crit_root.child("criteria").fail("no criteria")
    criteria = tuple(_criterion(n, cid) for n, cid in _unique(crit_nodes, "criterion"))
    by_id = {c.id: c for c in criteria}
    own_reasons = _own_reasons(crit_root)
    own = {r.id: r for r in own_reasons}
    clash = sorted(own.keys() & by_id.keys())
    if clash:
        raise crit_root.child("own_reasons").fail(
            f"{clash[0]!r} is already a criterion's id; an own reason needs an id of its own"
        )
    scoring = _scoring(crit_root.child("scoring"))

    vocabulary = load_vocabulary(data_dir)
    fillers = _single_words(vocabulary.fillers)
    q_root = _read_yaml(data_dir, "questions.yaml")
    q_nodes = q_root.child("questions").items()
    if not q_nodes:
        raise q_root.child("questions").fail("no questions")
    questions: dict[str, Question] = {}
    for node, qid in _unique(q_nodes, "question"):
        questions[qid] = _conditions(node, _question(node, qid, by_id, fillers, own), questions)
    used = {f.rule for q in questions.values() for o in q.options for f in o.fits}
    for reason in own_reasons:
        if reason.id not in used:
            raise DataError(
                crit_root.file,
                f"own_reasons.{reason.id}",
                "no answer gives points by this reason; remove it or name it in a fit's rule",
            )
    dependents: dict[str, tuple[str, ...]] = {}
    for qid in reversed(questions):  # later questions first, so their closure is known
        direct = {q.id for q in questions.values() if qid in q.ask_if}
        closure = direct.union(*(dependents.get(d, ()) for d in direct))
        dependents[qid] = tuple(q for q in questions if q in closure)
    texts, plurals = read_texts(data_dir, required_texts)
    for question in unmarked_whys(questions.values(), texts):
        index = list(questions).index(question.id)
        raise DataError(
            q_root.file,
            f"questions[{index}].why",
            "its answers give points beyond the article, so its why must say so with the mark "
            f"“{beyond_mark(texts)}” (texts.yaml, result.beyond_article)",
        )
    english = Knowledge(
        source=source,
        criteria=criteria,
        questions=tuple(questions.values()),
        scoring=scoring,
        texts=texts,
        vocabulary=vocabulary,
        dependents={qid: deps for qid, deps in dependents.items() if deps},
        plurals=plurals,
        own_reasons=own_reasons,
    )
    return english, _names(crit_root)
