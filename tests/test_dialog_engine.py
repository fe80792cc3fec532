"""The dialog: every transition from every state, saving sessions, and typed answers."""

from __future__ import annotations

import json
import re
from typing import Any, get_args

import pytest

from advisor import Knowledge, recommend
from advisor.session import (
    LEAD_CONSENT,
    LEAD_CONTACT,
    RESULT,
    SCHEMA_VERSION,
    WELCOME,
    Session,
    question_state,
)
from dialogs import actions
from dialogs.engine import DialogEngine
from dialogs.views import (
    Asking,
    AtResult,
    Consent,
    ContactRequest,
    Finished,
    Help,
    Notice,
    View,
    Welcome,
    WhyResult,
)

#: A path through every question, live features included so that realtime_kind is asked.
FULL_PATH = {
    "team": "python",
    "security": "payments",
    "size": "large",
    "services": "monolith",
    "realtime": "core",
    "realtime_kind": "chat",
    "compute": "heavy",
    "hiring": "lot",
    "freedom": "builtin",
    "deadline": "tight",
}


def started(engine: DialogEngine) -> Session:
    session = Session()
    engine.start(session)
    return session


def answer_all(engine: DialogEngine, session: Session, *option_ids: str) -> View:
    """Answer the questions as they come, one option id each."""
    view = engine.view(session)
    for option_id in option_ids:
        view = engine.answer(session, option_id)
    return view


def at(engine: DialogEngine, state: str) -> Session:
    """A session that walked the full path up to ``state``."""
    if state == WELCOME:
        return Session()
    session = started(engine)
    while session.state != state:
        assert session.question_id is not None, f"{state} is not on the full path"
        engine.answer(session, FULL_PATH[session.question_id])
    return session


ALL_STATES = [WELCOME, *(question_state(q) for q in FULL_PATH), RESULT]


def asked(view: View) -> str | None:
    """The id of the question a view asks, or None."""
    return view.question.id if isinstance(view, Asking) else None


def restored(session: Session, knowledge: Knowledge) -> Session | None:
    return Session.from_dict(json.loads(json.dumps(session.to_dict())), knowledge)


# -- forward -------------------------------------------------------------------------------


def test_the_welcome_leads_to_the_first_question(engine: DialogEngine) -> None:
    session = Session()
    assert isinstance(engine.view(session), Welcome)
    view = engine.start(session)
    assert isinstance(view, Asking) and asked(view) == "team"
    assert (view.step, view.can_go_back, view.selected) == (1, False, None)


def test_starting_again_mid_way_shows_where_the_user_is(engine: DialogEngine) -> None:
    session = at(engine, "q_size")
    view = engine.start(session)
    assert asked(view) == "size"
    assert session.answers == {"team": "python", "security": "payments"}


def test_each_answer_moves_to_the_next_question_and_the_last_one_to_the_result(
    engine: DialogEngine,
) -> None:
    session = started(engine)
    asked = []
    while session.state != RESULT:
        asked.append(session.question_id)
        engine.answer(session, FULL_PATH[session.question_id or ""])
    assert asked == list(FULL_PATH)
    view = engine.view(session)
    assert isinstance(view, Finished)
    assert view.recommendation.choice == "django"


def test_the_progress_line_never_jumps_when_a_follow_up_question_appears(
    engine: DialogEngine,
) -> None:
    session = started(engine)
    view = engine.view(session)
    assert (view.step, view.steps, view.followup) == (1, 9, False)
    view = answer_all(engine, session, "python", "payments", "large", "monolith", "core")
    assert (asked(view), view.step, view.steps, view.followup) == ("realtime_kind", 5, 9, True)
    view = answer_all(engine, session, "chat")
    assert (asked(view), view.step, view.steps, view.followup) == ("compute", 6, 9, False)
    view = answer_all(engine, session, "heavy")
    assert (view.step, view.steps) == (7, 9)


