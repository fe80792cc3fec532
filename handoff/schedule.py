"""When a lead's failed delivery is tried again: soon at first, then less and less often."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The longest wait a destination may ask for ("Retry-After"), in seconds.
LONGEST_ASKED_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Exponential backoff: ``first`` seconds after the first failure, ``factor`` times longer
    after each further one, never more than ``longest``."""

    first: float = 2.0
    factor: float = 2.0
    longest: float = 600.0

    def delay(self, failures: int, *, asked: float | None = None) -> int:
        """Whole seconds to wait after the ``failures``-th failed attempt in a row (1: the
        first); at least what the destination asked for (up to an hour)."""
        wait = min(self.first * self.factor ** max(failures - 1, 0), self.longest)
        if asked is not None and asked > 0:
            wait = max(wait, min(asked, LONGEST_ASKED_SECONDS))
        return max(math.ceil(wait), 1)
