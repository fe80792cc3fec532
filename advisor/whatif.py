"""What if one answer were different: every single change and the result it would give.

The "What if…" screen lists the user's answers and lets them try another one. Changes that
would change the recommendation come first, then those that would only change how sure it is,
so the answers that matter most are the easiest to find.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .model import Knowledge, Option, Question
from .scoring import Choice, Confidence, choose, confidence_of, totals


@dataclass(frozen=True, slots=True)
class Outcome:
    """A result in brief: the choice and how sure it is."""

    choice: Choice
    confidence: Confidence


@dataclass(frozen=True, slots=True)
class Alternative:
    """One answer changed, and the result that change alone would give."""

    question: Question
    old: Option | None
    new: Option
    outcome: Outcome
    #: The recommendation itself would change.
    flips: bool
    #: Only how sure it is would change.
    shifts: bool


def outcome(knowledge: Knowledge, answers: Mapping[str, str]) -> Outcome:
    """The choice and confidence of a set of answers, without the explanation."""
    choice, margin = choose(*totals(knowledge, answers), knowledge)
    return Outcome(choice, confidence_of(margin, knowledge))


def alternatives(knowledge: Knowledge, answers: Mapping[str, str]) -> tuple[Alternative, ...]:
    """Every other answer to every question asked, with its result.

    Those that change the recommendation come first, then those that change only its
    confidence, then the rest; within each group, in the order of the questions and options.
    A change that stops a follow-up question from applying drops that answer, as the dialog
    would.
    """
    answers = knowledge.prune(answers)
    now = outcome(knowledge, answers)
    found: list[Alternative] = []
    for question in knowledge.applicable(answers):
        old = question.option(answers.get(question.id))
        for option in question.options:
            if option is old:
                continue
            changed = knowledge.prune({**answers, question.id: option.id})
            then = outcome(knowledge, changed)
            flips = then.choice != now.choice
            shifts = not flips and then.confidence != now.confidence
            found.append(Alternative(question, old, option, then, flips, shifts))
    return tuple(sorted(found, key=lambda a: (not a.flips, not a.shifts)))


def effects(
    knowledge: Knowledge, answers: Mapping[str, str], question: Question
) -> dict[str, Outcome]:
    """The result each option of ``question`` would give, the other answers staying as they are."""
    answers = knowledge.prune(answers)
    return {
        option.id: outcome(knowledge, knowledge.prune({**answers, question.id: option.id}))
        for option in question.options
    }
