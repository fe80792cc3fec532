"""The result at a glance: one screen, both sides heard, easy to read, in "you" or "they"."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import textstat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.render import render_text
from advisor.scoring import reasons_by_side
from advisor.summary import (
    SUMMARY_LIMIT,
    VOICES,
    Voice,
    find_criterion,
    hire_line,
    render_details_html,
    render_details_text,
    render_summary_html,
    render_summary_text,
)
from tests.test_advisor_render import html_problems

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MIN_READING_EASE = 60


def visible(message: str) -> str:
    """What Telegram shows of an HTML message: the text without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))


def check_summary(rec: Any, knowledge: Knowledge, voice: Voice) -> str:
    """Assert what every summary must be; return its plain text."""
    message = render_summary_html(rec, knowledge, voice=voice)
    assert html_problems(message) == []
    assert len(visible(message)) <= SUMMARY_LIMIT
    text = render_summary_text(rec, knowledge, voice=voice)
    assert len(text.replace("\n  ", "\n")) <= SUMMARY_LIMIT, "unwrapped"
    assert " ".join(visible(message).split()) == " ".join(text.split()), "same words"
    ease = textstat.flesch_reading_ease(text)
    assert ease >= MIN_READING_EASE, (round(ease, 1), text)
    return text


@PROPERTY
@given(data=st.data(), voice=st.sampled_from(VOICES))
def test_every_summary_fits_one_screen_and_reads_easily(
    knowledge: Knowledge, any_answers: Any, voice: Voice, data: st.DataObject
) -> None:
    check_summary(recommend(knowledge, data.draw(any_answers)), knowledge, voice)


EXTREMES: dict[str, dict[str, str]] = {
    "nothing answered": {},
    "all not sure": {"*": "not_sure"},
    "django all the way": {
        "team": "python",
        "security": "payments",
        "size": "large",
        "services": "monolith",
        "realtime": "none",
        "compute": "heavy",
        "hiring": "little",
        "freedom": "builtin",
        "deadline": "tight",
    },
    "node.js all the way": {
        "team": "javascript",
        "security": "nothing",
        "size": "small",
        "services": "microservices",
        "realtime": "core",
        "realtime_kind": "chat",
        "compute": "light",
        "hiring": "lot",
        "freedom": "freedom",
        "deadline": "relaxed",
    },
    "pulled both ways": {
        "team": "python",
        "security": "personal",
        "services": "microservices",
        "realtime": "core",
        "realtime_kind": "streaming",
        "compute": "heavy",
        "hiring": "lot",
        "freedom": "freedom",
    },
}


@pytest.mark.parametrize("voice", VOICES)
@pytest.mark.parametrize("case", EXTREMES)
def test_the_extremes_fit_one_screen_and_read_easily(
    knowledge: Knowledge, case: str, voice: Voice
) -> None:
    answers = EXTREMES[case]
    if answers == {"*": "not_sure"}:
        answers = {q.id: "not_sure" for q in knowledge.questions}
    check_summary(recommend(knowledge, answers), knowledge, voice)


def test_the_summary_names_the_choice_and_how_sure_in_plain_words(knowledge: Knowledge) -> None:
    clear = render_summary_text(recommend(knowledge, EXTREMES["django all the way"]), knowledge)
    assert clear.startswith("Recommendation: Django\nA clear lead.")
    either = recommend(
        knowledge, {"team": "python", "services": "microservices", "realtime": "core"}
    )
    assert either.choice == "either"
    assert render_summary_text(either, knowledge).startswith(
        "Recommendation: Either\nIt is a close call: both work."
    )


