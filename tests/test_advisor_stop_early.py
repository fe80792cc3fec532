"""Stop early: say the result is settled only when no way of answering the rest can change it."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.scoring import choose, settled_choice, totals

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def every_choice(knowledge: Knowledge, answers: dict[str, str], remaining: list[str]) -> set[str]:
    """The choices of every way of answering the remaining questions (brute force)."""
    questions = [q for q in knowledge.questions if q.id in remaining]
    found = set()
    for picks in itertools.product(*([o.id for o in q.options] for q in questions)):
        full = {**answers, **dict(zip(remaining, picks, strict=True))}
        found.add(choose(*totals(knowledge, full), knowledge)[0])
    return found


@PROPERTY
@given(data=st.data())
def test_settled_means_every_completion_gives_that_choice_and_open_means_one_does_not(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    """Asked in order: the first ``asked`` questions answered (or skipped), the rest open."""
    asked = data.draw(st.integers(min_value=3, max_value=len(knowledge.questions)), label="asked")
    ids = [q.id for q in knowledge.questions]
    answers = {q: o for q, o in data.draw(any_answers).items() if ids.index(q) < asked}
    remaining = ids[asked:]
    settled = settled_choice(knowledge, answers, remaining)
    choices = every_choice(knowledge, answers, remaining)
    assert (settled is not None) == (len(choices) == 1)
    if settled is not None:
        assert choices == {settled}


def test_with_nothing_left_to_ask_the_result_is_settled(knowledge: Knowledge) -> None:
    answers = {"team": "python", "security": "payments"}
    assert settled_choice(knowledge, answers, []) == recommend(knowledge, answers).choice


def test_at_the_start_nothing_is_settled(knowledge: Knowledge) -> None:
    assert settled_choice(knowledge, {}) is None


def test_a_strong_django_case_settles_before_the_last_questions(knowledge: Knowledge) -> None:
    answers = {
        "team": "python",
        "security": "payments",
        "size": "large",
        "services": "monolith",
        "realtime": "none",
        "compute": "heavy",
    }
    assert settled_choice(knowledge, answers, ["hiring", "freedom", "deadline"]) == "django"
    assert every_choice(knowledge, answers, ["hiring", "freedom", "deadline"]) == {"django"}


def test_an_open_follow_up_question_counts_only_where_it_would_be_asked(
    knowledge: Knowledge,
) -> None:
    """realtime_kind is asked only after live features: a completion without them skips it."""
    answers = {q.id: "not_sure" for q in knowledge.questions}
    del answers["realtime"], answers["realtime_kind"]
    remaining = ["realtime", "realtime_kind"]
    choices = every_choice(knowledge, answers, remaining)
    assert (settled_choice(knowledge, answers, remaining) is None) == (len(choices) > 1)
