"""The admins' statistics, computed from hand-built events and counts of waiting sessions."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.stats import DAY, DIRECT, Tally, compute
from storage.base import FINISHED, LEAD, SHARED, STARTED, Event

NOW = 1_800_000_000


def event(
    kind: str,
    *,
    source: str | None = None,
    detail: str | None = None,
    days_ago: float = 1,
    count: int = 1,
) -> Event:
    at = int(NOW - days_ago * DAY)
    return Event(at, user_id=1, kind=kind, source=source, detail=detail, count=count)


def dialog(
    source: str | None = None, *, finished: str | None = None, days_ago: float = 1
) -> list[Event]:
    """One person's dialog: started, and finished with this recommendation if given."""
    events = [event(STARTED, source=source, days_ago=days_ago)]
    if finished:
        events.append(event(FINISHED, source=source, detail=finished, days_ago=days_ago))
    return events


def test_counts_are_kept_per_source_and_overall() -> None:
    events = [
        *dialog("ads", finished="django"),
        *dialog("ads"),
        *dialog(None, finished="nodejs"),
        event(SHARED, source="ads", detail="r_abc"),
        event(LEAD, source=None, detail="nodejs"),
    ]
    stats = compute(events, {}, now=NOW, days=7)
    assert stats.overall == Tally(started=3, finished=2, shared=1, leads=1)
    assert stats.by_source == {
        "ads": Tally(started=2, finished=1, shared=1, leads=0),
        DIRECT: Tally(started=1, finished=1, shared=0, leads=1),
    }


def test_the_completion_rate_is_finished_per_started() -> None:
    events = [*dialog(finished="django"), *dialog(), *dialog(), *dialog(finished="nodejs")]
    stats = compute(events, {}, now=NOW, days=7)
    assert stats.overall.completion == pytest.approx(0.5)


def test_the_completion_rate_is_zero_when_nobody_started() -> None:
    stats = compute([], {}, now=NOW, days=7)
    assert stats.overall.completion == 0.0
    assert stats.by_source == {}


def test_the_recommendation_split_counts_each_finished_dialog() -> None:
    events = [
        *dialog(finished="django"),
        *dialog(finished="django"),
        *dialog(finished="nodejs"),
        event(LEAD, detail="django"),  # a lead is not another finished dialog
    ]
    stats = compute(events, {}, now=NOW, days=7)
    assert dict(stats.recommendations) == {"django": 2, "nodejs": 1}


def test_the_most_abandoned_question_is_where_most_unfinished_sessions_wait() -> None:
    waiting = {"q_security": 2, "q_team": 1, "result": 5, "welcome": 3, "lead_contact": 1}
    stats = compute([], waiting, now=NOW, days=7)
    assert stats.abandoned.most_common(1) == [("security", 2)]
    assert dict(stats.abandoned) == {"security": 2, "team": 1}


def test_totals_count_as_many_events_as_they_add_up() -> None:
    totals = [
        event(STARTED, source="ads", count=40),
        event(FINISHED, source="ads", detail="django", count=25),
        event(FINISHED, source="ads", detail="nodejs", count=5),
        event(LEAD, count=2),
    ]
    stats = compute(totals, {}, now=NOW, days=7)
    assert stats.by_source["ads"] == Tally(started=40, finished=30)
    assert stats.overall == Tally(started=40, finished=30, leads=2)
    assert stats.by_source["ads"].completion == pytest.approx(0.75)
    assert dict(stats.recommendations) == {"django": 25, "nodejs": 5}


def test_events_older_than_the_window_are_left_out() -> None:
    events = [
        *dialog("ads", finished="django", days_ago=1),
        *dialog("old", finished="nodejs", days_ago=8),
    ]
    week = compute(events, {}, now=NOW, days=7)
    assert week.overall == Tally(started=1, finished=1)
    assert set(week.by_source) == {"ads"}
    assert dict(week.recommendations) == {"django": 1}

    month = compute(events, {}, now=NOW, days=30)
    assert month.overall == Tally(started=2, finished=2)
    assert dict(month.recommendations) == {"django": 1, "nodejs": 1}


def test_an_event_exactly_at_the_start_of_the_window_counts() -> None:
    stats = compute([event(STARTED, days_ago=7)], {}, now=NOW, days=7)
    assert stats.overall.started == 1
    stats = compute([event(STARTED, days_ago=7.0001)], {}, now=NOW, days=7)
    assert stats.overall.started == 0


def test_the_busiest_links_are_ranked_by_starts_and_the_rest_added_up() -> None:
    events = [
        event(STARTED, source="big", count=9),
        event(STARTED, source="mid", count=5),
        event(FINISHED, source="mid", detail="django", count=4),
        event(STARTED, source="small", count=2),
        event(STARTED, source="tiny", count=1),
        event(LEAD, source="tiny", count=1),
    ]
    stats = compute(events, {}, now=NOW, days=7)
    top, others, hidden = stats.top_sources(2)
    assert [(name, tally.started) for name, tally in top] == [("big", 9), ("mid", 5)]
    assert others == Tally(started=3, leads=1)
    assert hidden == 2


_PLURAL_CASES = {
    "en": {1: ("1 started", "1 lead,", "Last 1 day"), 2: ("2 started", "2 leads", "Last 2 days")},
    "es": {
        1: ("1 empezó", "1 contacto", "Último 1 día"),
        2: ("2 empezaron", "2 contactos", "Últimos 2 días"),
    },
    "pt": {
        1: ("1 começou", "1 contato", "Último 1 dia"),
        2: ("2 começaram", "2 contatos", "Últimos 2 dias"),
    },
    "ru": {
        1: ("1 начал", "1 заявка", "Последний 1 день"),
        2: ("2 начали", "2 заявки", "Последние 2 дня"),
        5: ("5 начали", "5 заявок", "Последние 5 дней"),
        21: ("21 начал", "21 заявка", "Последний 21 день"),
    },
}


@pytest.mark.parametrize(
    ("language", "n"), [(lang, n) for lang, cases in _PLURAL_CASES.items() for n in cases]
)
def test_stats_use_the_right_plural_for_every_count_in_every_language(
    knowledge: Any, language: str, n: int
) -> None:
    from types import SimpleNamespace

    from dialogs.stats import WindowStats
    from frontends.telegram.admin_commands import _window_text

    k = knowledge.speaking(language)
    svc: Any = SimpleNamespace(knowledge=k, presenter=SimpleNamespace(t=k.text))
    window = WindowStats(n)
    window.overall = Tally(started=n, finished=n, shared=n, leads=n)
    window.by_source = {"ads": Tally(started=n, finished=n, shared=n, leads=n)}
    window.abandoned["stack_size"] = n
    text = _window_text(svc, window)
    started, leads, days = _PLURAL_CASES[language][n]
    assert started in text and days in text, text
    assert leads in text.replace("\n", ",") + ",", text
    forms = {f: k.text(f"admin.stats_{f}", count=n) for f in ("finished", "shared", "delivered")}
    assert all(form in text for key, form in forms.items() if key != "delivered"), text
    assert k.text("admin.stats_waiting", count=n).startswith(str(n))
    if language == "ru":
        assert ("незаконченн" in text) and (("сессия" in text) == (n % 10 == 1))
