"""Turn a user's answers into a recommendation with its explanation. Pure and deterministic.

The model is deliberately simple so that every number can be explained, and every number is
one entry of the result's ledger (:class:`Entry`), which every view reads:

* each of the article's criteria has an *importance*: ``base_importance`` plus the weights of
  the answers the article links to it; it gives that many points to the stack the article
  names the winner (none for a tie: it only shows how much it mattered);
* some answers also give a stack points by one of the advisor's own reasons (a *fit*, e.g.
  "your team knows Python"): an entry of its own, always shown as "Beyond the article";
* Django's *lead* is the sum of points for Django minus the points for Node.js, and the
  *margin* is the lead divided by the points both sides got, so it lies between -1 and 1:
  the result follows from nothing but the points shown.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .model import (
    STACKS,
    Chosen,
    Criterion,
    Fit,
    Knowledge,
    Option,
    OwnReason,
    Question,
    Stack,
)

Choice = Literal["django", "nodejs", "either"]
Confidence = Literal["clear", "moderate", "close"]
#: How sure, from least to most: what-if tells "surer" from "less sure" by it.
CONFIDENCES: tuple[Confidence, ...] = ("close", "moderate", "clear")
STACK_SIGN: dict[str, int] = {"django": 1, "nodejs": -1}


@dataclass(frozen=True, slots=True)
class Cause:
    """An answer that gave points to a ledger entry: its question, its option and how many."""

    question: Question
    option: Option
    points: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the ledger: the points one source gives one side, and what caused them.

    The source is one of the article's six criteria (its points go to the stack the article
    names the winner; for a tie, ``side`` is None and they go to neither), or one of the
    advisor's own reasons (always shown as "Beyond the article"). A criterion's points are
    ``base`` (the article alone counts every criterion a little) plus its causes' points.
    """

    source: Criterion | OwnReason
    side: Stack | None
    points: int
    causes: tuple[Cause, ...]
    base: int = 0
    #: How much the criterion mattered to this user ("high", "medium", "low"); "" for an own
    #: reason.
    level: str = ""

    @property
    def beyond_article(self) -> bool:
        """Whether these points come from the advisor's own reason, not from the article."""
        return isinstance(self.source, OwnReason)

    @property
    def criterion(self) -> Criterion:
        """The criterion of an article entry (see :attr:`beyond_article`)."""
        assert isinstance(self.source, Criterion)
        return self.source

    @property
    def title(self) -> str:
        """The name shown for this entry: the article's name of the criterion, or the plain name
        of the advisor's own reason."""
        return self.source.name if isinstance(self.source, OwnReason) else self.source.title

    @property
    def signed(self) -> int:
        """The points towards Django (negative: towards Node.js; 0 for a tie)."""
        return 0 if self.side is None else self.points * STACK_SIGN[self.side]


@dataclass(frozen=True, slots=True)
class Reason:
    """One answer's part of one ledger entry, told in the user's own terms."""

    entry: Entry
    points: int
    option: Option

    @property
    def stack(self) -> Stack:
        assert self.entry.side is not None, "a tie gives no reasons to either side"
        return self.entry.side

    @property
    def beyond_article(self) -> bool:
        return self.entry.beyond_article

    @property
    def criterion(self) -> Criterion | None:
        return None if self.entry.beyond_article else self.entry.criterion

    @property
    def fit(self) -> Fit | None:
        """The advisor's own nudge this reason is, if it is one."""
        if not self.entry.beyond_article:
            return None
        return next(f for f in self.option.fits if f.rule == self.entry.source.id)


