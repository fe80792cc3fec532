"""The lead desk: delivers stored leads to every destination, and tells admins what is stuck.

A lead is committed in the turn that took the contact, with one delivery owed to each
destination (:class:`HandOff` says which), so the person is thanked at once whatever happens
next. :meth:`LeadDesk.deliver_due` then claims due deliveries for a while (a lease, atomic in
the store, so several instances never send the same one), hands each to its destination's
sender and records the outcome. A failure is tried again later (:data:`LEAD_SCHEDULE`); it is
never shown to the person, never dropped, and listed for admins (``/leads``) until it works or
an admin settles it. When one delivery to a destination fails, the others claimed for it wait
with it, so a destination that is down is asked again only by the backoff, not once per lead.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from settings import Settings
from storage.base import PENDING, Lead, LeadCounts, LeadDelivery, Store

from .retry import LEAD_SCHEDULE, DeliveryFailed, RetrySchedule

logger = logging.getLogger(__name__)

#: The destinations, as stored with each delivery.
TELEGRAM, WEBHOOK = "telegram", "webhook"
#: How long an instance holds a claimed delivery: twice as long as one attempt may take, so a
#: claim runs out only when its instance died (another instance then takes the delivery).
LEASE_SECONDS = 60
#: One attempt that takes longer than this counts as failed (and is tried again later).
ATTEMPT_SECONDS = 25.0
#: Deliveries claimed at a time.
BATCH = 20
#: The longest reason kept with a failed delivery.
REASON_LIMIT = 300


#: Sends one lead to one destination; raises :class:`DeliveryFailed` when it did not arrive
#: (its ``retry_after`` and ``unusable`` count; every failure of a lead is tried again).
LeadSender = Callable[[Lead], Awaitable[None]]


class HandOff:
    """Where new leads go, and whether people may be offered the hand-off right now.

    ``destinations`` are every destination configured; a new lead is owed to each. The
    hand-off is open while at least one of them is known to work: a destination that needs a
    check first (the sales chat) starts closed and opens when the check passes."""

    def __init__(self, destinations: Sequence[str], *, unchecked: Iterable[str] = ()) -> None:
        self.destinations = tuple(destinations)
        self._working = set(unchecked) & set(self.destinations)

    @property
    def is_open(self) -> bool:
        """Whether leads reach the sales team somewhere now (a destination works)."""
        return bool(self._working)

    def open_for(self, *, private: bool, consented: bool = False) -> bool:
        """Whether the hand-off may go on in a chat now: only in a private chat, and only with
        a sales team to get the contact. It is offered (the button, the consent) only while a
        destination works; someone who ``consented`` keeps their step even if one failed
        meanwhile (their lead is stored and delivered once it works again)."""
        if not private or not self.destinations:
            return False
        return consented or self.is_open

    def works(self, destination: str) -> bool:
        return destination in self._working

    def mark(self, destination: str, works: bool) -> bool:
        """Record whether a destination works; True when that changed."""
        if destination not in self.destinations or works == self.works(destination):
            return False
        if works:
            self._working.add(destination)
        else:
            self._working.discard(destination)
        return True


def hand_off_for(settings: Settings) -> HandOff:
    """The destinations the settings name; the sales chat opens once a check passes."""
    destinations = []
    if settings.sales_chat_id is not None:
        destinations.append(TELEGRAM)
    if settings.lead_webhook_url is not None:
        destinations.append(WEBHOOK)
    return HandOff(destinations, unchecked=[WEBHOOK])


@dataclass(frozen=True, slots=True)
class Waiting:
    """A lead and how each of its deliveries stands."""

    lead: Lead
    deliveries: tuple[LeadDelivery, ...]

    @property
    def pending(self) -> tuple[LeadDelivery, ...]:
        return tuple(d for d in self.deliveries if d.status == PENDING)


def by_lead(deliveries: Iterable[LeadDelivery]) -> list[Waiting]:
    """Deliveries grouped by their lead, in the order given."""
    return [
        Waiting(group[0].lead, tuple(group))
        for group in (
            list(items) for _, items in itertools.groupby(deliveries, key=lambda d: d.lead.id)
        )
    ]


class LeadDesk:
    """Delivers leads through the store's lead queue, with the senders the front end set up."""

    def __init__(
        self,
        store: Store,
        hand_off: HandOff,
        *,
        schedule: RetrySchedule | None = None,
        lease: int = LEASE_SECONDS,
        batch: int = BATCH,
    ) -> None:
        self.store = store
        self.hand_off = hand_off
        self.schedule = schedule or LEAD_SCHEDULE
        self.lease = lease
        self.batch = batch
        #: The sender of each destination this instance can deliver to (set at start-up).
        self.senders: dict[str, LeadSender] = {}
        self._lock = asyncio.Lock()
        self._again = False

    # -- delivering ----------------------------------------------------------------------------

    async def deliver_due(self, *, lead_id: int | None = None) -> int:
        """Deliver what is due (of one lead, or all); return how many arrived.

        One pass at a time in this instance: a call while one runs makes it go round once
        more and returns at once (0), so a new lead is never left waiting for the next tick.
        """
        if lead_id is None and self._lock.locked():
            self._again = True
            return 0
        async with self._lock:
            delivered = 0
            while True:
                self._again = False
                delivered += await self._pass(lead_id)
                if not self._again or lead_id is not None:
                    return delivered

    async def _pass(self, lead_id: int | None) -> int:
        failing: dict[str, tuple[str, int]] = {}  # destination -> (reason, due again at)
        delivered = 0
        while True:
            destinations = [d for d in self.senders if d not in failing]
            claimed = await self.store.claim_deliveries(
                destinations, lease=self.lease, limit=self.batch, lead_id=lead_id
            )
            if not claimed:
                return delivered
            groups = [
                [d for d in claimed if d.destination == destination]
                for destination in dict.fromkeys(d.destination for d in claimed)
            ]
            counts = await asyncio.gather(*(self._send_in_order(g, failing) for g in groups))
            delivered += sum(counts)
            if len(claimed) < self.batch:
                return delivered

    async def _send_in_order(
        self, deliveries: list[LeadDelivery], failing: dict[str, tuple[str, int]]
    ) -> int:
        """One destination's deliveries, oldest lead first; after a failure the rest wait."""
        delivered = 0
        for delivery in deliveries:
            destination = delivery.destination
            if destination in failing:
                reason, until = failing[destination]
                await self.store.delivery_postponed(delivery, reason, until)
                continue
            problem = await self._send(delivery)
            if problem is None:
                delivered += 1
            else:
                failing[destination] = problem
        return delivered

    async def _send(self, delivery: LeadDelivery) -> tuple[str, int] | None:
        """Try one delivery; None when it arrived, else the reason and when to try again."""
        lead, destination = delivery.lead, delivery.destination
        try:
            async with asyncio.timeout(min(ATTEMPT_SECONDS, self.lease / 2)):
                await self.senders[destination](lead)
        except TimeoutError:
            reason, asked = f"no answer within {min(ATTEMPT_SECONDS, self.lease / 2):g} s", None
        except DeliveryFailed as failure:
            reason, asked = str(failure) or "no reason given", failure.retry_after
            if failure.unusable and self.hand_off.mark(destination, False):
                logger.warning("leads can't be delivered to %s now: %s", destination, reason)
        except Exception as exc:  # a bug must not lose the lead: it is retried like a failure
            logger.exception("lead %d: sending to %s failed unexpectedly", lead.id, destination)
            reason, asked = f"unexpected error: {exc!r}", None
        else:
            if not await self.store.delivery_done(delivery):
                logger.warning(
                    "lead %d: delivered to %s after its claim ran out (another instance may "
                    "have delivered it too)",
                    lead.id,
                    destination,
                )
            logger.info("lead %d delivered to %s", lead.id, destination)
            self.hand_off.mark(destination, True)
            return None
        reason = reason[:REASON_LIMIT]
        failures = delivery.attempts + 1
        wait = self.schedule.delay(failures, asked=asked)
        retry_at = int(self.store.clock()) + wait
        await self.store.delivery_failed(delivery, reason, retry_at)
        logger.warning(
            "lead %d: delivery to %s failed (attempt %d), trying again in %d s: %s",
            lead.id,
            destination,
            failures,
            wait,
            reason,
        )
        return reason, retry_at

    async def destination_works(self, destination: str) -> bool:
        """A check found the destination working: open it, and if it was not, send what waits
        for it right away (instead of at each delivery's next retry). True when it changed."""
        if not self.hand_off.mark(destination, True):
            return False
        await self.store.retry_now(destination=destination)
        return True

    async def resume(self) -> int:
        """After a start: everything pending is due at once (a setting may have been fixed)."""
        return await self.store.retry_now()

    # -- for admins ----------------------------------------------------------------------------

    async def waiting(self, *, limit: int) -> list[Waiting]:
        """The oldest ``limit`` leads not delivered everywhere yet."""
        return by_lead(await self.store.pending_deliveries(limit=limit))

    async def recent(self, *, limit: int, before: int | None = None) -> list[Waiting]:
        """The newest ``limit`` leads (numbered below ``before``, when given), newest first,
        whatever became of them."""
        found = await self.store.recent_leads(limit=limit, before=before)
        return [Waiting(lead, deliveries) for lead, deliveries in found]

    async def lead(self, lead_id: int) -> Waiting | None:
        """One lead and its deliveries (None: no such lead, or it was forgotten)."""
        found = by_lead(await self.store.deliveries_of(lead_id))
        return found[0] if found else None

    async def retry(self, lead_id: int) -> Waiting | None:
        """Try a lead's pending deliveries now; the lead as it stands afterwards."""
        if await self.store.retry_now(lead_id=lead_id):
            await self.deliver_due(lead_id=lead_id)
        return await self.lead(lead_id)

    async def settle(self, lead_id: int) -> Waiting | None:
        """An admin took care of the lead: nothing more is sent; the lead as it stands."""
        await self.store.settle(lead_id)
        return await self.lead(lead_id)

    async def overdue(self, after_seconds: int) -> list[Waiting]:
        """Leads with a delivery failing for ``after_seconds`` or longer that nobody was
        alerted about yet; each is returned once, to one instance."""
        since = int(self.store.clock()) - after_seconds
        return by_lead(await self.store.claim_alerts(since))

    async def counts(self) -> LeadCounts:
        return await self.store.lead_counts()