@PROPERTY
@given(data=st.data())
def test_the_summary_has_one_line_for_each_of_the_six_criteria(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    text = render_summary_text(recommend(knowledge, data.draw(any_answers)), knowledge)
    for criterion in knowledge.criteria:
        head = f"• {criterion.title} ({criterion.gloss}): "
        lines = [line for line in text.splitlines() if line.startswith(head)]
        assert len(lines) == 1, criterion.id


SIDE_POINTS = re.compile(r"(Django|Node\.js) \+(\d+)\.$")


@PROPERTY
@given(data=st.data(), voice=st.sampled_from(VOICES))
def test_the_lines_of_the_summary_add_up_to_the_points_it_states(
    knowledge: Knowledge, any_answers: Any, voice: Voice, data: st.DataObject
) -> None:
    rec = recommend(knowledge, data.draw(any_answers))
    text = render_summary_text(rec, knowledge, voice=voice)
    counted = {"Django": 0, "Node.js": 0}
    for line in text.splitlines():
        if line.startswith("• ") and (found := SIDE_POINTS.search(line)):
            counted[found[1]] += int(found[2])
    stated = re.search(r"Points: Django (\d+), Node\.js (\d+)\.", text)
    assert stated is not None, text
    assert (counted["Django"], counted["Node.js"]) == (int(stated[1]), int(stated[2]))
    assert (int(stated[1]), int(stated[2])) == (rec.points("django"), rec.points("nodejs"))


def test_a_card_paying_shop_hears_the_case_for_each_side(knowledge: Knowledge) -> None:
    """The issue's shop owner: Node.js by a hair, but Security (for Django) mattered most."""
    answers = {"security": "payments", "team": "javascript", "size": "small"}
    rec = recommend(knowledge, answers)
    text = " ".join(render_summary_text(rec, knowledge).split())
    assert "For Django: • You handle payments, so Security counts more." in text
    for_nodejs = text.split("For Node.js:")[1].split("For Django:")[0]
    assert "• Your app is small and simple, so Usability counts more." in for_nodejs
    assert "Beyond the article, my own rules: • Team's language: Node.js +3." in text
    sides = reasons_by_side(rec)
    assert set(sides) == {"django", "nodejs"}


def test_with_no_answers_the_summary_does_not_repeat_how_little_each_mattered(
    knowledge: Knowledge,
) -> None:
    text = render_summary_text(recommend(knowledge, {}), knowledge)
    assert "A fair lead. Points: Django 3, Node.js 2." in text
    assert "• Scalability (room to grow): a tie, no points." in text
    assert "Beyond the article" not in text, "no own rule gave points"
    assert "the article's own ratings decide" in text


def test_the_summary_says_which_answer_would_change_the_result(knowledge: Knowledge) -> None:
    text = render_summary_text(recommend(knowledge, {"team": "python"}), knowledge)
    assert "It would tip to Node.js if your team knows JavaScript." in text


def test_a_shared_result_speaks_about_them_and_invites_the_reader(knowledge: Knowledge) -> None:
    rec = recommend(knowledge, {"team": "python", "security": "payments"})
    text = " ".join(render_summary_text(rec, knowledge, voice="they").split())
    assert "They told us they handle payments, so Security counts more." in text
    assert "Beyond the article, my own rules: • Team's language: Django +3." in text
    assert "Take the quiz" in text
    about_them = text.split("with you.")[1].split("Want your own")[0]
    assert not re.search(r"\byour?\b", about_them, re.I), about_them
    assert "Take the quiz" not in render_summary_text(rec, knowledge)


@pytest.mark.parametrize(
    ("answers", "profile"),
    [
        ({"team": "python", "security": "payments"}, "Python developers who know Django"),
        ({"team": "javascript", "realtime": "core"}, "JavaScript developers who know Node.js"),
        (
            {"team": "python", "services": "microservices", "realtime": "core"},
            "both fit, so build on the team's Python: developers who know Django",
        ),
        ({"team": "neither"}, "The article rates Node.js's community larger"),
        (
            {"team": "javascript", "security": "payments", "freedom": "builtin"},
            "the team knows JavaScript, so either it learns Python and Django first, or hire "
            "Python developers who know Django.",
        ),
    ],
)
def test_the_hiring_line_names_the_developers_to_look_for(
    knowledge: Knowledge, answers: dict[str, str], profile: str
) -> None:
    rec = recommend(knowledge, answers)
    assert profile in hire_line(rec, knowledge)
    assert hire_line(rec, knowledge) in " ".join(render_summary_text(rec, knowledge).split())


# -- details on demand ---------------------------------------------------------------------------


def test_details_show_each_criterion_with_both_sides_and_the_articles_words(
    knowledge: Knowledge,
) -> None:
    rec = recommend(knowledge, {"security": "payments"})
    for number, criterion in enumerate(knowledge.criteria, start=1):
        text = " ".join(render_details_text(knowledge, number, rec).split())
        assert text.startswith(f"{number}. {criterion.title}")
        assert " ".join(criterion.quote.split()) in text
        for reason in criterion.stacks.values():
            assert " ".join(reason.split()) in text
        message = render_details_html(knowledge, criterion.id, rec)
        assert html_problems(message) == []
    security = " ".join(render_details_text(knowledge, "security", rec).split())
    assert "because you handle payments" in security


@PROPERTY
@given(data=st.data())
def test_the_hiring_line_never_sends_the_reader_back_to_what_they_told_us(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    rec = recommend(knowledge, data.draw(any_answers))
    line = hire_line(rec, knowledge)
    assert "decide" not in line and "web developers who know Django or Node.js" not in line
    team = rec.answers.get("team")
    if rec.choice == "either" and team in ("python", "javascript"):
        stack = "Django" if team == "python" else "Node.js"
        assert f"developers who know {stack}" in line, line
    if team == "neither":
        assert "The article rates" in line and "community" in line, line
    if rec.choice != "either":
        named = "Django" if rec.choice == "django" else "Node.js"
        assert line.startswith("Who to hire: ") and f"who know {named}." in line, line


def test_a_criterion_is_found_by_number_id_or_the_articles_name(knowledge: Knowledge) -> None:
    security = knowledge.criterion("security")
    for name in ("4", "security", "Security", " SECURITY "):
        assert find_criterion(knowledge, name) is security
    assert find_criterion(knowledge, "7") is None
    with pytest.raises(KeyError):
        render_details_text(knowledge, "colour")


# -- faithful and well-formed wording (item 9) ----------------------------------------------------


def test_one_application_is_no_point_for_django(knowledge: Knowledge) -> None:
    services = knowledge.question("services")
    assert services is not None
    monolith = services.option("monolith")
    assert monolith is not None and monolith.lead == 0 and not monolith.fits


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"team": "python"}, "Beyond the article: your team knows Python"),
        ({"team": "javascript"}, "Beyond the article: your team knows JavaScript"),
        ({"compute": "heavy"}, "Beyond the article: your app does heavy processing"),
        (
            {"realtime": "core", "realtime_kind": "chat"},
            "Beyond the article: live features are the core of your app",
        ),
    ],
)
def test_reasons_the_article_does_not_make_are_labelled_as_the_advisors_own(
    knowledge: Knowledge, answers: dict[str, str], reason: str
) -> None:
    rec = recommend(knowledge, answers)
    flat = " ".join(render_summary_text(rec, knowledge).split())
    assert reason in flat


