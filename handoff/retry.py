"""Delivering, one way for everything we send: what a failed attempt says, and when it is tried
again.

A lead on its way to the sales team (:mod:`handoff.desk`) and a message owed to a person (the
outbox of :mod:`dialogs.conversation`) fail alike, with :class:`DeliveryFailed`, and wait
alike, by a :class:`RetrySchedule`: a few attempts in a row, then a longer wait for a later
chance, growing with each failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The longest wait a destination may ask for ("Retry-After"), in seconds.
LONGEST_ASKED_SECONDS = 3600
#: Failures beyond this many in a row wait no longer than after this many.
MAX_STEPS = 64


class DeliveryFailed(Exception):
    """A message or a lead did not arrive.

    ``transient``: it may arrive when tried again (a timeout, a 5xx), else it never will (the
    person blocked the bot); ``maybe_delivered``: the answer was lost, not refused (the
    connection died after it went out), so it may well have arrived; ``retry_after``: the
    destination asked us to wait that long (seconds); ``unusable``: the destination itself
    does not work (the bot is not in the sales chat …)."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool = True,
        maybe_delivered: bool = False,
        retry_after: float | None = None,
        unusable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.transient = transient
        self.maybe_delivered = maybe_delivered
        self.retry_after = retry_after
        self.unusable = unusable


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff: ``first`` seconds after the first failure, ``factor`` times longer
    after each further one, never more than ``longest``.

    ``attempts`` are made in a row, :meth:`pause` apart; after that a delivery waits for a
    later chance (a stored lead: :meth:`delay` whole seconds; a person's message: their next
    update, or the next round of the job that delivers what is owed)."""

    first: float = 2.0
    factor: float = 2.0
    longest: float = 600.0
    attempts: int = 1

    def pause(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt in a row (1: the first)."""
        # The exponent stops growing once the pause is the longest anyway (no overflow after
        # weeks of failures: a float's power of 2 ends at 1024).
        steps = min(max(failures - 1, 0), MAX_STEPS)
        return min(self.first * self.factor**steps, self.longest)

    def delay(self, failures: int, *, asked: float | None = None) -> int:
        """Whole seconds to wait after the ``failures``-th failed attempt in a row (1: the
        first); at least what the destination asked for (up to an hour)."""
        wait = self.pause(failures)
        if asked is not None and asked > 0:
            wait = max(wait, min(asked, LONGEST_ASKED_SECONDS))
        return max(math.ceil(wait), 1)


#: A lead's delivery: one attempt at a time, tried again after 2 s, 4 s, 8 s … at most every
#: 10 minutes, until it arrives or an admin settles it.
LEAD_SCHEDULE = RetrySchedule()
#: A message owed to a person: three attempts in a row, 0.5 s and then 1 s apart; what still
#: did not arrive stays owed.
OUTBOX_SCHEDULE = RetrySchedule(first=0.5, attempts=3)
