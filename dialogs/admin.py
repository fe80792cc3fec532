"""What admins ask of the service: a tracked link made, the links listed, the statistics, the
export (one use case each; a front end decodes the command, makes the one call, and draws the
answer)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from handoff import LeadOffice
from storage.base import LeadCounts, LinkTotals, Store

from . import stats
from .conversation import PAYLOAD_RE, Conversation
from .sharecode import ShareCodes


@dataclass(frozen=True, slots=True)
class Report:
    """What /stats shows: the leads delivered and waiting (None when no lead was ever handled
    and none can be), then each window's statistics."""

    leads: LeadCounts | None
    windows: tuple[stats.WindowStats, ...]


class Admin:
    """The admins' use cases over the conversation's store and the lead office."""

    def __init__(self, conversation: Conversation, leads: LeadOffice) -> None:
        self.conversation = conversation
        self.store: Store = conversation.store
        self.leads = leads

    async def make_link(self, admin_id: int, name: str) -> bool:
        """Remember a tracked link an admin made, so people who come through it are counted;
        False for a name a link can't have (too long, odd characters, a share code's)."""
        if not PAYLOAD_RE.match(name) or ShareCodes.is_share_payload(name):
            return False
        await self.conversation.register_link(admin_id, name)
        return True

    async def report(self) -> Report:
        """The leads' counts, then started, finished, shared and leads per source for each
        window (7 and 30 days)."""
        now = self.store.clock()
        counts = await self.leads.desk.counts()
        shown = bool(self.leads.hand_off.destinations or counts.delivered or counts.waiting)
        links = [link.name for link in await self.store.link_totals()]
        windows = []
        for days in stats.WINDOWS:
            since = int(now - days * stats.DAY)
            totals = await self.store.event_totals(since)
            waiting = await self.store.waiting_since(since)
            windows.append(stats.compute(totals, waiting, now=now, days=days, links=links))
        return Report(counts if shown else None, tuple(windows))

    async def links(self) -> list[LinkTotals]:
        """Every tracked link made, newest first, with its started, finished, shared and leads
        of all time (a link nobody used yet with zeros)."""
        return await self.store.link_totals()

    async def export(self, out: Path, *, language: str, admins: Collection[int]) -> float:
        """Every session (with its lead, if any) as a spreadsheet's CSV at ``out``, in the
        language of the admin who asked, the sessions of ``admins`` flagged; when it was taken
        (the store's clock)."""
        await self.store.export_csv(out, language=language, admins=admins)
        return self.store.clock()