def test_an_unknown_option_re_asks_the_same_question(engine: DialogEngine) -> None:
    session = at(engine, "q_security")
    view = engine.answer(session, "python")
    assert view.notice == Notice("dialog.notice.reask")
    assert session.state == "q_security" and "security" not in session.answers


@pytest.mark.parametrize("state", [WELCOME, RESULT])
def test_an_answer_outside_a_question_changes_nothing(engine: DialogEngine, state: str) -> None:
    session = at(engine, state)
    before = session.to_dict()
    view = engine.answer(session, "python")
    assert view.notice in (Notice("dialog.notice.reask"), Notice("dialog.notice.done"))
    assert session.to_dict() == before


# -- back ----------------------------------------------------------------------------------


def test_back_on_first_question_keeps_the_user_on_it(engine: DialogEngine) -> None:
    session = started(engine)
    view = engine.back(session)
    assert session.state == "q_team"
    assert view.notice == Notice("dialog.notice.back_on_first")


def test_back_on_the_welcome_stays_on_the_welcome(engine: DialogEngine) -> None:
    session = Session()
    view = engine.back(session)
    assert session.state == WELCOME and isinstance(view, Welcome)


def test_back_returns_to_the_previous_question_with_its_answer_kept(
    engine: DialogEngine,
) -> None:
    session = at(engine, "q_size")
    view = engine.back(session)
    assert asked(view) == "security"
    assert view.selected == "payments"
    assert (view.step, view.notice) == (2, None)
    assert session.answers == {"team": "python", "security": "payments"}


def test_back_from_the_result_returns_to_the_last_question_asked(engine: DialogEngine) -> None:
    session = at(engine, RESULT)
    view = engine.back(session)
    assert asked(view) == "deadline"
    assert view.selected == "tight"
    assert session.answers == FULL_PATH


def test_changing_an_answer_after_going_back_moves_forward_again(engine: DialogEngine) -> None:
    session = at(engine, RESULT)
    engine.back(session)
    engine.back(session)
    view = engine.answer(session, "freedom")
    assert asked(view) == "deadline"
    assert view.selected == "tight", "later answers are kept"
    assert isinstance(engine.answer(session, "tight"), Finished)
    assert session.answers["freedom"] == "freedom"


@pytest.mark.parametrize("state", ALL_STATES[2:])
def test_back_from_any_later_state_goes_to_the_question_asked_just_before(
    engine: DialogEngine, state: str
) -> None:
    session = at(engine, state)
    previous = list(FULL_PATH)[ALL_STATES.index(state) - 2]
    engine.back(session)
    assert session.state == question_state(previous)


# -- restart and why -----------------------------------------------------------------------


@pytest.mark.parametrize("state", ALL_STATES)
def test_restart_from_anywhere_clears_the_answers_and_asks_the_first_question(
    engine: DialogEngine, state: str
) -> None:
    session = at(engine, state)
    view = engine.restart(session)
    assert session.state == "q_team"
    assert session.answers == {}
    assert session.round == 1
    assert (view.notice, view.step, view.selected) == (Notice("dialog.notice.restarted"), 1, None)
    engine.restart(session)
    assert session.round == 2


def test_why_explains_the_question_and_asks_it_again(engine: DialogEngine) -> None:
    session = at(engine, "q_compute")
    before = dict(session.answers)
    view = engine.why(session)
    assert view.show_why and asked(view) == "compute"
    assert session.state == "q_compute" and session.answers == before
    assert not engine.view(session).show_why, "the aside is shown once"
    assert asked(engine.answer(session, "heavy")) == "hiring"


def test_why_before_the_questions_gives_a_notice_instead(engine: DialogEngine) -> None:
    session = at(engine, WELCOME)
    view = engine.why(session)
    assert not isinstance(view, Asking) and view.notice is not None
    assert session.state == WELCOME


def test_why_on_the_result_explains_the_result_and_stays_on_it(engine: DialogEngine) -> None:
    session = at(engine, RESULT)
    before = dict(session.answers)
    view = engine.why(session)
    assert isinstance(view, WhyResult)
    assert view.recommendation == recommend(engine.knowledge, before)
    assert (session.state, session.answers) == (RESULT, before)
    typed = engine.handle_text(session, "why did you say that?")
    assert isinstance(typed, WhyResult) or typed == engine.view(session, notice=typed.notice)
    assert isinstance(engine.handle_text(session, "why"), WhyResult)


