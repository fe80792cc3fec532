"""The chart as SVG for the web: the PNG's layout, texts, bars and numbers, safe to inline."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import Knowledge, recommend
from advisor.chart import (
    SVG_FONTS,
    WIDTH,
    Row,
    _heading,
    _svg,
    layout,
    render_chart_svg,
    rows,
    typeface,
)

PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NS = "{http://www.w3.org/2000/svg}"
DJANGO_CASE = {"team": "python", "security": "payments", "size": "large", "compute": "heavy"}
NODE_CASE = {"team": "javascript", "services": "microservices", "realtime": "core"}
EVERYTHING = {
    "team": "python",
    "security": "payments",
    "size": "large",
    "realtime": "core",
    "realtime_kind": "chat",
    "compute": "heavy",
    "hiring": "lot",
    "freedom": "builtin",
    "deadline": "tight",
}
#: Only these elements and attributes: no script, link, style, image, foreignObject or handler.
ELEMENTS = {"svg", "title", "desc", "rect", "text"}
ATTRIBUTES = {
    "viewBox",
    "width",
    "height",
    "role",
    "aria-labelledby",
    "aria-describedby",
    "lang",
    "font-family",
    "id",
    "x",
    "y",
    "fill",
    "font-size",
    "font-weight",
    "text-anchor",
    "dominant-baseline",
}


def parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def elements(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(f"{NS}{tag}"))


def shown(root: ET.Element) -> str:
    """Every text drawn, one line each."""
    return "\n".join(t.text or "" for t in elements(root, "text"))


def test_the_svg_chart_is_xml_that_scales_to_any_width(knowledge: Knowledge) -> None:
    rec = recommend(knowledge, DJANGO_CASE)
    root = parsed(render_chart_svg(rec, knowledge))
    _texts, _boxes, height = layout(knowledge, _heading(rec, knowledge), rows(rec, knowledge))
    assert root.get("viewBox") == f"0 0 {WIDTH} {height}"
    assert root.get("width") == "100%" and root.get("height") is None
    assert root.get("role") == "img"
    assert root.get("font-family") == SVG_FONTS == "DejaVu Sans, Verdana, Arial, sans-serif"
    assert root.get("lang") == "en"


@pytest.mark.parametrize("language", ["en", "es", "pt", "ru"])
def test_svg_chart_shows_the_same_rows_as_the_png_chart(
    knowledge: Knowledge, language: str
) -> None:
    k = knowledge.speaking(language)
    for answers in ({}, DJANGO_CASE, NODE_CASE, EVERYTHING):
        rec = recommend(k, answers)
        heading, bars = _heading(rec, k), rows(rec, k)
        texts, _boxes, _height = layout(k, heading, bars)
        root = parsed(render_chart_svg(rec, k))
        drawn = elements(root, "text")
        assert [t.text for t in drawn] == [t.text for t in texts]
        for element, text in zip(drawn, texts, strict=True):
            assert float(element.get("x", "")) == pytest.approx(text.xy[0], abs=0.01)
            assert element.get("font-size") == str(text.px)
            assert (element.get("font-weight") == "bold") == text.bold
            assert element.get("fill") == text.colour
            anchor = {"l": "start", "m": "middle", "r": "end"}[text.anchor[0]]
            assert element.get("text-anchor") == anchor
        # Wrapped lines joined again: the verdict, the points and every row's label and value.
        words = " ".join(shown(root).split())
        assert " ".join(heading[0].split()) in words and " ".join(heading[1].split()) in words
        for row in bars:
            assert " ".join(row.label.split()) in words and row.value in words
        assert sum(t.text == row.value for row in bars for t in drawn) >= len(bars)


def test_svg_texts_stand_on_the_baseline_pillow_draws_them_on(knowledge: Knowledge) -> None:
    rec = recommend(knowledge, EVERYTHING)
    texts, _boxes, _height = layout(knowledge, _heading(rec, knowledge), rows(rec, knowledge))
    drawn = elements(parsed(render_chart_svg(rec, knowledge)), "text")
    for element, text in zip(drawn, texts, strict=True):
        assert text.anchor in ("la", "ra")  # top of the ascender, as the PNG draws them
        ascent, _descent = typeface(text.px, text.bold).getmetrics()
        assert element.get("dominant-baseline") == "alphabetic"
        assert float(element.get("y", "")) == pytest.approx(text.xy[1] + ascent, abs=0.01)


def test_svg_bars_are_the_layout_boxes(knowledge: Knowledge) -> None:
    for answers in ({}, DJANGO_CASE, NODE_CASE, EVERYTHING):
        rec = recommend(knowledge, answers)
        _texts, boxes, height = layout(knowledge, _heading(rec, knowledge), rows(rec, knowledge))
        background, *bars = elements(parsed(render_chart_svg(rec, knowledge)), "rect")
        assert [background.get(a) for a in ("x", "y", "width", "height", "fill")] == [
            "0",
            "0",
            str(WIDTH),
            str(height),
            "#ffffff",
        ]
        assert len(bars) == len(boxes)
        for rect, ((x0, y0, x1, y1), colour) in zip(bars, boxes, strict=True):
            x, y = float(rect.get("x", "")), float(rect.get("y", ""))
            width, tall = float(rect.get("width", "")), float(rect.get("height", ""))
            assert (x, y, x + width, y + tall) == pytest.approx((x0, y0, x1, y1), abs=0.01)
            assert rect.get("fill") == colour


def test_svg_chart_has_a_title_and_a_description_of_every_row(knowledge: Knowledge) -> None:
    rec = recommend(knowledge, DJANGO_CASE)
    root = parsed(render_chart_svg(rec, knowledge))
    (title,) = elements(root, "title")
    (desc,) = elements(root, "desc")
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")
    assert title.text == "Recommendation: Django"
    lines = (desc.text or "").splitlines()
    assert lines[0] == f"Points: Django {rec.points('django')}, Node.js {rec.points('nodejs')}."
    assert lines[1:] == [f"{row.label}: {row.value}" for row in rows(rec, knowledge)]
    for line, entry in zip(lines[1:], rec.ledger, strict=True):
        if entry.side == "django":
            assert line == f"{entry.title}: Django +{entry.points}"
        elif entry.side == "nodejs":
            assert line == f"{entry.title}: Node.js +{entry.points}"
        else:
            assert line == f"{entry.title}: a tie: 0"


def test_a_label_with_markup_in_it_stays_text_in_the_svg(knowledge: Knowledge) -> None:
    nasty = '<script>alert("x")</script> & \'q\' <a onclick="x">'
    heading = (f'Verdict <b>&"{nasty}', 'Points <&"')
    bars = (
        Row(f"Community {nasty}", "django", 3, 'Django +3 <&">', own=False),
        Row("Speed\x00\x1b of <i>", "nodejs", 2, "Node.js +2", own=False),
        Row("Own & reason", "tie", 0, "a tie: 0", own=True),
    )
    svg = _svg(knowledge, heading, bars)
    root = parsed(svg)
    assert "<script" not in svg and "<b>" not in svg and "<a " not in svg and "<i>" not in svg
    assert {e.tag for e in root.iter()} <= {f"{NS}{tag}" for tag in ELEMENTS}
    words = " ".join(shown(root).split())
    assert f"Community {nasty}" in words and 'Django +3 <&">' in words
    assert "Speed of <i>" in words  # characters XML cannot hold are left out, the rest stays
    (title,) = elements(root, "title")
    assert title.text == f'Verdict <b>&"{nasty}'
    (desc,) = elements(root, "desc")
    assert f'Community {nasty}: Django +3 <&">' in (desc.text or "").splitlines()


def test_svg_chart_has_no_script_handler_style_or_external_reference(
    knowledge: Knowledge,
) -> None:
    for language in ("en", "ru"):
        k = knowledge.speaking(language)
        svg = render_chart_svg(recommend(k, EVERYTHING), k)
        assert "<script" not in svg.lower() and " on" not in svg
        assert "style" not in svg and "href" not in svg and "url(" not in svg
        assert svg.count("http") == 1  # the namespace only
        for element in parsed(svg).iter():
            assert element.tag.removeprefix(NS) in ELEMENTS
            assert set(element.attrib) <= ATTRIBUTES, element.attrib


def test_the_same_answers_give_the_same_svg_chart_and_other_answers_another(
    knowledge: Knowledge,
) -> None:
    first = render_chart_svg(recommend(knowledge, DJANGO_CASE), knowledge)
    assert render_chart_svg(recommend(knowledge, dict(DJANGO_CASE)), knowledge) is first
    other = render_chart_svg(recommend(knowledge, NODE_CASE), knowledge)
    assert other != first
    # Two charts inlined in one page do not share the ids of their titles.
    assert parsed(other).get("aria-labelledby") != parsed(first).get("aria-labelledby")


@PROPERTY
@given(data=st.data())
def test_any_answers_give_an_svg_chart_that_parses_and_shows_every_row(
    knowledge: Knowledge, any_answers: Any, data: st.DataObject
) -> None:
    k = knowledge.speaking(data.draw(st.sampled_from(["en", "es", "pt", "ru"])))
    rec = recommend(k, data.draw(any_answers))
    root = parsed(render_chart_svg(rec, k))
    words = " ".join(shown(root).split())
    for row in rows(rec, k):
        assert " ".join(row.label.split()) in words and row.value in words
    (desc,) = elements(root, "desc")
    assert len((desc.text or "").splitlines()) == 1 + len(rec.ledger)


def test_importing_the_chart_does_not_load_pillow() -> None:
    code = "import sys, advisor.chart; print(sorted(m for m in sys.modules if m == 'PIL'))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
