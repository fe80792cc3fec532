"""Rendering: Telegram-safe HTML within Telegram's limits, and plain text for the console."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.render import MAX_MESSAGES, TELEGRAM_LIMIT, render_html, render_text

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Telegram's HTML parse mode: tags and the attributes each may carry.
PLAIN_TAGS = ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler")
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    **dict.fromkeys(PLAIN_TAGS, frozenset()),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "span": frozenset({"class"}),
}
ALLOWED_ENTITIES = {"lt", "gt", "amp", "quot"}
#: An ampersand that does not start one of the four entities (html.parser lets some pass).
BARE_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot);)")


class TelegramHtmlChecker(HTMLParser):
    """A strict checker: only Telegram's tags, properly nested, only four named entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
        elif unknown := {name for name, _ in attrs} - ALLOWED_TAGS[tag]:
            self.problems.append(f"<{tag}> has attributes {sorted(unknown)}")
        elif tag == "span" and attrs != [("class", "tg-spoiler")]:
            self.problems.append('<span> needs class="tg-spoiler"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1] if self.open else 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if unescaped := set(data) & set("<>&"):
            self.problems.append(f"unescaped {''.join(sorted(unescaped))} in {data!r}")

    def handle_entityref(self, name: str) -> None:
        if name not in ALLOWED_ENTITIES:
            self.problems.append(f"entity &{name}; is not allowed")

    def handle_charref(self, name: str) -> None:
        self.problems.append(f"character reference &#{name}; is not allowed")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declarations are not allowed")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("declarations are not allowed")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instructions are not allowed")


def html_problems(message: str) -> list[str]:
    """What Telegram would reject in this message (empty when it is valid)."""
    checker = TelegramHtmlChecker()
    checker.feed(message)
    checker.close()
    if BARE_AMPERSAND.search(message):
        checker.problems.append("unescaped & or an entity without its ;")
    if checker.rawdata:
        checker.problems.append(f"unparsed rest {checker.rawdata!r}")
    if checker.open:
        checker.problems.append(f"unclosed {checker.open}")
    return checker.problems


