"""Statistics for admins: dialogs started and finished, shares and leads, per tracked link."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from storage.sqlite import FINISHED, LEAD, SHARED, STARTED, SessionStore

DIRECT = ""  # the source of users who came without a tracked link
WINDOWS = (7, 30)


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


@dataclass(slots=True)
class WindowStats:
    """Everything /stats shows for one window of days."""

    days: int
    overall: Tally = field(default_factory=Tally)
    by_source: dict[str, Tally] = field(default_factory=dict)
    recommendations: Counter[str] = field(default_factory=Counter)
    abandoned: Counter[str] = field(default_factory=Counter)


def compute(store: SessionStore, now: float, days: int) -> WindowStats:
    """The statistics of the last ``days`` days."""
    since = int(now - days * 86400)
    stats = WindowStats(days)
    for _user, source, kind, detail in store.events_since(since):
        tally = stats.by_source.setdefault(source or DIRECT, Tally())
        for target in (stats.overall, tally):
            if kind == STARTED:
                target.started += 1
            elif kind == FINISHED:
                target.finished += 1
            elif kind == SHARED:
                target.shared += 1
            elif kind == LEAD:
                target.leads += 1
        if kind == FINISHED and detail:
            stats.recommendations[detail] += 1
    for _source, question_id in store.unfinished_since(since):
        stats.abandoned[question_id] += 1
    return stats