HAND_OFF_TRIGGERS = ("lead", "consent", "decline", "contacted")
EVERY_STATE = [*ALL_STATES, LEAD_CONSENT, LEAD_CONTACT]
SCREEN_OF: dict[str, tuple[type, ...]] = {
    WELCOME: (Welcome,),
    RESULT: (Finished, AtResult),  # the result, or only a line when it was shown already
    LEAD_CONSENT: (Consent,),
    LEAD_CONTACT: (ContactRequest,),
}


def reach(engine: DialogEngine, state: str) -> Session:
    """A session in any state, the hand-off steps included."""
    if state not in (LEAD_CONSENT, LEAD_CONTACT):
        return at(engine, state)
    session = at(engine, RESULT)
    engine.hand_off(session, "lead")
    if state == LEAD_CONTACT:
        engine.hand_off(session, "consent")
    return session


@pytest.mark.parametrize("state", EVERY_STATE)
@pytest.mark.parametrize(
    "trigger", ["start", "answer", "back", "restart", "why", *HAND_OFF_TRIGGERS]
)
def test_every_trigger_from_every_state_leads_to_a_state_that_can_be_shown_and_saved(
    engine: DialogEngine, knowledge: Knowledge, state: str, trigger: str
) -> None:
    session = reach(engine, state)
    if trigger == "answer":
        question = engine.current_question(session)
        view = engine.answer(session, question.options[0].id if question else "python")
    elif trigger in HAND_OFF_TRIGGERS:
        view = engine.hand_off(session, trigger)  # type: ignore[arg-type]
    else:
        view = getattr(engine, trigger)(session)
    if trigger == "why" and state == RESULT:
        assert isinstance(view, WhyResult) and session.state == RESULT
        return
    assert type(view) in SCREEN_OF.get(session.state, (Asking,))
    notice = getattr(view, "notice", None)
    assert view == engine.view(
        session, notice=notice, show_why=isinstance(view, Asking) and view.show_why
    )
    assert restored(session, knowledge) == session


@pytest.mark.parametrize("state", EVERY_STATE)
def test_the_machine_alone_says_which_hand_off_step_is_possible(
    engine: DialogEngine, state: str
) -> None:
    session = reach(engine, state)
    possible = {t for t in HAND_OFF_TRIGGERS if engine.may(session, t)}
    expected = {
        RESULT: {"lead"},
        LEAD_CONSENT: {"consent", "decline"},
        LEAD_CONTACT: {"decline", "contacted"},
    }.get(state, set())
    assert possible == expected
    assert possible <= set(engine._machine.get_triggers(session.state))


# -- the conditional question --------------------------------------------------------------


def test_without_live_features_the_live_feature_question_is_skipped_both_ways(
    engine: DialogEngine,
) -> None:
    session = started(engine)
    view = answer_all(engine, session, "python", "payments", "large", "monolith", "none")
    assert asked(view) == "compute"
    assert (view.step, view.steps) == (6, 9)
    view = engine.back(session)
    assert asked(view) == "realtime"


@pytest.mark.parametrize("live", ["core", "some"])
def test_live_features_bring_the_live_feature_question(engine: DialogEngine, live: str) -> None:
    session = at(engine, "q_realtime")
    view = engine.answer(session, live)
    assert asked(view) == "realtime_kind"


def test_changing_an_earlier_answer_skips_and_unskips_the_conditional_question(
    engine: DialogEngine,
) -> None:
    session = at(engine, "q_compute")
    assert session.answers["realtime_kind"] == "chat"
    engine.back(session)
    engine.back(session)
    view = engine.answer(session, "none")
    assert asked(view) == "compute"
    assert "realtime_kind" not in session.answers, "the skipped question's answer is dropped"
    assert view.steps == 9

    engine.back(session)
    view = engine.answer(session, "some")
    assert asked(view) == "realtime_kind"
    assert (view.selected, view.followup, view.steps) == (None, True, 9)


