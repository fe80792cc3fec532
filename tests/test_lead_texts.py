"""The texts about leads: the summary the sales chat gets names the channel the lead came
through, in the admins' language."""

from __future__ import annotations

import pytest

from advisor import Knowledge
from handoff.lead_texts import channel_name, sales_summary
from storage.base import CHANNELS, Lead


def a_lead(channel: str, language: str = "") -> Lead:
    return Lead(
        7,
        7,
        "Ada",
        "ada@example.org",
        "spring",
        "django",
        {"team": "python"},
        0,
        12,
        "k",
        channel,
        language,
    )


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ("telegram", "Came from: Telegram bot"),
        ("web", "Came from: the website"),
        ("mini_app", "Came from: Telegram Mini App"),
    ],
)
def test_the_sales_summary_names_the_channel_the_lead_came_through(
    knowledge: Knowledge, channel: str, words: str
) -> None:
    summary = sales_summary(a_lead(channel), knowledge)
    assert words in summary.splitlines()
    assert summary.startswith("New lead from Stack Advisor (#12)")
    assert "Source: spring" in summary


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", "Llegó por: la web"),
        ("pt", "Chegou por: o site"),
        ("ru", "Канал: сайт"),
    ],
)
def test_the_sales_summary_names_the_channel_in_the_admins_language(
    knowledge: Knowledge, language: str, words: str
) -> None:
    assert words in sales_summary(a_lead("web"), knowledge.speaking(language)).splitlines()


def test_every_channel_has_a_name_of_its_own_in_every_language(knowledge: Knowledge) -> None:
    for language in knowledge.languages:
        k = knowledge.speaking(language)
        names = [channel_name(channel, k.text) for channel in CHANNELS]
        assert len(set(names)) == len(CHANNELS) and all(names), language


def test_a_channel_this_version_does_not_know_is_named_as_it_is(knowledge: Knowledge) -> None:
    summary = sales_summary(a_lead("kiosk"), knowledge)
    assert "Came from: kiosk" in summary.splitlines()


@pytest.mark.parametrize(
    ("admins", "language", "line"),
    [
        ("en", "pt", "Language: Português"),
        ("en", "ru", "Language: Русский"),
        ("es", "en", "Idioma: English"),
        ("pt", "es", "Idioma: Español"),
        ("ru", "pt", "Язык: Português"),
    ],
)
def test_the_sales_summary_names_the_persons_language_in_its_own_words(
    knowledge: Knowledge, admins: str, language: str, line: str
) -> None:
    lines = sales_summary(a_lead("telegram", language), knowledge.speaking(admins)).splitlines()
    assert line in lines
    came_from = next(i for i, text in enumerate(lines) if text.startswith(line.split(":")[0]))
    assert came_from > 0 and lines[came_from - 1].count(":") == 1, "right after “Came from”"


def test_a_lead_of_unknown_language_says_nothing_about_it(knowledge: Knowledge) -> None:
    for language in knowledge.languages:
        k = knowledge.speaking(language)
        summary = sales_summary(a_lead("telegram"), k)
        assert k.text("lead.language_line", name="").strip() not in summary, language
