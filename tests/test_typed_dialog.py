"""Typed answers through the engine and the console: what was understood is said, unclear
text gets a choice of two, and "skip" / "bye" do what people mean by them."""

from __future__ import annotations

from pathlib import Path

from advisor import Knowledge
from advisor.session import RESULT, Session
from dialogs.engine import DialogEngine
from dialogs.views import Asking, AtResult, Finished, Goodbye, Notice
from tests.test_console import chat


def started(engine: DialogEngine) -> Session:
    session = Session()
    engine.start(session)
    return session


def test_a_typed_answer_is_confirmed_in_one_line_naming_the_option(engine: DialogEngine) -> None:
    session = started(engine)
    view = engine.handle_text(session, "we've got two python guys")
    assert isinstance(view, Asking) and view.question.id == "security"
    assert view.notice == Notice("dialog.notice.got_it", {"answer": "Python"})


def test_back_undoes_a_typed_answer(engine: DialogEngine) -> None:
    session = started(engine)
    engine.handle_text(session, "python")
    view = engine.handle_text(session, "back")
    assert isinstance(view, Asking) and view.question.id == "team"


def test_the_last_typed_answer_is_confirmed_above_the_result(engine: DialogEngine) -> None:
    session = started(engine)
    for _ in range(9):
        view = engine.handle_text(session, "not sure")
    assert isinstance(view, Finished)
    assert view.intro is not None and view.intro.key == "dialog.notice.got_it"
    assert type(view) is Finished  # the new result, not only a line (AtResult)


def test_unclear_text_offers_just_the_two_close_options(
    engine: DialogEngine, knowledge: Knowledge
) -> None:
    session = started(engine)
    engine.handle_text(session, "python")
    engine.handle_text(session, "nothing sensitive")
    view = engine.handle_text(session, "small or medium")
    assert isinstance(view, Asking)
    assert [o.id for o in view.choices] == ["small", "medium"]
    assert session.question_id == "size" and "size" not in session.answers


def test_skip_gives_the_result_now_and_says_skipped_questions_count_as_not_sure(
    engine: DialogEngine,
) -> None:
    session = started(engine)
    engine.handle_text(session, "python")
    view = engine.handle_text(session, "just tell me what to use")
    assert isinstance(view, Finished) and session.state == RESULT
    assert view.intro == Notice("dialog.notice.skipped")
    assert view.recommendation.choice == "django"


def test_skip_at_the_result_changes_nothing(engine: DialogEngine) -> None:
    session = started(engine)
    engine.handle_text(session, "skip")
    view = engine.handle_text(session, "skip the rest")
    assert isinstance(view, AtResult)


def test_thanks_bye_is_a_goodbye_that_keeps_the_answers(engine: DialogEngine) -> None:
    session = started(engine)
    engine.handle_text(session, "python")
    assert isinstance(engine.handle_text(session, "thanks bye"), Goodbye)
    assert session.answers == {"team": "python"}


# -- the console ---------------------------------------------------------------------------


def test_the_console_offers_two_numbered_choices_and_a_number_picks_one(repo_root: Path) -> None:
    out = chat(repo_root, "python", "nothing sensitive", "small or medium", "2", "quit")
    assert "Did you mean “Small and simple” or “Medium, it will grow”?" in out
    assert "Got it: Medium, it will grow." in out
    assert "Question 4 of 9" in out


def test_the_console_says_what_kinds_of_answers_work_when_nothing_fits(repo_root: Path) -> None:
    out = chat(repo_root, "purple elephants", "quit")
    assert "Sorry, I didn't catch that." in out
    assert "Question 1 of 9" in out.split("purple elephants", 1)[1]


def test_the_console_help_names_quit_and_skip_and_never_says_tap(repo_root: Path) -> None:
    out = chat(repo_root, "help", "quit")
    after = out.split("> help", 1)[1]
    assert "quit" in after and "skip" in after
    assert "tap" not in out.lower()


def test_thanks_bye_ends_the_console_chat(repo_root: Path) -> None:
    out = chat(repo_root, "python", "thanks bye", "this line is never read")
    assert out.rstrip().endswith("Goodbye! Run me again any time.")
    assert "Question 2 of 9" in out