@dataclass(frozen=True, slots=True)
class AnswerChange:
    """One answer changed: from ``old`` (None when unanswered) to ``new``."""

    question: Question
    old: Option | None
    new: Option


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The smallest change to the answers that would change the recommendation."""

    changes: tuple[AnswerChange, ...]
    choice: Choice


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The full result: the choice, how sure we are, and the ledger of every point behind it.

    Every view (summary, chart, details, report, what-if, share card, lead) reads the ledger;
    ``lead`` and ``total`` are its sums (a property test holds them to that).
    """

    choice: Choice
    lead: int
    total: int
    margin: float
    confidence: Confidence
    #: Every point given: the six criteria in the article's order, then each of the advisor's
    #: own reasons that gave points, in the order of ``own_reasons``.
    ledger: tuple[Entry, ...]
    #: None when no change of one or two answers would change the recommendation.
    what_if: WhatIf | None
    answers: Mapping[str, str]

    @property
    def criteria(self) -> tuple[Entry, ...]:
        """The entries of the article's six criteria, in its order."""
        return tuple(e for e in self.ledger if not e.beyond_article)

    @property
    def own(self) -> tuple[Entry, ...]:
        """The entries of the advisor's own reasons that gave points."""
        return tuple(e for e in self.ledger if e.beyond_article)

    def points(self, stack: Stack) -> int:
        """All the points the ledger gives one stack."""
        return sum(e.points for e in self.ledger if e.side == stack)

    def entry(self, source_id: str) -> Entry | None:
        """The ledger's entry for a criterion or an own reason, by id (None: no points)."""
        return next((e for e in self.ledger if e.source.id == source_id), None)


def choose(lead: int, total: int, knowledge: Knowledge) -> tuple[Choice, float]:
    """The choice and the margin for a given lead and total."""
    margin = lead / total if total else 0.0
    if abs(margin) < knowledge.scoring.either_below:
        return "either", margin
    return ("django" if margin > 0 else "nodejs"), margin


def confidence_of(margin: float, knowledge: Knowledge) -> Confidence:
    """The confidence label for a margin."""
    size = abs(margin)
    if size >= knowledge.scoring.clear_from:
        return "clear"
    if size >= knowledge.scoring.close_below:
        return "moderate"
    return "close"


def totals(knowledge: Knowledge, answers: Mapping[str, str]) -> tuple[int, int]:
    """Django's lead and the total points for a set of answers."""
    return _totals(knowledge, knowledge.select(answers)[1])


def _totals(knowledge: Knowledge, chosen: list[Chosen]) -> tuple[int, int]:
    base = knowledge.scoring.base_importance
    lead = base * sum(c.sign for c in knowledge.criteria)
    total = base * sum(1 for c in knowledge.criteria if c.sign)
    for _question, option in chosen:
        lead += option.lead
        total += option.total
    return lead, total


def recommend(knowledge: Knowledge, answers: Mapping[str, str]) -> Recommendation:
    """Score the answers (unknown or inapplicable ones are ignored) and explain the result."""
    answers, chosen = knowledge.select(answers)
    ledger = ledger_of(knowledge, chosen)
    lead = sum(e.signed for e in ledger)
    total = sum(e.points for e in ledger if e.side is not None)
    choice, margin = choose(lead, total, knowledge)
    return Recommendation(
        choice=choice,
        lead=lead,
        total=total,
        margin=margin,
        confidence=confidence_of(margin, knowledge),
        ledger=ledger,
        what_if=_what_would_change(knowledge, answers, chosen, choice, lead, total),
        answers=answers,
    )


def ledger_of(knowledge: Knowledge, chosen: list[Chosen]) -> tuple[Entry, ...]:
    """Every point the chosen answers and the article give: one entry per criterion, then one
    per own reason and side that got points."""
    raised: dict[str, list[Cause]] = {c.id: [] for c in knowledge.criteria}
    nudged: dict[tuple[str, Stack], list[Cause]] = {}
    for question, option in chosen:
        for cid, weight in option.weights.items():
            if weight:
                raised[cid].append(Cause(question, option, weight))
        for fit in option.fits:
            nudged.setdefault((fit.rule, fit.stack), []).append(Cause(question, option, fit.points))
    base = knowledge.scoring.base_importance
    levels = knowledge.scoring.importance_levels
    entries: list[Entry] = []
    for criterion in knowledge.criteria:
        causes = tuple(raised[criterion.id])
        points = base + sum(c.points for c in causes)
        level = next((name for name, least in levels if points >= least), "low")
        side = None if criterion.verdict == "tie" else criterion.winner
        entries.append(Entry(criterion, side, points, causes, base, level))
    for reason in knowledge.own_reasons:
        for stack in STACKS:
            causes = tuple(nudged.get((reason.id, stack), ()))
            if causes:
                entries.append(Entry(reason, stack, sum(c.points for c in causes), causes))
    return tuple(entries)


