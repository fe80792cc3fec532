"""Which updates may be acknowledged to Telegram: only those whose turn was committed.

A turn that could not be committed (the database is down, stalled, or another instance holds
the person's lock past every wait) must not be acknowledged, or the answer in it is lost: the
webhook then answers 503, so Telegram sends the update again, and polling does not move its
offset past it, so the next ``getUpdates`` returns it again. The person hears one short "one
moment" rather than silence. A person's later updates wait behind the one to be sent again
(they are refused too), so their answers are still applied in order. To keep one poisoned
update from holding up a chat for ever, an instance refuses an update for
:data:`GIVE_UP_SECONDS` at most (and at least :data:`MAX_TRIES` times: Telegram's first tries
come quickly); after that it is acknowledged with an apology (the person is asked to send it
again).

Only storage failures are refused: an update that fails for any other reason (a bug) would
fail the same way every time, so it is acknowledged at once, with the apology.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application

from frontends.metrics import GIVEN_UP, OK, REFUSED

#: An update whose turn did not commit is refused until it has been tried this many times and
#: for this long, then acknowledged anyway.
MAX_TRIES = 8
GIVE_UP_SECONDS = 600.0
#: Updates remembered (the most recent): enough for every update in flight many times over.
REMEMBERED = 10_000
#: A person's later updates wait behind one to be sent again at most this long, in seconds (in
#: case it never comes back here: another instance took it, or Telegram gave it up).
HOLD_SECONDS = GIVE_UP_SECONDS


class Acknowledgements:
    """What became of each update's turn, for the webhook server and the polling loop."""

    def __init__(
        self,
        max_tries: int = MAX_TRIES,
        clock: Callable[[], float] = time.monotonic,
        give_up_seconds: float = GIVE_UP_SECONDS,
    ) -> None:
        self.max_tries = max_tries
        self.give_up_seconds = give_up_seconds
        self.clock = clock
        #: update id -> failed tries so far, and when the first one failed.
        self._failed: OrderedDict[int, tuple[int, float]] = OrderedDict()
        #: Updates whose last try failed and that are to be sent again (not acknowledged).
        self._refused: set[int] = set()
        #: user -> the earliest of their updates to be sent again, and since when: their later
        #: ones wait.
        self._held: dict[int, tuple[int, float]] = {}
        #: Updates the person was already told "one moment" about.
        self._told: OrderedDict[int, None] = OrderedDict()
        #: What became of updates other than committing or being refused (a redelivery, a
        #: failure, given up), noted during their try, for :attr:`observe`.
        self._outcomes: OrderedDict[int, str] = OrderedDict()
        #: Told of each update once it was handled: the update, its outcome (see
        #: :data:`frontends.metrics.OUTCOMES`) and the seconds it took (the metrics).
        self.observe: Callable[[Update, str, float], None] | None = None
        #: Told of each update whose turn committed, as soon as it has (before its replies
        #: are sent): polling confirms it then (see ``run._Inbox``).
        self.on_commit: Callable[[int], None] | None = None

    def committed(self, update_id: int) -> None:
        """The update's turn committed: it may be acknowledged, whatever its delivery does."""
        if self.on_commit is not None:
            self.on_commit(update_id)

    def begin(self, update_id: int) -> None:
        """A try of this update starts: nothing is refused until it fails."""
        if self._refused:
            self._refused.discard(update_id)

    def waits(self, user_id: int, update_id: int) -> bool:
        """Whether an earlier update of this user is still to be sent again: this one must
        wait behind it (it is refused, without a turn)."""
        held = self._held.get(user_id)
        if held is None:
            return False
        if self.clock() - held[1] > HOLD_SECONDS:
            del self._held[user_id]
            return False
        return held[0] < update_id

    def failed(self, update_id: int, user_id: int | None = None) -> bool:
        """Note that this update's turn did not commit; True when it is to be sent again,
        False when it has failed :attr:`max_tries` times and is acknowledged anyway."""
        tries, since = self._failed.pop(update_id, (0, self.clock()))
        tries += 1
        if tries >= self.max_tries and self.clock() - since >= self.give_up_seconds:
            self._refused.discard(update_id)
            self._release(user_id, update_id)
            self.note(update_id, GIVEN_UP)
            return False
        self._failed[update_id] = (tries, since)
        _bound(self._failed)
        self._refused.add(update_id)
        if user_id is not None:
            held = self._held.get(user_id)
            if held is None or update_id <= held[0]:
                self._held[user_id] = (update_id, self.clock())
        return True

    def done(self, update_id: int, user_id: int | None) -> None:
        """The try of this update ended; unless it was refused, it is acknowledged, and the
        user's later updates no longer wait for it."""
        if update_id in self._refused:
            return
        if self._failed:
            self._failed.pop(update_id, None)
        self._release(user_id, update_id)

    def refused(self, update_id: int) -> bool:
        """Whether the last try of this update failed, so it must not be acknowledged."""
        return update_id in self._refused

    def tries(self, update_id: int) -> int:
        """How many tries of this update have failed so far."""
        return self._failed.get(update_id, (0, 0.0))[0]

    def tell_once(self, update_id: int) -> bool:
        """True the first time it is asked for an update: whether to say "one moment" now."""
        if update_id in self._told:
            return False
        self._told[update_id] = None
        _bound(self._told)
        return True

    def note(self, update_id: int, outcome: str) -> None:
        """What became of this update, when it is not "ok" (committed) or "refused"."""
        self._outcomes[update_id] = outcome
        _bound(self._outcomes)

    def outcome(self, update_id: int) -> str:
        """What became of the update's try just ended (and forget it)."""
        if update_id in self._refused:
            return REFUSED
        if self._outcomes:
            return self._outcomes.pop(update_id, OK)
        return OK

    def _release(self, user_id: int | None, update_id: int) -> None:
        if user_id is None:
            return
        held = self._held.get(user_id)
        if held is not None and held[0] == update_id:
            del self._held[user_id]


async def process(
    app: Application[Any, Any, Any, Any, Any, Any],
    acks: Acknowledgements,
    update: Update,
) -> bool:
    """Run an update through the application's update processor (one user's in order), as the
    webhook and polling both do; whether it may be acknowledged (its turn was committed).
    The time it took and what became of it go to :attr:`Acknowledgements.observe`."""
    started = time.perf_counter()
    acks.begin(update.update_id)
    try:
        await app.update_processor.process_update(update, app.process_update(update))
    finally:
        user = update.effective_user
        acks.done(update.update_id, user.id if user else None)
    if acks.observe is not None:
        acks.observe(update, acks.outcome(update.update_id), time.perf_counter() - started)
    return not acks.refused(update.update_id)


def _bound(remembered: OrderedDict[int, Any]) -> None:
    while len(remembered) > REMEMBERED:
        remembered.popitem(last=False)
