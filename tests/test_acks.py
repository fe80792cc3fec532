"""Which updates may be acknowledged: only those whose turn was committed (issue 21)."""

from __future__ import annotations

import asyncio
from typing import Any

from frontends.telegram import run
from frontends.telegram.acks import Acknowledgements


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_update_whose_turn_did_not_commit_is_refused_until_it_commits() -> None:
    acks = Acknowledgements()
    acks.begin(7)
    assert acks.failed(7, user_id=1)
    assert acks.refused(7)
    acks.begin(7)  # Telegram sends it again, and this time it commits
    acks.done(7, 1)
    assert not acks.refused(7)


def test_a_poisoned_update_is_given_up_after_enough_tries_and_time_not_before() -> None:
    clock = Clock()
    acks = Acknowledgements(max_tries=3, clock=clock, give_up_seconds=60)
    assert all(acks.failed(9, 1) for _ in range(5)), "fast tries alone never give up"
    clock.now = 61
    assert not acks.failed(9, 1), "tried often enough, for long enough: acknowledged"
    assert not acks.refused(9)
    assert not acks.waits(1, 10), "the person's later updates no longer wait"


def test_a_persons_later_updates_wait_behind_one_to_come_again_others_do_not() -> None:
    acks = Acknowledgements()
    acks.failed(5, user_id=1)
    assert acks.waits(1, 6) and not acks.waits(1, 5) and not acks.waits(1, 4)
    assert not acks.waits(2, 6), "someone else's updates go on"
    acks.begin(5)
    acks.done(5, 1)
    assert not acks.waits(1, 6)


def test_one_moment_is_said_once_per_update() -> None:
    acks = Acknowledgements()
    assert acks.tell_once(3) and not acks.tell_once(3) and acks.tell_once(4)


class App:
    """What the polling inbox uses of python-telegram-bot's Application."""

    def __init__(self, fail: set[int], commit_first: bool = False) -> None:
        self.fail = fail
        #: The turn commits (and says so) before it fails: its delivery found no database.
        self.commit_first = commit_first
        self.bot = None  # polled updates come as JSON, parsed with the bot (none needed here)
        self.handled: list[int] = []
        self.update_processor = self
        services = type("Services", (), {"acks": Acknowledgements()})()
        self.bot_data = type("BotData", (), {"services": services})()

    async def process_update(self, update: Any, coroutine: Any = None) -> None:
        if coroutine is not None:
            await coroutine
            return
        self.handled.append(update.update_id)
        acks = self.bot_data.services.acks
        if self.commit_first:
            acks.committed(update.update_id)
        if update.update_id in self.fail:
            acks.failed(update.update_id, user_id=1)


async def test_polling_never_confirms_past_an_update_whose_turn_did_not_commit() -> None:
    app = App(fail={2})
    inbox = run._Inbox(app)  # the parts of an Application it uses
    assert inbox.take([{"update_id": 1}, {"update_id": 2}, {"update_id": 3}], None)
    while inbox.running:
        await inbox.progress(inbox.finished)
    assert inbox.held and inbox.offset == 2, "update 2 is not confirmed, nor anything after it"
    assert not inbox.take([{"update_id": 2}, {"update_id": 3}], 2), "seen already: nothing new"
    app.fail.clear()
    while inbox.held or inbox.running:
        await asyncio.wait_for(inbox.progress(inbox.finished), 5)
    assert inbox.offset == 4 and app.handled.count(2) == 2 and app.handled.count(3) == 1


async def test_a_turn_that_committed_then_found_no_database_is_tried_again_not_dropped() -> None:
    app = App(fail={1}, commit_first=True)
    inbox = run._Inbox(app)
    acks = app.bot_data.services.acks
    person = {"id": 1, "is_bot": False, "first_name": "Ann"}
    chat = {"id": 1, "type": "private", "first_name": "Ann"}
    message = {"message_id": 5, "date": 1, "chat": chat, "from": person, "text": "Python"}
    assert inbox.take([{"update_id": 1, "message": message}], None)
    while inbox.running:
        await inbox.progress(inbox.finished)
    assert inbox.held and 1 in inbox.failed, "refused: tried again (it delivers what is owed)"
    assert acks.waits(1, 2), "meanwhile the person's next update waits behind it"
    app.fail.clear()
    while inbox.held or inbox.running:
        await asyncio.wait_for(inbox.progress(inbox.finished), 5)
    assert app.handled == [1, 1] and not acks.waits(1, 2), "done: the person is not held up"
    assert inbox.offset == 2
