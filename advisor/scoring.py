"""Turn a user's answers into a recommendation with its explanation. Pure and deterministic.

The model is deliberately simple so that every number can be explained:

* each criterion has an *importance*: ``base_importance`` plus the weights of the answers
  that raised it;
* it adds ``importance`` points to the stack the article names its winner (none for a tie);
* some answers also give a stack a direct *fit* (e.g. "your team knows Python");
* Django's *lead* is the sum of points for Django minus the points for Node.js, and the
  *margin* is the lead divided by all points given out, so it lies between -1 and 1.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .model import STACKS, Chosen, Criterion, Fit, Knowledge, Option, Question, Stack

Choice = Literal["django", "nodejs", "either"]
Confidence = Literal["clear", "moderate", "close"]
MAX_REASONS = 3


@dataclass(frozen=True, slots=True)
class Driver:
    """An answer that made a criterion matter more to this user."""

    question: Question
    option: Option
    weight: int


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """How one criterion counted for this user."""

    criterion: Criterion
    importance: int
    level: str
    drivers: tuple[Driver, ...]
    #: Points this criterion added to Django's lead (negative: towards Node.js).
    contribution: int


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for the recommendation, in the user's own terms.

    ``option`` is None for a reason that comes from the article alone (no answer raised it).
    Either ``criterion`` (the answer made an article verdict matter) or ``fit`` is set.
    """

    stack: Stack
    points: int
    option: Option | None
    criterion: Criterion | None = None
    fit: Fit | None = None

    @property
    def beyond_article(self) -> bool:
        """Whether this reason is the advisor's own rather than the article's."""
        return self.option is not None and self.option.beyond_article


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
    """The full result: the choice, how sure we are, and why."""

    choice: Choice
    lead: int
    total: int
    margin: float
    confidence: Confidence
    criteria: tuple[CriterionResult, ...]
    reasons: tuple[Reason, ...]
    #: None when no change of one or two answers would change the recommendation.
    what_if: WhatIf | None
    answers: Mapping[str, str]


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
    total = base * len(knowledge.criteria)
    for _question, option in chosen:
        lead += option.lead
        total += option.total
    return lead, total


def recommend(knowledge: Knowledge, answers: Mapping[str, str]) -> Recommendation:
    """Score the answers (unknown or inapplicable ones are ignored) and explain the result."""
    answers, chosen = knowledge.select(answers)
    lead, total = _totals(knowledge, chosen)
    choice, margin = choose(lead, total, knowledge)
    return Recommendation(
        choice=choice,
        lead=lead,
        total=total,
        margin=margin,
        confidence=confidence_of(margin, knowledge),
        criteria=_criteria_results(knowledge, chosen),
        reasons=_reasons(knowledge, choice, chosen),
        what_if=_what_would_change(knowledge, answers, chosen, choice, lead, total),
        answers=answers,
    )


def _criteria_results(knowledge: Knowledge, chosen: list[Chosen]) -> tuple[CriterionResult, ...]:
    drivers: dict[str, list[Driver]] = {c.id: [] for c in knowledge.criteria}
    for question, option in chosen:
        for cid, weight in option.weights.items():
            if weight:
                drivers[cid].append(Driver(question, option, weight))
    base = knowledge.scoring.base_importance
    levels = knowledge.scoring.importance_levels
    results = []
    for criterion in knowledge.criteria:
        mine = drivers[criterion.id]
        importance = base + sum(d.weight for d in mine)
        level = next((name for name, least in levels if importance >= least), "low")
        results.append(
            CriterionResult(criterion, importance, level, tuple(mine), importance * criterion.sign)
        )
    return tuple(results)


@functools.lru_cache(maxsize=1024)
def _best_reason(knowledge: Knowledge, option: Option) -> Reason | None:
    """The strongest reason an answer gives, whichever stack it favours."""
    best: Reason | None = None
    for fit in option.fits:
        if best is None or fit.points > best.points:
            best = Reason(fit.stack, fit.points, option, fit=fit)
    for cid, weight in option.weights.items():
        criterion = knowledge.criterion(cid)
        if weight and criterion.verdict != "tie" and (best is None or weight > best.points):
            best = Reason(criterion.winner, weight, option, criterion=criterion)
    return best


@functools.lru_cache(maxsize=16)
def _article_reasons(knowledge: Knowledge) -> tuple[Reason, ...]:
    """Reasons from the article alone: one per criterion it gives to a stack."""
    base = knowledge.scoring.base_importance
    return tuple(
        Reason(c.winner, base, None, criterion=c) for c in knowledge.criteria if c.verdict != "tie"
    )


def _reasons(knowledge: Knowledge, choice: Choice, chosen: list[Chosen]) -> tuple[Reason, ...]:
    """The strongest reasons, at most one per answer, answers before the article alone."""
    candidates = [r for _q, o in chosen if (r := _best_reason(knowledge, o)) is not None]
    article = _article_reasons(knowledge)
    if choice == "either":
        picked: list[Reason] = []
        for stack in ("django", "nodejs"):
            side = [r for r in candidates if r.stack == stack] or [
                r for r in article if r.stack == stack
            ]
            picked.extend(sorted(side, key=lambda r: -r.points)[:1])
        return tuple(picked)
    mine = sorted((r for r in candidates if r.stack == choice), key=lambda r: -r.points)
    if len(mine) < MAX_REASONS:
        mine.extend(r for r in article if r.stack == choice)
    return tuple(mine[:MAX_REASONS])


def reasons_by_side(
    knowledge: Knowledge, rec: Recommendation, per_side: int = 2
) -> dict[Stack, tuple[Reason, ...]]:
    """The strongest reasons the answers give each stack, at most ``per_side`` each.

    Unlike ``rec.reasons`` (the winner's case), both sides are heard: a side no answer speaks
    for gets no entry. Stronger reasons first; among equals, the earlier question.
    """
    found: dict[Stack, list[Reason]] = {}
    for _question, option in knowledge.select(rec.answers)[1]:
        reason = _best_reason(knowledge, option)
        if reason is not None:
            found.setdefault(reason.stack, []).append(reason)
    return {
        stack: tuple(sorted(found[stack], key=lambda r: -r.points)[:per_side])
        for stack in STACKS
        if stack in found
    }


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
    start = (base * sum(c.sign for c in knowledge.criteria), base * len(knowledge.criteria), ())
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
