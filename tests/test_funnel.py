"""The /stats funnel picture, the links listed with their counts, and the QR code files."""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from advisor import Knowledge
from dialogs import funnel
from dialogs.stats import DIRECT, Tally, WindowStats, compute
from frontends.telegram.admin_commands import QR_MIN_PX, qr_files
from storage.base import STARTED, Event

LANGUAGES = ("en", "es", "pt", "ru")
NOW = 1_800_000_000.0


def a_month(**sources: Tally) -> WindowStats:
    window = WindowStats(30)
    window.by_source.update(sources)
    return window


def busy_month() -> WindowStats:
    return a_month(
        spring_webinar=Tally(1234, 500, 40, 12),
        **{DIRECT: Tally(30, 20, 2, 1)},
        fresh_flyer=Tally(),
    )


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


# -- statistics --------------------------------------------------------------------------------


def test_a_link_nobody_used_yet_is_a_source_with_zeros() -> None:
    events = [Event(int(NOW), 1, STARTED, "spring")]
    window = compute(events, {}, now=NOW, days=7, links=["spring", "autumn"])
    assert window.by_source["autumn"] == Tally()
    assert window.by_source["spring"].started == 1
    assert [source for source, _ in window.top_sources()[0]] == ["spring", "autumn"]


# -- the funnel picture ------------------------------------------------------------------------


def test_the_funnel_shows_each_link_and_those_without_one(knowledge: Knowledge) -> None:
    blocks = funnel.funnels(busy_month(), knowledge)
    assert [block.label for block in blocks] == ["spring_webinar", "(no link)", "fresh_flyer"]
    assert blocks[0].counts == (1234, 500, 40, 12)
    assert blocks[2].counts == (0, 0, 0, 0)


def test_links_beyond_the_busiest_are_added_up_in_one_funnel(knowledge: Knowledge) -> None:
    window = a_month(**{f"link_{n:02}": Tally(n + 1, n, 0, 0) for n in range(8)})
    blocks = funnel.funnels(window, knowledge)
    assert len(blocks) == funnel.TOP_FUNNELS + 1
    assert blocks[-1].label == "3 other links"
    assert blocks[-1].counts == (1 + 2 + 3, 0 + 1 + 2, 0, 0)


def test_the_funnel_is_a_png_as_wide_as_a_phone_picture_and_longer_with_more_links(
    knowledge: Knowledge,
) -> None:
    one = decoded(funnel.render_funnel_png(a_month(spring=Tally(3, 2, 1, 1)), knowledge))
    three = decoded(funnel.render_funnel_png(busy_month(), knowledge))
    assert one.format == "PNG" and one.width == three.width == funnel.WIDTH
    assert three.height > one.height > 300


def test_the_funnel_names_the_stages_and_the_window_in_the_admins_language(
    knowledge: Knowledge,
) -> None:
    ru = knowledge.speaking("ru")
    window = busy_month()
    texts = [text.text for text in funnel.layout(window, ru, funnel.funnels(window, ru))[0]]
    assert texts[:2] == ["Воронка по ссылкам", "Последние 30 дней"]
    assert {"Начали", "Закончили", "Поделились", "Заявки", "(без ссылки)"} <= set(texts)
    assert "1\xa0234" in texts  # the thousands written the Russian way
    assert "500 (41\xa0%)" in texts


def test_the_funnel_looks_different_in_every_language(knowledge: Knowledge) -> None:
    window = busy_month()
    pictures = {funnel.render_funnel_png(window, knowledge.speaking(lang)) for lang in LANGUAGES}
    assert len(pictures) == len(LANGUAGES)


def test_a_long_link_name_is_cut_to_fit_the_picture(knowledge: Knowledge) -> None:
    name = "campaign_" + "x" * 55
    window = a_month(**{name: Tally(1, 1, 0, 0)})
    texts = funnel.layout(window, knowledge, funnel.funnels(window, knowledge))[0]
    label = next(text.text for text in texts if text.text.startswith("campaign_"))
    assert label.endswith("…") and len(label) < len(name)


def test_a_month_without_visits_still_gets_a_picture_that_says_so(knowledge: Knowledge) -> None:
    window = a_month()
    texts = [t.text for t in funnel.layout(window, knowledge, funnel.funnels(window, knowledge))[0]]
    assert "No visits in this period yet." in texts
    assert decoded(funnel.render_funnel_png(window, knowledge)).width == funnel.WIDTH


def test_the_funnel_text_is_as_large_as_the_advice_charts(knowledge: Knowledge) -> None:
    window = busy_month()
    texts = funnel.layout(window, knowledge, funnel.funnels(window, knowledge))[0]
    assert min(text.px for text in texts) >= 36


def test_drawing_the_funnel_takes_less_than_50_ms(knowledge: Knowledge) -> None:
    window = a_month(**{f"link_{n:02}": Tally(100 * n, 50 * n, n, n) for n in range(12)})
    funnel.render_funnel_png(window, knowledge)  # fonts loaded
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        funnel.render_funnel_png(window, knowledge)
        best = min(best, time.perf_counter() - began)
    assert best < 0.05


# -- the QR code files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://t.me/stack_advisor_test_bot?start=spring_webinar",
        "https://advisor.example.org/s/" + "campaign_" + "x" * 55,
    ],
)
def test_the_qr_code_is_a_print_quality_png_and_an_svg_of_the_link(url: str) -> None:
    png, svg = qr_files(url)
    image = decoded(png)
    assert image.width >= QR_MIN_PX and image.height == image.width
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [url]
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}title") is not None


def test_no_bar_runs_off_the_picture_when_more_leads_came_than_started_in_the_window(
    knowledge: Knowledge,
) -> None:
    window = a_month(spring=Tally(2, 1, 0, 5))  # people who started before the 30 days
    boxes = funnel.layout(window, knowledge, funnel.funnels(window, knowledge))[1]
    assert max(box[0][2] for box in boxes) <= funnel.WIDTH - funnel.MARGIN
