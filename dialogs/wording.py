"""Plain-text lines of the result's pages that both front ends show, worded once.

The front ends add their own markup (bold, escaping, buttons); the words come from
``data/texts.yaml`` through here.
"""

from __future__ import annotations

from advisor import Knowledge, Option
from advisor.scoring import CONFIDENCES, Choice
from advisor.whatif import Alternative, Outcome

from .views import Preview, Revising, YourAnswers


def outcome(k: Knowledge, result: Outcome) -> str:
    """A result in a few words: "Django, a clear lead"."""
    key = "either" if result.choice == "either" else result.confidence
    return k.text(f"whatif.outcome.{key}", stack=k.text(f"stack.{result.choice}"))


def settled(k: Knowledge, choice: Choice) -> str:
    """The line under a question when the rest can no longer change the advice."""
    if choice == "either":
        return k.text("dialog.settled_either")
    return k.text("dialog.settled", stack=k.text(f"stack.{choice}"))


def suggestion(k: Knowledge, alternative: Alternative) -> str:
    """One change that matters: "Team's language: “JavaScript” → Node.js, a fair lead"."""
    return k.text(
        "whatif.suggestion",
        question=alternative.question.short,
        answer=alternative.new.label,
        outcome=outcome(k, alternative.outcome),
    )


def answer_lines(k: Knowledge, view: YourAnswers) -> list[str]:
    """One line per question asked: "1. Team's language: Python"."""
    lines = []
    for number, (question, option) in enumerate(view.answered, start=1):
        answer = option.label if option is not None else k.text("whatif.not_answered")
        lines.append(
            k.text("whatif.answer_line", number=number, question=question.short, answer=answer)
        )
    return lines


def revise_now(k: Knowledge, view: Revising) -> str:
    """The answer and the advice as they are: "Your answer now: … My advice now: …"."""
    current = view.current.label if view.current else k.text("whatif.not_answered")
    return k.text("whatif.revise_now", answer=current, outcome=outcome(k, view.now))


def option_with_effect(k: Knowledge, view: Revising, option: Option) -> str:
    """An option's label, with the advice it would give when that differs from now."""
    then = view.effects[option.id]
    if option is view.current or then == view.now:
        return option.label
    return k.text("whatif.option_effect", label=option.label, outcome=outcome(k, then))


def preview_head(k: Knowledge, view: Preview) -> tuple[str, str]:
    """What was tried, and what it would do: change the advice, make the same advice surer or
    less sure, or nothing."""
    head = k.text("whatif.preview_head", answer=view.new.label, question=view.question.short)
    before = Outcome(view.before.choice, view.before.confidence)
    after = Outcome(view.after.choice, view.after.confidence)
    key = "whatif." + change_kind(before, after)
    return head, k.text(key, new=outcome(k, after), old=outcome(k, before))


def change_kind(before: Outcome, after: Outcome) -> str:
    """What a change of answers does to the advice: ``preview_changed`` (another
    recommendation), ``preview_surer``, ``preview_less_sure`` or ``preview_same``."""
    if after.choice != before.choice:
        return "preview_changed"
    if after.confidence == before.confidence or after.choice == "either":
        return "preview_same"
    surer = CONFIDENCES.index(after.confidence) > CONFIDENCES.index(before.confidence)
    return "preview_surer" if surer else "preview_less_sure"


def about(k: Knowledge) -> str:
    """Where the advice comes from, and every rule of the advisor's own, read from the data."""
    return k.text(
        "telegram.about",
        title=k.source.title,
        publisher=k.source.publisher,
        criteria=", ".join(cr.title for cr in k.criteria),
        rules=own_rules(k),
        conclusion=k.source.conclusion,
    )


def own_rules(k: Knowledge) -> str:
    """One line per own reason of the advisor: each answer that gives points by it, and how
    many ("• Deadline: “Very tight” +2 for Django"). Generated, so it cannot drift."""
    lines = []
    for reason in k.own_reasons:
        given = [
            k.text(
                "telegram.about_answer",
                label=o.label,
                question=q.short,
                points=f.points,
                stack=k.text(f"stack.{f.stack}"),
            )
            for q in k.questions
            for o in q.options
            for f in o.fits
            if f.rule == reason.id
        ]
        joined = k.text("telegram.about_joiner").join(given)
        lines.append(k.text("telegram.about_rule", title=reason.name, answers=joined))
    return "\n".join(lines)
