"""Leads as one capability: the use cases a front end calls, with plain data in and out.

The :class:`LeadOffice` holds the desk that delivers leads, where they go (the
:class:`~handoff.desk.HandOff`), the sales chat's health and the CRM hook's connections. A
front end sets up its sales chat's sender and checks, runs the jobs, and shows the
:class:`~handoff.lead_texts.Note` each use case returns in its own markup; nothing here
knows the messenger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from advisor import Knowledge
from settings import Settings
from storage.base import StorageError

from . import lead_texts
from .desk import TELEGRAM, WEBHOOK, HandOff, LeadDesk, Waiting
from .lead_texts import Note, Texts
from .sales_chat import ChatCheck, SalesChat

if TYPE_CHECKING:
    import aiohttp

logger = logging.getLogger(__name__)

#: Leads waiting listed by /leads at once (one message each).
LEADS_SHOWN = 10
#: The latest leads /leads lists after the waiting ones, and the most one may ask for at once
#: (``/leads 30``).
LATEST_SHOWN = 10
LATEST_MOST = 50


@dataclass(frozen=True, slots=True)
class Listing:
    """What ``/leads`` shows: first the leads that need action (a title, then one card each with
    its buttons), then the latest leads whatever became of them (a title, then one note per
    lead; a front end packs these into as few messages as fit, never splitting a lead)."""

    waiting: tuple[Note, ...]
    latest: tuple[Note, ...]


class LeadOffice:
    """Everything about leads: the desk, the hand-off, the sales chat's health, the CRM hook,
    and what admins see (``/leads``, its buttons, the alert about stuck leads)."""

    def __init__(self, desk: LeadDesk, settings: Settings) -> None:
        self.desk = desk
        self.settings = settings
        chat_id = settings.sales_chat_id
        #: What the checks of the sales chat found (None: no sales chat).
        self.sales_chat = SalesChat(chat_id) if chat_id is not None else None
        #: The CRM hook's connections, while it is open.
        self.session: aiohttp.ClientSession | None = None

    @property
    def hand_off(self) -> HandOff:
        return self.desk.hand_off

    # -- running -------------------------------------------------------------------------------

    def open_crm_hook(
        self, knowledge: Knowledge, *, source_link: Callable[[str], str | None]
    ) -> None:
        """Post leads to the CRM hook too, when the settings name one (in a running loop)."""
        url, secret = self.settings.lead_webhook_url, self.settings.lead_webhook_secret
        if url is None or secret is None:
            return
        import aiohttp  # only where leads go to a CRM hook: the console never loads it

        from .crm import WebhookSender

        self.session = aiohttp.ClientSession()
        hook = WebhookSender(
            url,
            secret,
            knowledge,
            self.session,
            source_link=source_link,
            clock=self.desk.store.clock,
        )
        self.desk.senders[WEBHOOK] = hook
        logger.info("leads are also posted to the CRM hook at %s", hook.where)

    async def resume(self) -> None:
        """After a start: every lead still waiting is tried at once."""
        waiting = await self.desk.resume()
        if waiting:
            logger.info("%d lead deliveries are waiting; trying them now", waiting)

    async def close(self) -> None:
        """Close the CRM hook's connections."""
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()

    async def deliver_due(self) -> None:
        """Deliver the leads whose next attempt is due."""
        try:
            await self.desk.deliver_due()
        except StorageError as exc:  # the database is away for now: the next round tries again
            logger.warning("could not deliver leads now: %s", exc)

    async def sales_chat_checked(
        self, found: ChatCheck | None, *, startup: bool, text: Texts
    ) -> Note | None:
        """A check of the sales chat found this (None: no answer in time): open or close it,
        log a change, and return what admins should hear about it, if anything."""
        health = self.sales_chat
        if health is None:
            return None
        others = [d for d in self.hand_off.destinations if d != TELEGRAM]
        elsewhere = any(self.hand_off.works(d) for d in others)
        verdict = health.judge(found, startup=startup, elsewhere=elsewhere, text=text)
        if verdict.works is True:
            await self.desk.destination_works(TELEGRAM)
        elif verdict.works is False:
            self.hand_off.mark(TELEGRAM, False)
        health.problem = verdict.problem
        if verdict.log is not None:
            logger.log(*verdict.log)
        return Note(verdict.tell) if verdict.tell else None

    async def overdue_alert(self, text: Texts) -> Note | None:
        """The leads not delivered for LEAD_ALERT_MINUTES that nobody heard about yet (each
        returned once, to one instance), as an alert for admins; None when there are none."""
        minutes = self.settings.lead_alert_minutes
        try:
            overdue = await self.desk.overdue(minutes * 60)
        except StorageError as exc:
            logger.warning("could not look for overdue leads now: %s", exc)
            return None
        if not overdue:
            return None
        alert = lead_texts.overdue_alert(overdue, minutes=minutes, text=text)
        logger.warning("%d leads not delivered for %d minutes or more", len(overdue), minutes)
        return alert

    # -- /leads ----------------------------------------------------------------------------------

    async def listing(
        self, knowledge: Knowledge, *, shown: int = LEADS_SHOWN, latest: int = LATEST_SHOWN
    ) -> Listing:
        """``/leads``: the oldest leads still waiting, each with Try again / Mark as handled,
        after a title (or a note that nothing waits); then the ``latest`` leads, newest first,
        with how each delivery went (or, before the first lead, how leads come in)."""
        text = knowledge.text
        latest = max(1, min(latest, LATEST_MOST))
        recent = await self.desk.recent(limit=latest + 1)
        notes = self._latest(recent, latest, older=False, knowledge=knowledge)
        waiting = await self.desk.waiting(limit=shown + 1)
        if not waiting:
            if not recent:
                return Listing((), (lead_texts.leads_empty(text),))
            return Listing((), (Note((text("admin.leads_none"),)), *notes))
        counts = await self.desk.counts()
        title = lead_texts.leads_title(
            counts.waiting, shown=shown, more=len(waiting) > shown, text=text
        )
        cards = (lead_texts.lead_card(lead, text) for lead in waiting[:shown])
        return Listing((title, *cards), tuple(notes))

    async def older(
        self, before: int, knowledge: Knowledge, *, latest: int = LATEST_SHOWN
    ) -> list[Note]:
        """The leads numbered below ``before``, newest first (the "Show older" button under the
        latest leads); none when there are none (any more)."""
        recent = await self.desk.recent(limit=latest + 1, before=before)
        return self._latest(recent, latest, older=True, knowledge=knowledge)

    def _latest(
        self, recent: list[Waiting], latest: int, *, older: bool, knowledge: Knowledge
    ) -> list[Note]:
        return lead_texts.latest_leads(
            recent[:latest],
            more=len(recent) > latest,
            older=older,
            knowledge=knowledge,
            now=int(self.desk.store.clock()),
        )

    async def retry(self, lead_id: int, text: Texts) -> Note:
        """Try a lead's pending deliveries now; its card as it stands afterwards."""
        return self._card(await self.desk.retry(lead_id), text)

    async def settle(self, lead_id: int, text: Texts) -> Note:
        """An admin took care of a lead: nothing more is sent; its card."""
        return self._card(await self.desk.settle(lead_id), text)

    @staticmethod
    def _card(lead: Waiting | None, text: Texts) -> Note:
        return lead_texts.lead_gone(text) if lead is None else lead_texts.lead_card(lead, text)