# -- saving sessions -----------------------------------------------------------------------


def test_a_session_saved_at_any_point_of_the_dialog_comes_back_the_same(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = Session(source="ad_campaign")
    moves: list[tuple[str, str | None]] = [("start", None)]
    moves += [("answer", option) for option in FULL_PATH.values()]
    moves += [("back", None), ("back", None), ("why", None), ("restart", None), ("answer", "js")]
    for move, argument in moves:
        if move == "answer":
            engine.answer(session, argument or "")
        else:
            getattr(engine, move)(session)
        data = session.to_dict()
        assert json.loads(json.dumps(data)) == data
        back = restored(session, knowledge)
        assert back == session
        assert back is not None and engine.view(back) == engine.view(session)
    assert (session.round, session.source) == (1, "ad_campaign")


VALID = {"v": SCHEMA_VERSION, "s": "q_size", "a": {"team": "python", "security": "payments"}}


@pytest.mark.parametrize(
    "data",
    [
        None,
        "q_team",
        [],
        {},
        {**VALID, "v": SCHEMA_VERSION + 1},
        {**VALID, "v": None},
        {**VALID, "s": 3},
        {**VALID, "s": "q_nope"},
        {**VALID, "s": "somewhere"},
        {**VALID, "a": ["team", "python"]},
        {**VALID, "a": {"team": "cobol"}},
        {**VALID, "a": {"mood": "happy"}},
        {**VALID, "a": {"team": 1}},
        {**VALID, "r": -1},
        {**VALID, "r": True},
        {**VALID, "r": "2"},
        {**VALID, "src": 5},
        {**VALID, "s": "q_realtime_kind", "a": {"realtime": "none"}},
        {**VALID, "s": RESULT, "a": {"realtime": "none", "realtime_kind": "chat"}},
    ],
    ids=lambda data: json.dumps(data)[:60],
)
def test_corrupt_or_stale_saved_sessions_are_not_restored(knowledge: Knowledge, data: Any) -> None:
    assert Session.from_dict(data, knowledge) is None


def test_a_valid_saved_session_is_restored(knowledge: Knowledge) -> None:
    session = Session.from_dict({**VALID, "r": 2, "src": "qr"}, knowledge)
    assert session == Session("q_size", {"team": "python", "security": "payments"}, 2, "qr")


# -- typed answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "text", "meant"),
    [
        ("team", "1", "python"),
        ("team", "5", "not_sure"),
        ("team", "2.", "javascript"),
        ("team", "Python", "python"),
        ("team", "  PYTHON!! ", "python"),
        ("team", "Pythón", "python"),
        ("team", "pyhton", "python"),
        ("team", "javscript", "javascript"),
        ("team", "typescript", "javascript"),
        ("team", "we will hire", "neither"),
        ("team", "I'm not sure", "not_sure"),
        ("team", "python and javascript", "both"),
        ("security", "fintech", "payments"),
        ("security", "paymnets", "payments"),
        ("security", "HIPAA", "personal"),
        ("security", "no", "nothing"),
        ("realtime", "no idea", "not_sure"),
        ("realtime", "no", "none"),
        ("realtime_kind", "Dashbords", "dashboards"),
        ("compute", "machine learning", "heavy"),
        ("hiring", "doesn't matter", "little"),
        ("realtime", "yes, some", "some"),
    ],
)
def test_typed_answers_choose_the_option_meant(
    engine: DialogEngine, knowledge: Knowledge, question: str, text: str, meant: str
) -> None:
    understood = engine.interpreter.understand(text, knowledge.question(question))
    assert understood.option is not None, understood
    assert understood.option.id == meant


