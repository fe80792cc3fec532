"""The result's pages through the dialog engine: details, report, answers, "What if…" and
"See my result now"."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.session import PREVIEW, RESULT, REVISE, Session
from advisor.whatif import outcome
from dialogs.engine import DialogEngine
from dialogs.views import (
    Asking,
    Explained,
    Finished,
    FullReport,
    Notice,
    Preview,
    Revising,
    Summary,
    YourAnswers,
)

FINTECH = {
    "team": "python",
    "security": "payments",
    "size": "large",
    "services": "monolith",
    "realtime": "none",
    "compute": "some",
    "hiring": "somewhat",
    "freedom": "builtin",
    "deadline": "normal",
}
#: A close result, where one answer tips it.
CLOSE = {**FINTECH, "team": "both", "security": "nothing", "freedom": "freedom", "hiring": "lot"}


def finished(engine: DialogEngine, answers: dict[str, str]) -> Session:
    """A session on the result with these answers, reached through the dialog."""
    session = Session()
    engine.start(session)
    while session.question_id is not None:
        question = engine.current_question(session)
        assert question is not None
        neutral = next(o.id for o in question.options if o.is_neutral)
        chosen = answers.get(question.id, neutral)
        assert question.option(chosen) is not None, f"{chosen!r} is no option of {question.id}"
        engine.answer(session, chosen)
    assert session.state == RESULT
    return session


# -- details, report and the list of answers ------------------------------------------------


def test_typed_details_with_a_number_or_a_name_shows_that_criterion(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = finished(engine, FINTECH)
    by_number = engine.handle_text(session, "details 4")
    by_name = engine.handle_text(session, "Details security")
    assert isinstance(by_number, Explained) and by_number.number == 4
    assert by_name == by_number
    assert knowledge.criteria[3].id == "security"
    assert session.state == RESULT


def test_details_without_a_point_shows_all_six_and_an_unknown_point_says_so(
    engine: DialogEngine,
) -> None:
    session = finished(engine, FINTECH)
    everything = engine.handle_text(session, "details")
    assert isinstance(everything, Explained) and everything.number is None
    unknown = engine.handle_text(session, "details pizza")
    assert isinstance(unknown, Explained) and unknown.number is None
    assert unknown.notice == Notice("whatif.no_such_point")


def test_report_and_answers_are_pages_of_the_same_result(engine: DialogEngine) -> None:
    session = finished(engine, FINTECH)
    report = engine.handle_text(session, "full report")
    answers = engine.handle_text(session, "my answers")
    assert isinstance(report, FullReport)
    assert report.recommendation == recommend(engine.knowledge, FINTECH)
    assert isinstance(answers, YourAnswers)
    shown = {q.id: o.id for q, o in answers.answered if o is not None}
    assert shown == FINTECH
    assert session.state == RESULT


def test_the_list_of_answers_puts_the_changes_that_flip_the_result_first(
    engine: DialogEngine,
) -> None:
    session = finished(engine, CLOSE)
    view = engine.page(session, "answers")
    assert isinstance(view, YourAnswers)
    assert view.suggestions, "a close call has answers that tip it"
    assert view.suggestions[0].flips
    flags = [(a.flips, a.shifts) for a in view.suggestions]
    assert flags == sorted(flags, reverse=True)


def test_pages_are_not_shown_before_the_result(engine: DialogEngine) -> None:
    session = Session()
    engine.start(session)
    view = engine.page(session, "details", 2)
    assert isinstance(view, Asking) and view.notice == Notice("dialog.notice.reask")
    assert session.state == "q_team"


# -- "What if…" -------------------------------------------------------------------------------


def test_what_if_shows_the_new_result_and_keeping_it_changes_the_answer(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = finished(engine, FINTECH)
    revising = engine.revise(session, "team")
    assert isinstance(revising, Revising) and revising.current is not None
    assert revising.current.id == "python"
    assert revising.effects["javascript"] == outcome(knowledge, {**FINTECH, "team": "javascript"})
    preview = engine.try_answer(session, "javascript")
    assert isinstance(preview, Preview)
    assert preview.after == recommend(engine.knowledge, {**FINTECH, "team": "javascript"})
    assert session.answers["team"] == "python", "nothing changes until the user keeps it"
    kept = engine.keep(session)
    assert isinstance(kept, Finished)  # a new result, not the summary again
    assert kept.intro == Notice(
        "whatif.kept", {"question": "Team's language", "answer": "JavaScript"}
    )
    assert session.answers["team"] == "javascript"
    assert (session.state, session.revising, session.trial) == (RESULT, None, None)


def test_going_back_from_what_if_leaves_the_answers_as_they_were(engine: DialogEngine) -> None:
    session = finished(engine, FINTECH)
    engine.revise(session, "security")
    assert isinstance(engine.try_answer(session, "nothing"), Preview)
    assert isinstance(engine.back(session), Revising)
    assert session.state == REVISE
    back_to_result = engine.back(session)
    assert isinstance(back_to_result, Summary)
    assert session.answers == FINTECH and session.state == RESULT


def test_typed_answers_work_in_what_if_too(engine: DialogEngine) -> None:
    session = finished(engine, FINTECH)
    assert isinstance(engine.handle_text(session, "change 1"), Revising)
    assert isinstance(engine.handle_text(session, "javascript"), Preview)
    assert isinstance(engine.handle_text(session, "what?"), Preview)
    kept = engine.handle_text(session, "keep")
    assert isinstance(kept, Finished)
    assert session.answers["team"] == "javascript"


def test_trying_the_answer_already_given_says_so_and_stays(engine: DialogEngine) -> None:
    session = finished(engine, FINTECH)
    engine.revise(session, "team")
    view = engine.try_answer(session, "python")
    assert isinstance(view, Revising)
    assert view.notice == Notice("whatif.same", {"answer": "Python"})
    assert session.state == REVISE


def test_a_change_that_stops_a_follow_up_from_applying_drops_its_answer(
    engine: DialogEngine,
) -> None:
    answers = {**FINTECH, "realtime": "core", "realtime_kind": "chat"}
    session = finished(engine, answers)
    engine.revise(session, "realtime")
    engine.try_answer(session, "none")
    engine.keep(session)
    assert "realtime_kind" not in session.answers


def test_restart_from_what_if_starts_over_cleanly(engine: DialogEngine) -> None:
    session = finished(engine, FINTECH)
    engine.revise(session, "team")
    engine.try_answer(session, "javascript")
    engine.restart(session)
    assert (session.state, session.answers, session.revising, session.trial) == (
        "q_team",
        {},
        None,
        None,
    )


def test_a_what_if_session_survives_a_save_and_a_forged_one_is_refused(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = finished(engine, FINTECH)
    engine.revise(session, "team")
    engine.try_answer(session, "javascript")
    data = json.loads(json.dumps(session.to_dict()))
    assert Session.from_dict(data, knowledge) == session
    assert session.state == PREVIEW
    for forged in ({"wo": "cobol"}, {"wq": "nonsense"}, {"s": "result"}):
        assert Session.from_dict({**data, **forged}, knowledge) is None


# -- "See my result now" ----------------------------------------------------------------------


def _remaining_ways(
    knowledge: Knowledge, answers: dict[str, str], from_id: str
) -> Iterator[dict[str, str]]:
    """Every way of answering the questions from ``from_id`` on (follow-ups as the dialog asks)."""
    ids = [q.id for q in knowledge.questions]
    later = knowledge.questions[ids.index(from_id) :]
    for combo in itertools.product(*(q.options for q in later)):
        filled = {k: v for k, v in answers.items() if k not in {q.id for q in later}}
        filled.update({q.id: o.id for q, o in zip(later, combo, strict=True)})
        yield knowledge.prune(filled)


def check_settled(engine: DialogEngine, session: Session) -> bool:
    """If "See my result now" is offered, check it against every way of answering the rest
    (and that the result then shown is that recommendation); return whether it was offered."""
    knowledge = engine.knowledge
    view = engine.view(session)
    if not isinstance(view, Asking) or view.settled is None:
        return False
    ways = _remaining_ways(knowledge, dict(session.answers), view.question.id)
    assert {outcome(knowledge, answers).choice for answers in ways} == {view.settled}
    shown = engine.skip(session)
    assert isinstance(shown, Finished)
    assert shown.recommendation.choice == view.settled
    assert shown.intro == Notice("dialog.notice.settled_result")
    return True


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_see_my_result_now_is_offered_only_when_no_way_of_answering_the_rest_changes_it(
    engine: DialogEngine, knowledge: Knowledge, data: st.DataObject
) -> None:
    session = Session()
    engine.start(session)
    asked = data.draw(st.integers(min_value=1, max_value=len(knowledge.questions) - 1))
    for _ in range(asked):
        question = engine.current_question(session)
        if question is None:
            return
        # The first options lean hardest one way: drawn more often, they settle more results.
        options = [o.id for o in question.options]
        engine.answer(session, data.draw(st.sampled_from(options[:2]) | st.sampled_from(options)))
    check_settled(engine, session)


def test_see_my_result_now_is_right_every_time_it_is_offered_in_a_thousand_dialogs(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    rng = random.Random(12)
    offered = 0
    for _ in range(1000):
        session = Session()
        engine.start(session)
        while (question := engine.current_question(session)) is not None:
            if check_settled(engine, session):
                offered += 1
                break
            engine.answer(session, rng.choice(question.options[:2] or question.options).id)
    assert offered >= 100, "strong answers settle the advice before the last question"


def test_a_strong_start_is_offered_the_result_before_the_last_questions(
    engine: DialogEngine,
) -> None:
    session = Session()
    engine.start(session)
    strong = ["python", "payments", "large", "monolith", "none", "heavy", "somewhat", "builtin"]
    views = [engine.answer(session, option) for option in strong]
    settled = [v.settled for v in views if isinstance(v, Asking)]
    assert "django" in settled
    assert settled[0] is None, "after one answer nothing is settled"