def assert_fits_telegram(messages: list[str]) -> None:
    assert 1 <= len(messages) <= MAX_MESSAGES
    for message in messages:
        assert message.strip(), "an empty message"
        assert len(message.encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT
        assert html_problems(message) == []


@pytest.mark.parametrize(
    ("html", "problem"),
    [
        ("<b>bold</b> and <i>it<b>al</b></i>", None),
        ('<span class="tg-spoiler">x</span> &lt; &gt; &amp; &quot;', None),
        ("<script>x</script>", "tag <script>"),
        ("<b><i>x</b></i>", "</b> closes i"),
        ("<b>x", "unclosed"),
        ("R&D", "unescaped &"),
        ("R&D x", "unescaped &"),
        ("&lt b", "unescaped &"),
        ("a < b", "unescaped <"),
        ("&nbsp;", "entity &nbsp;"),
        ("&#60;", "character reference"),
        ('<span class="x">x</span>', "tg-spoiler"),
    ],
)
def test_the_html_checker_itself_tells_valid_from_invalid(html: str, problem: str | None) -> None:
    problems = html_problems(html)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


@PROPERTY
@given(data=st.data())
def test_every_result_is_valid_telegram_html_within_three_messages(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    rec = recommend(knowledge, data.draw(any_answers))
    messages = render_html(rec, knowledge)
    assert_fits_telegram(messages)
    first = messages[0]
    assert "<b>Recommendation: " in first


def test_the_longest_possible_explanation_still_fits_telegram(knowledge: Knowledge) -> None:
    """Climb from several starts, changing one answer at a time while the result grows."""

    def length(answers: dict[str, str]) -> int:
        return sum(map(len, render_html(recommend(knowledge, answers), knowledge)))

    rng = random.Random(2024)
    longest = 0
    for _ in range(6):
        answers = {q.id: rng.choice(q.options).id for q in knowledge.questions}
        best, grew = length(answers), True
        while grew:
            grew = False
            for question in knowledge.questions:
                for option in question.options:
                    candidate = {**answers, question.id: option.id}
                    if (size := length(candidate)) > best:
                        answers, best, grew = candidate, size, True
        assert_fits_telegram(render_html(recommend(knowledge, answers), knowledge))
        longest = max(longest, best)
    assert longest > TELEGRAM_LIMIT, "the climb should find results that need two messages"


def test_texts_and_labels_from_the_data_are_escaped(broken_data: Any) -> None:
    def criteria(data: dict[str, Any]) -> None:
        data["source"]["title"] = "Django <vs> Node & co"
        community = data["criteria"][0]
        community["title"] = "Community <script>"
        community["summary"] = "R&D teams <b>love</b> it"
        community["stacks"]["nodejs"] = "npm & <friends>"
        community["quote"] = "a < b && c > d"

    def questions(data: dict[str, Any]) -> None:
        team = data["questions"][0]
        team["prompt"] = "Does your <b>R&D</b> team know Python?"
        team["options"][0]["label"] = "Py <script> & R&D"
        team["options"][3]["because"] = "you hire for R&D <soon>"

    broken_data.edit("criteria.yaml", criteria)
    broken_data.edit("questions.yaml", questions)
    knowledge = broken_data.load()
    rec = recommend(knowledge, {"team": "neither"})
    assert rec.what_if is not None and rec.what_if.changes[0].new.id == "python"

    html = "\n\n".join(render_html(rec, knowledge))
    assert_fits_telegram(render_html(rec, knowledge))
    assert "<script>" not in html
    for escaped in (
        "Community &lt;script&gt;",
        "R&amp;D teams &lt;b&gt;love&lt;/b&gt; it",
        "npm &amp; &lt;friends&gt;",
        "a &lt; b &amp;&amp; c &gt; d",
        "“Py &lt;script&gt; &amp; R&amp;D”",
        "Does your &lt;b&gt;R&amp;D&lt;/b&gt; team know Python?",
        "you hire for R&amp;D &lt;soon&gt;",
        "Django &lt;vs&gt; Node &amp; co",
    ):
        assert escaped in html

    text = " ".join(render_text(rec, knowledge).split())
    assert "“Py <script> & R&D”" in text, "plain text is shown as it is"


@PROPERTY
@given(data=st.data())
def test_plain_text_names_the_recommendation_and_all_six_criteria_in_order(
    knowledge: Knowledge, any_answers: Any, article_order: tuple[str, ...], data: st.DataObject
) -> None:
    text = render_text(recommend(knowledge, data.draw(any_answers)), knowledge)
    lines = text.splitlines()
    assert sum(line.startswith("Recommendation:") for line in lines) == 1
    headings = [line for line in lines if re.fullmatch(r"\d\. \w+ \(.+\)", line)]
    assert headings == [
        f"{n}. {c.title} ({c.gloss})" for n, c in enumerate(knowledge.criteria, start=1)
    ]
    assert [c.title for c in knowledge.criteria] == list(article_order)
    assert "<" not in text.replace("<script>", ""), "no markup in plain text"


@PROPERTY
@given(data=st.data())
def test_the_points_shown_add_up_to_the_recommendation(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    rec = recommend(knowledge, data.draw(any_answers))
    text = " ".join(render_text(rec, knowledge).split())
    stated = re.search(r"Points: Django (\d+), Node\.js (\d+)\.", text)
    total = re.search(r"In all: Django (\d+), Node\.js (\d+)\.", text)
    assert stated is not None and total is not None, text[:300]
    assert stated.groups() == total.groups()
    django, nodejs = map(int, stated.groups())
    ledger = text.split("Where every point comes from")[1].split("In all:")[0]
    given = re.findall(r"\+(\d+) for (Django|Node\.js) \(", ledger)
    assert sum(int(p) for p, s in given if s == "Django") == django
    assert sum(int(p) for p, s in given if s == "Node.js") == nodejs
    assert django - nodejs == rec.lead
    assert django + nodejs == rec.total, "the margin is worked out from the points shown"
    if rec.choice != "either":
        assert (django > nodejs) == (rec.choice == "django")


def test_the_what_if_line_quotes_the_answers_in_the_users_words(knowledge: Knowledge) -> None:
    rec = recommend(knowledge, {"team": "python", "security": "payments"})
    text = " ".join(render_text(rec, knowledge).split())
    assert "What would change the answer If you answered “" in text
    assert rec.what_if is not None
    for change in rec.what_if.changes:
        assert f"“{change.new.label}”" in text
        assert f"“{change.question.prompt}”" in text


def test_a_telegram_html_parser_accepts_every_kind_of_result(
    knowledge: Knowledge, complete: Any
) -> None:
    """Cross-check with the fake Bot API's parser of Telegram HTML, when it is there."""
    fake_html = pytest.importorskip("fake_telegram.html")
    cases: list[dict[str, str]] = [
        {},
        complete(team="python", security="payments", size="large"),
        complete(team="javascript", services="microservices", realtime="core"),
        complete(team="python", services="microservices", realtime="core"),
    ]
    for answers in cases:
        for message in render_html(recommend(knowledge, answers), knowledge):
            parsed = fake_html.parse_html(message)
            assert fake_html.utf16_len(parsed.text) <= TELEGRAM_LIMIT