@pytest.mark.parametrize(
    "text",
    [
        *("", "   ", "🐍", "🐍🚀", "0", "6", "-1", "1.5", "፩", "two", "cobol"),
        *("not python", "definitely not javascript", "x" * 4000, "python " * 600),
    ],
    ids=[
        *("empty", "blank", "emoji", "emojis", "0", "6", "-1", "1.5", "ethiopic-1", "two"),
        *("cobol", "not-python", "not-javascript", "4000x", "long"),
    ],
)
def test_text_that_names_no_option_re_asks_the_question_with_this_questions_hint(
    engine: DialogEngine, knowledge: Knowledge, text: str
) -> None:
    session = started(engine)
    view = engine.handle_text(session, text)
    team = knowledge.question("team")
    assert team is not None
    assert view.notice == Notice("dialog.notice.nothing_fits", {"hint": team.hint})
    assert (session.state, session.answers) == ("q_team", {})


@pytest.mark.parametrize(
    ("question", "text", "candidates"),
    [
        ("team", "python or javascript", ("python", "javascript")),
        ("team", "py or js", ("python", "javascript")),
        ("realtime", "we need chat", ("core", "some")),
        ("size", "small or medium", ("small", "medium")),
    ],
)
def test_text_naming_several_options_asks_which_one_was_meant(
    engine: DialogEngine,
    knowledge: Knowledge,
    question: str,
    text: str,
    candidates: tuple[str, ...],
) -> None:
    session = at(engine, question_state(question))
    view = engine.handle_text(session, text)
    q = knowledge.question(question)
    assert q is not None
    first, second = (o for o in q.options if o.id in candidates)
    assert isinstance(view, Asking) and {o.id for o in view.choices} == set(candidates)
    assert view.notice is not None and view.notice.key == "dialog.notice.did_you_mean"
    assert set(view.notice.values.values()) == {first.label, second.label}
    assert session.state == question_state(question) and question not in session.answers


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("back", "back"),
        ("/back", "back"),
        ("Back!", "back"),
        ("go back", "back"),
        ("restart", "restart"),
        ("/restart", "restart"),
        ("restrat", "restart"),
        ("start over", "restart"),
        ("why", "why"),
        ("Why do you ask?", "why"),
        ("help", "help"),
        ("/help", "help"),
        ("quit", "quit"),
    ],
)
def test_command_words_are_understood_as_commands(
    engine: DialogEngine, knowledge: Knowledge, text: str, command: str
) -> None:
    understood = engine.interpreter.understand(text, knowledge.question("team"))
    assert (understood.command, understood.option) == (command, None)


def test_typed_commands_do_what_they_say(engine: DialogEngine) -> None:
    session = at(engine, "q_size")
    assert asked(engine.handle_text(session, "/back")) == "security"
    assert engine.handle_text(session, "why").show_why
    helped = engine.handle_text(session, "help")
    assert isinstance(helped, Help) and asked(helped.current) == "security"
    assert asked(engine.handle_text(session, "2")) == "size"
    assert engine.handle_text(session, "restart").notice == Notice("dialog.notice.restarted")
    assert (session.state, session.answers, session.round) == ("q_team", {}, 1)


def test_any_text_on_the_welcome_starts_the_questions(engine: DialogEngine) -> None:
    session = Session()
    view = engine.handle_text(session, "hello")
    assert asked(view) == "team"


def test_text_at_the_result_explains_what_can_be_done(engine: DialogEngine) -> None:
    session = at(engine, RESULT)
    assert engine.handle_text(session, "python").notice == Notice("dialog.notice.at_result")
    assert asked(engine.handle_text(session, "back")) == "deadline"


