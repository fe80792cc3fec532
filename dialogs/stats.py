"""Statistics for admins: dialogs started and finished, shares and leads, per tracked link."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from advisor.session import QUESTION_PREFIX
from storage.base import FINISHED, LEAD, SHARED, STARTED, Event

DIRECT = ""  # the source of users who came without a tracked link
WINDOWS = (7, 30)
#: Tracked links shown one by one in /stats; the rest are added up in one line.
TOP_SOURCES = 10
DAY = 86400


@dataclass(slots=True)
class Tally:
    """Counts for one source (or all) in one window."""

    started: int = 0
    finished: int = 0
    shared: int = 0
    leads: int = 0

    @property
    def completion(self) -> float:
        """Finished dialogs per started one, 0 when none started."""
        return self.finished / self.started if self.started else 0.0

    def count(self, kind: str, n: int = 1) -> None:
        if kind == STARTED:
            self.started += n
        elif kind == FINISHED:
            self.finished += n
        elif kind == SHARED:
            self.shared += n
        elif kind == LEAD:
            self.leads += n


@dataclass(slots=True)
class WindowStats:
    """Everything /stats shows for one window of days."""

    days: int
    overall: Tally = field(default_factory=Tally)
    by_source: dict[str, Tally] = field(default_factory=dict)
    recommendations: Counter[str] = field(default_factory=Counter)
    abandoned: Counter[str] = field(default_factory=Counter)

    def top_sources(self, n: int = TOP_SOURCES) -> tuple[list[tuple[str, Tally]], Tally, int]:
        """The ``n`` busiest sources (most started first), the rest added up, and how many."""
        ranked = sorted(self.by_source.items(), key=lambda item: (-item[1].started, item[0]))
        others = Tally()
        for _source, tally in ranked[n:]:
            others.started += tally.started
            others.finished += tally.finished
            others.shared += tally.shared
            others.leads += tally.leads
        return ranked[:n], others, len(ranked[n:])


def compute(
    events: Iterable[Event],
    waiting: Mapping[str, int],
    *,
    now: float,
    days: int,
    links: Iterable[str] = (),
) -> WindowStats:
    """The statistics of the last ``days`` days.

    ``events`` may be single events or totals (``count``); older ones are left out.
    ``waiting`` counts the sessions of the window that stand at each question state.
    ``links`` are the tracked links made: each is a source even before anyone used it (zeros).
    """
    since = int(now - days * DAY)
    stats = WindowStats(days)
    for name in links:
        stats.by_source[name] = Tally()
    for event in events:
        if event.at < since:
            continue
        stats.overall.count(event.kind, event.count)
        stats.by_source.setdefault(event.source or DIRECT, Tally()).count(event.kind, event.count)
        if event.kind == FINISHED and event.detail:
            stats.recommendations[event.detail] += event.count
    for state, count in waiting.items():
        if state.startswith(QUESTION_PREFIX):
            stats.abandoned[state[len(QUESTION_PREFIX) :]] += count
    return stats
