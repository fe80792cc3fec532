"""Typed answers through the engine and the console: what was understood is said, unclear
text gets a choice of two, and "skip" / "bye" do what people mean by them."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# -- the reply to "Did you mean A or B?", in every language -----------------------------------

#: For each language: a question, a message that gets "Did you mean A or B?" there, and the
#: two options it offers.
OFFERS = {
    "en": ("size", "small or medium", ("small", "medium")),
    "es": ("size", "pequeño o mediano", ("small", "medium")),
    "pt": ("size", "pequeno ou médio", ("small", "medium")),
    "ru": ("deadline", "очень сжатые или обычные", ("tight", "normal")),
}


def offered(engine: DialogEngine, language: str) -> tuple[DialogEngine, Session]:
    """The dialog in this language, just after it asked "Did you mean A or B?"."""
    spoken = engine.speaking(language)
    question, text, choices = OFFERS[language]
    session = Session(language=language)
    spoken.start(session)
    while session.question_id != question:
        asked = spoken.current_question(session)
        assert asked is not None
        spoken.answer(session, next(o.id for o in asked.options if o.is_neutral))
    view = spoken.handle_text(session, text)
    assert isinstance(view, Asking) and tuple(o.id for o in view.choices) == choices
    return spoken, session


@pytest.mark.parametrize(
    ("language", "text", "position"),
    [
        ("en", "the first one", 0),
        ("en", "the second", 1),
        ("es", "la segunda", 1),
        ("es", "el primero", 0),
        ("es", "la primera opción", 0),
        ("pt", "a primeira", 0),
        ("pt", "o segundo", 1),
        ("pt", "a de baixo", 1),
        ("ru", "первый", 0),
        ("ru", "второй вариант", 1),
        ("ru", "последний", 1),
    ],
)
def test_the_reply_to_did_you_mean_names_a_choice_by_its_place_in_every_language(
    engine: DialogEngine, language: str, text: str, position: int
) -> None:
    spoken, session = offered(engine, language)
    question, _, choices = OFFERS[language]
    view = spoken.handle_text(session, text)
    assert session.answers[question] == choices[position]
    said = view.intro if isinstance(view, Finished) else view.notice
    assert said is not None and said.key == "dialog.notice.got_it"


@pytest.mark.parametrize("language", sorted(OFFERS))
@pytest.mark.parametrize(("text", "position"), [("1", 0), ("2", 1), ("#2", 1)])
def test_the_reply_to_did_you_mean_names_a_choice_by_its_number_in_every_language(
    engine: DialogEngine, language: str, text: str, position: int
) -> None:
    spoken, session = offered(engine, language)
    question, _, choices = OFFERS[language]
    spoken.handle_text(session, text)
    assert session.answers[question] == choices[position]


@pytest.mark.parametrize(
    ("language", "text", "position"),
    [
        ("en", "medium", 1),
        ("en", "smal", 0),
        ("es", "median", 1),
        ("pt", "pequ", 0),
        ("ru", "очень", 0),
        ("ru", "обыч", 1),
    ],
)
def test_the_reply_to_did_you_mean_names_a_choice_by_the_start_of_its_name(
    engine: DialogEngine, language: str, text: str, position: int
) -> None:
    spoken, session = offered(engine, language)
    question, _, choices = OFFERS[language]
    spoken.handle_text(session, text)
    assert session.answers[question] == choices[position]


def test_every_language_names_both_places_of_a_choice(knowledge: Knowledge) -> None:
    for language in knowledge.languages:
        positions = knowledge.speaking(language).vocabulary.positions
        assert set(positions) == {"first", "second"}, language
        assert all(positions.values()), language


# -- the console ---------------------------------------------------------------------------


def test_the_console_offers_two_numbered_choices_and_a_number_picks_one(repo_root: Path) -> None:
    out = chat(repo_root, "python", "nothing sensitive", "small or medium", "2", "quit")
    assert "Did you mean “Small and simple” or “Medium, it will grow”?" in out
    assert "Got it: Medium, it will grow." in out
    assert "Question 4 of 9" in out


def test_the_console_takes_the_reply_to_did_you_mean_by_its_place(repo_root: Path) -> None:
    out = chat(
        repo_root, "python", "nothing sensitive", "small or medium", "the second one", "quit"
    )
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