def test_every_label_synonym_and_number_picks_its_own_option(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    for question in knowledge.questions:
        for number, option in enumerate(question.options, start=1):
            for text in (str(number), option.label, *option.synonyms):
                understood = engine.interpreter.understand(text, question)
                sharing = tuple(o for o in question.options if text in o.synonyms)
                if len(sharing) > 1:  # "chat": live features at the core, or on the side?
                    assert understood.candidates == sharing, (question.id, text, understood)
                else:
                    assert understood.option is option, (question.id, text, understood)


@pytest.mark.parametrize("language", ["en", "es", "pt", "ru"])
def test_every_word_the_results_help_suggests_works_on_the_result(
    engine: DialogEngine, language: str
) -> None:
    speaker = engine.speaking(language)
    words = re.findall(r"[“«]([^”»]+)[”»]", speaker.knowledge.text("console.help_result"))
    assert len(words) >= 6
    for word in words:
        session = at(speaker, RESULT)
        view = speaker.handle_text(session, word)
        assert not isinstance(view, Finished), (word, view)
    why = speaker.handle_text(at(speaker, RESULT), words[0])
    assert isinstance(why, WhyResult), "the help names “why” first"


def test_every_button_of_the_table_fires_a_trigger_the_machine_has_somewhere(
    engine: DialogEngine,
) -> None:
    sessions = [reach(engine, state) for state in EVERY_STATE]
    revising = reach(engine, RESULT)
    engine.revise(revising, "team")
    previewing = reach(engine, RESULT)
    engine.revise(previewing, "team")
    engine.try_answer(previewing, "javascript")
    sessions += [revising, previewing]
    for act in actions.TABLE:
        assert any(engine.may(s, act.trigger) for s in sessions), act
    assert all(act.trigger in get_args(actions.Trigger) for act in actions.TABLE)


def test_the_result_pages_are_readable_only_after_the_questions(engine: DialogEngine) -> None:
    for state in EVERY_STATE:
        session = reach(engine, state)
        after = state in (RESULT, LEAD_CONSENT, LEAD_CONTACT)
        assert engine.may(session, "page") is after, state
        assert engine.may(session, "undo") is False, state


def test_the_shortcut_answers_of_may_are_the_machines_own_in_every_state(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    asked = DialogEngine(knowledge)
    asked._fixed = {}  # every question goes to transitions' may_trigger
    revising = reach(engine, RESULT)
    engine.revise(revising, "team")
    previewing = reach(engine, RESULT)
    engine.revise(previewing, "team")
    engine.try_answer(previewing, "javascript")
    sessions = [reach(engine, state) for state in EVERY_STATE] + [revising, previewing]
    triggers = {*get_args(actions.Trigger), "contacted", "discard"}
    for session in sessions:
        for trigger in sorted(triggers):
            assert engine.may(session, trigger) == asked.may(session, trigger), (
                session.state,
                trigger,
            )


# -- the reply to "Did you mean A or B?" ---------------------------------------------------------


def offered_small_or_medium(engine: DialogEngine) -> Session:
    """A session at the size question that was just asked "Small or Medium?"."""
    session = at(engine, "q_size")
    view = engine.handle_text(session, "small or medium")
    assert isinstance(view, Asking) and [o.id for o in view.choices] == ["small", "medium"]
    return session


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("the first one", "small"),
        ("first", "small"),
        ("the former", "small"),
        ("1st please", "small"),
        ("the second one", "medium"),
        ("the second", "medium"),
        ("the latter", "medium"),
        ("2nd", "medium"),
        ("the bottom one", "medium"),
    ],
)
def test_the_first_one_picks_the_first_of_the_two_choices_offered(
    engine: DialogEngine, text: str, meant: str
) -> None:
    session = offered_small_or_medium(engine)
    view = engine.handle_text(session, text)
    assert session.answers["size"] == meant
    assert isinstance(view, Asking) and view.notice is not None
    assert view.notice.key == "dialog.notice.got_it"


@pytest.mark.parametrize(("text", "meant"), [("1", "medium"), ("2", "large"), ("#2", "large")])
def test_a_number_picks_that_one_of_the_two_choices_offered_not_of_the_whole_question(
    engine: DialogEngine, text: str, meant: str
) -> None:
    session = at(engine, "q_size")
    view = engine.handle_text(session, "medium or large")
    assert isinstance(view, Asking) and [o.id for o in view.choices] == ["medium", "large"]
    engine.handle_text(session, text)
    assert session.answers["size"] == meant  # the whole question's "1" is "small"