def reasons_of(rec: Recommendation, stack: Stack) -> tuple[Reason, ...]:
    """Every answer's part of the entries for one stack, strongest first (among equals, the
    earlier entry): the answers behind that side's points."""
    found = [
        Reason(entry, cause.points, cause.option)
        for entry in rec.ledger
        if entry.side == stack
        for cause in entry.causes
    ]
    return tuple(sorted(found, key=lambda r: -r.points))


def reasons_by_side(rec: Recommendation, per_side: int = 2) -> dict[Stack, tuple[Reason, ...]]:
    """The strongest reasons the answers give each stack, at most ``per_side`` each and at most
    one per answer. A side no answer speaks for gets no entry."""
    sides: dict[Stack, tuple[Reason, ...]] = {}
    for stack in STACKS:
        picked: list[Reason] = []
        for reason in reasons_of(rec, stack):
            if all(p.option is not reason.option for p in picked):
                picked.append(reason)
        if picked:
            sides[stack] = tuple(picked[:per_side])
    return sides


def strongest(rec: Recommendation, stack: Stack, count: int = 3) -> tuple[Entry, ...]:
    """The ledger's biggest entries for one stack, biggest first (among equals, in order)."""
    mine = [e for e in rec.ledger if e.side == stack]
    return tuple(sorted(mine, key=lambda e: -e.points)[:count])


def settled_choice(
    knowledge: Knowledge, answers: Mapping[str, str], remaining: Iterable[str] | None = None
) -> Choice | None:
    """The choice every way of answering the ``remaining`` questions leads to, or None.

    ``remaining`` are the ids of the questions still to ask (by default every question not
    answered yet); the other answers stay as they are. The bound is exact: the scores add up
    answer by answer, so the reachable (lead, total) pairs are built question by question and
    each is judged with :func:`choose`. Only the answers later conditions ask about are carried
    along, so the set stays small (a few hundred pairs with today's data).
    """
    open_ids = (
        frozenset(remaining)
        if remaining is not None
        else frozenset(q.id for q in knowledge.questions if q.id not in answers)
    )
    asked_about = _condition_ids(knowledge)
    base = knowledge.scoring.base_importance
    sided = sum(1 for c in knowledge.criteria if c.sign)
    start = (base * sum(c.sign for c in knowledge.criteria), base * sided, ())
    states: set[tuple[int, int, tuple[tuple[str, str], ...]]] = {start}
    for question in knowledge.questions:
        if question.id in open_ids:
            options: tuple[Option | None, ...] = question.options
        else:
            options = (question.option(answers.get(question.id)),)
        if options == (None,):
            continue
        following: set[tuple[int, int, tuple[tuple[str, str], ...]]] = set()
        for lead, total, given in states:
            if question.ask_if and not question.applies(dict(given)):
                following.add((lead, total, given))
                continue
            for option in options:
                assert option is not None
                kept = (*given, (question.id, option.id)) if question.id in asked_about else given
                following.add((lead + option.lead, total + option.total, kept))
        states = following
    choices = {choose(lead, total, knowledge)[0] for lead, total, _ in states}
    return choices.pop() if len(choices) == 1 else None


@functools.lru_cache(maxsize=16)
def _condition_ids(knowledge: Knowledge) -> frozenset[str]:
    """The questions whose answers some ``ask_if`` looks at."""
    return frozenset(qid for q in knowledge.questions for qid in q.ask_if)