def test_reasons_from_the_article_carry_no_such_label(knowledge: Knowledge) -> None:
    flat = " ".join(
        render_summary_text(recommend(knowledge, {"security": "payments"}), knowledge).split()
    )
    assert "• You handle payments, so Security counts more." in flat
    assert "Beyond the article" not in flat


ODD = (
    "we would recommend Either",
    "The article's overall rating",
    "the article favours a tie",
    "The article's winner: a tie",
    "huge",
    "How much it mattered to you: low",
)


@PROPERTY
@given(data=st.data())
def test_no_generated_sentence_reads_oddly(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    from advisor.render import render_text

    rec = recommend(knowledge, data.draw(any_answers))
    texts = [
        render_text(rec, knowledge),
        *(render_summary_text(rec, knowledge, voice=v) for v in VOICES),
    ]
    for text in texts:
        flat = " ".join(text.split())
        for odd in ODD:
            assert odd.casefold() not in flat.casefold(), odd


JARGON = (
    "model-view-template",
    "multi-threaded",
    "single-threaded",
    "sql injection",
    "cross-site scripting",
    "clickjacking",
    "event-driven",
)


def test_criterion_texts_leave_out_or_explain_jargon(knowledge: Knowledge) -> None:
    for criterion in knowledge.criteria:
        shown = " ".join([criterion.summary, criterion.favours, *criterion.stacks.values()])
        for word in JARGON:
            explained = re.search(rf"{word}[”\"]? \(", shown, re.I)
            assert word not in shown.casefold() or explained, (criterion.id, word)
    for explained in (
        "caching (keeping answers ready in memory)",
        "microservices (many small parts)",
    ):
        assert any(explained in " ".join(c.stacks.values()) for c in knowledge.criteria)


@PROPERTY
@given(data=st.data())
def test_a_close_call_means_either_and_nothing_else(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    rec = recommend(knowledge, data.draw(any_answers))
    head = render_summary_text(rec, knowledge).split("\n\n")[0]
    assert ("close call" in head) == (rec.choice == "either"), head
    report_head = render_text(rec, knowledge).split("\n\n")[0]
    assert ("close call" in report_head) == (rec.choice == "either"), report_head