@pytest.mark.parametrize("text", ["3", "0", "-1"])
def test_a_number_that_is_neither_choice_asks_about_the_same_two_again(
    engine: DialogEngine, text: str
) -> None:
    session = offered_small_or_medium(engine)
    view = engine.handle_text(session, text)
    assert isinstance(view, Asking) and [o.id for o in view.choices] == ["small", "medium"]
    assert view.notice is not None and view.notice.key == "dialog.notice.did_you_mean"
    assert "size" not in session.answers and session.choices == ("small", "medium")


@pytest.mark.parametrize(("text", "meant"), [("medium", "medium"), ("Med", "medium")])
def test_the_start_of_one_choices_name_picks_it(
    engine: DialogEngine, text: str, meant: str
) -> None:
    session = offered_small_or_medium(engine)
    engine.handle_text(session, text)
    assert session.answers["size"] == meant


def test_another_option_named_in_full_is_taken_even_after_did_you_mean(
    engine: DialogEngine,
) -> None:
    session = offered_small_or_medium(engine)
    engine.handle_text(session, "Large and complex")
    assert session.answers["size"] == "large"


def test_a_command_after_did_you_mean_is_still_a_command(engine: DialogEngine) -> None:
    session = offered_small_or_medium(engine)
    view = engine.handle_text(session, "back")
    assert asked(view) == "security" and session.choices == ()


def test_after_any_other_step_a_number_means_an_option_of_the_whole_question_again(
    engine: DialogEngine,
) -> None:
    session = offered_small_or_medium(engine)
    view = engine.why(session)
    assert isinstance(view, Asking) and view.choices == () and session.choices == ()
    engine.handle_text(session, "3")
    assert session.answers["size"] == "large"


def test_a_reply_that_names_nothing_shows_every_option_again_and_forgets_the_two(
    engine: DialogEngine,
) -> None:
    session = offered_small_or_medium(engine)
    view = engine.handle_text(session, "purple elephants")
    assert isinstance(view, Asking) and view.choices == () and session.choices == ()


def test_the_two_choices_offered_are_saved_with_the_session_and_shown_again_from_it(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = offered_small_or_medium(engine)
    back = restored(session, knowledge)
    assert back == session and back is not None and back.choices == ("small", "medium")
    shown = engine.view(back)
    assert isinstance(shown, Asking) and [o.id for o in shown.choices] == ["small", "medium"]
    spanish = engine.speaking("es").view(back)  # the same two, in another language
    assert isinstance(spanish, Asking) and [o.id for o in spanish.choices] == ["small", "medium"]
    engine.handle_text(back, "the second one")
    assert back.answers["size"] == "medium"


def test_the_choices_offered_are_cleared_when_the_question_changes(engine: DialogEngine) -> None:
    session = offered_small_or_medium(engine)
    engine.answer(session, "large")  # a tap on another option
    assert session.choices == () and "c" not in session.to_dict()
    engine.back(session)
    assert asked(engine.view(session)) == "size" and session.choices == ()


@pytest.mark.parametrize(
    "choices",
    [["small", "cobol"], ["small"], ["small", "small"], ["python", "javascript"]],
    ids=["unknown option", "one", "twice", "another question's"],
)
def test_saved_choices_that_do_not_fit_the_question_are_dropped_and_the_session_kept(
    knowledge: Knowledge, choices: list[str]
) -> None:
    session = Session.from_dict({**VALID, "c": choices}, knowledge)
    assert session is not None and session.state == "q_size" and session.choices == ()


@pytest.mark.parametrize("choices", ["small", [1, 2], {"small": 1}, [None]])
def test_saved_choices_of_the_wrong_type_make_the_session_corrupt(
    knowledge: Knowledge, choices: Any
) -> None:
    assert Session.from_dict({**VALID, "c": choices}, knowledge) is None


def test_saved_choices_at_the_result_are_dropped(knowledge: Knowledge) -> None:
    data = {**VALID, "s": RESULT, "c": ["small", "medium"]}
    session = Session.from_dict(data, knowledge)
    assert session is not None and session.choices == ()
