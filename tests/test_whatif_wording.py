"""What if…: the words say what one changed answer does to the advice, and nothing more."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.scoring import CONFIDENCES
from advisor.whatif import alternatives
from dialogs import wording
from dialogs.views import Preview

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def said(knowledge: Knowledge, answers: dict[str, str], question_id: str, option_id: str) -> str:
    """What the preview says a change of one answer does to the advice."""
    question = knowledge.question(question_id)
    assert question is not None
    new = question.option(option_id)
    assert new is not None
    before = recommend(knowledge, answers)
    after = recommend(knowledge, knowledge.prune({**answers, question_id: option_id}))
    view = Preview(question, question.option(answers.get(question_id)), new, before, after)
    return wording.preview_head(knowledge, view)[1]


def test_a_change_that_flips_the_advice_says_it_would_change_and_to_what(
    knowledge: Knowledge,
) -> None:
    text = said(knowledge, {"team": "python"}, "team", "javascript")
    assert text == "My advice would change: Node.js, a fair lead (now: Django, a clear lead)."


def test_a_change_of_confidence_only_is_not_called_a_change_of_advice(
    knowledge: Knowledge,
) -> None:
    # payments: 4 ahead of 8 points, clear; nothing sensitive: 1 of 5, a fair lead
    less = said(knowledge, {"security": "payments"}, "security", "nothing")
    assert less == (
        "The same advice, but less sure: Django, a fair lead (now: Django, a clear lead)."
    )
    surer = said(knowledge, {}, "security", "payments")
    assert surer == "The same advice, but surer: Django, a clear lead (now: Django, a fair lead)."


def test_a_change_that_changes_nothing_says_so(knowledge: Knowledge) -> None:
    assert said(knowledge, {"team": "python"}, "deadline", "normal") == (
        "My advice would stay the same."
    )


@PROPERTY
@given(data=st.data())
def test_every_tried_answer_is_worded_by_what_it_really_does(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    answers = knowledge.prune(data.draw(any_answers))
    before = recommend(knowledge, answers)
    for alternative in alternatives(knowledge, answers):
        text = said(knowledge, answers, alternative.question.id, alternative.new.id)
        after = alternative.outcome
        if after.choice != before.choice:
            assert text.startswith("My advice would change:"), text
        elif after.confidence == before.confidence:
            assert text == "My advice would stay the same."
        else:
            rank = CONFIDENCES.index
            word = "surer" if rank(after.confidence) > rank(before.confidence) else "less sure"
            assert text.startswith(f"The same advice, but {word}:"), text