def what_would_change(knowledge: Knowledge, answers: Mapping[str, str]) -> WhatIf | None:
    """The smallest change of answers (one where possible, else two) that changes the choice.

    Among single changes, one that reaches the other stack beats one that only reaches
    "either"; then the most decisive; then the earliest question. Pairs are found greedily on
    the linear form of the decision, which is exact when the two answers are independent, and
    every candidate is checked by scoring it for real.
    """
    answers, chosen = knowledge.select(answers)
    lead, total = _totals(knowledge, chosen)
    choice = choose(lead, total, knowledge)[0]
    return _what_would_change(knowledge, answers, chosen, choice, lead, total)


def _what_would_change(
    knowledge: Knowledge,
    answers: dict[str, str],
    chosen: list[Chosen],
    choice: Choice,
    lead: int,
    total: int,
) -> WhatIf | None:
    best: tuple[tuple[int, float, int], WhatIf] | None = None
    picked = {question.id: option for question, option in chosen}
    for rank, question in enumerate(knowledge.applicable(answers)):
        old = picked.get(question.id)
        rest_lead = lead - (old.lead if old else 0)
        rest_total = total - (old.total if old else 0)
        dependents = knowledge.dependents.get(question.id, ())
        for option in question.options:
            if option is old:
                continue
            new_lead, new_total = rest_lead + option.lead, rest_total + option.total
            if dependents:
                lost_lead, lost_total = _unasked(knowledge, answers, question, option, picked)
                new_lead, new_total = new_lead - lost_lead, new_total - lost_total
            new_choice, new_margin = choose(new_lead, new_total, knowledge)
            if new_choice == choice:
                continue
            key = (int(new_choice == "either"), -abs(new_margin), rank)
            if best is None or key < best[0]:
                best = key, WhatIf((AnswerChange(question, old, option),), new_choice)
    if best is not None:
        return best[1]
    return _pair_change(knowledge, answers, picked, choice)


def _unasked(
    knowledge: Knowledge,
    answers: Mapping[str, str],
    question: Question,
    option: Option,
    picked: Mapping[str, Option],
) -> tuple[int, int]:
    """Lead and total of the answers that stop counting when ``question`` gets ``option``."""
    changed = {**answers, question.id: option.id}
    lost_lead = lost_total = 0
    for dependent_id in knowledge.dependents[question.id]:
        dependent = knowledge.question(dependent_id)
        if dependent_id in changed and dependent is not None and not dependent.applies(changed):
            del changed[dependent_id]
            lost_lead += picked[dependent_id].lead
            lost_total += picked[dependent_id].total
    return lost_lead, lost_total


def _pair_change(
    knowledge: Knowledge, answers: dict[str, str], picked: Mapping[str, Option], choice: Choice
) -> WhatIf | None:
    either = knowledge.scoring.either_below
    # Each target is a direction in which (lead + k * total) must cross zero.
    targets: list[tuple[int, float]] = []
    if choice in ("django", "either"):
        targets.append((-1, -either) if choice == "django" else (1, -either))
    if choice in ("nodejs", "either"):
        targets.append((1, either) if choice == "nodejs" else (-1, either))
    asked = knowledge.applicable(answers)
    for direction, k in targets:
        gains: list[tuple[float, int, Question, Option]] = []
        for rank, question in enumerate(asked):
            old = picked.get(question.id)
            old_value = (old.lead + k * old.total) if old else 0.0
            top = max(question.options, key=lambda o: direction * (o.lead + k * o.total))
            gain = direction * (top.lead + k * top.total - old_value)
            if gain > 0 and top is not old:
                gains.append((-gain, rank, question, top))
        if len(gains) < 2:
            continue
        gains.sort(key=lambda g: (g[0], g[1]))
        (_, _, q1, o1), (_, _, q2, o2) = gains[0], gains[1]
        changed = {**answers, q1.id: o1.id, q2.id: o2.id}
        new_choice, _ = choose(*totals(knowledge, changed), knowledge)
        if new_choice != choice:
            first, second = sorted((q1, q2), key=knowledge.questions.index)
            chosen_for = {q1.id: o1, q2.id: o2}
            return WhatIf(
                (
                    AnswerChange(first, picked.get(first.id), chosen_for[first.id]),
                    AnswerChange(second, picked.get(second.id), chosen_for[second.id]),
                ),
                new_choice,
            )
    return None
