"""The update processor: each user's updates in order, different users' side by side, bounded.

Updates go in through ``process_update``, python-telegram-bot's own entry point (it wraps
``do_process_update`` in its semaphore), each as its own task created in arrival order, as
the application does.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, Update, User

from advisor import Knowledge
from frontends.telegram import build_application
from frontends.telegram.app import EXTRA_CONNECTIONS
from frontends.telegram.ordering import PerUserOrder
from frontends.telegram.transport import AiohttpRequest
from settings import SettingsError, load_settings

TOKEN = "123456:ABCdef_ghi-jkl"
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def update(update_id: int, user_id: int | None) -> Update:
    """A text message from a user in a private chat; ``None``: an update without a user."""
    if user_id is None:
        return Update(update_id)
    user = User(user_id, "U", is_bot=False)
    chat = Chat(user_id, "private")
    message = Message(update_id, None, chat, from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def nothing() -> None:
    """A handler that yields once and is done."""
    await asyncio.sleep(0)


class Failed(Exception):
    """An update's handler raised."""


@dataclass
class Trace:
    """What ran when: every start and end, and the most updates running at once."""

    events: list[tuple[str, int]] = field(default_factory=list)
    running: int = 0
    most: int = 0

    def started(self, update_id: int) -> None:
        self.events.append(("start", update_id))
        self.running += 1
        self.most = max(self.most, self.running)

    def ended(self, update_id: int) -> None:
        self.events.append(("end", update_id))
        self.running -= 1

    def starts(self) -> list[int]:
        return [update_id for kind, update_id in self.events if kind == "start"]

    def position(self, kind: str, update_id: int) -> int:
        return self.events.index((kind, update_id))


def handler(
    trace: Trace, update_id: int, pause: Callable[[], Awaitable[object]], fail: bool = False
) -> Awaitable[None]:
    async def run() -> None:
        trace.started(update_id)
        try:
            await pause()
            if fail:
                raise Failed(update_id)
        finally:
            trace.ended(update_id)

    return run()


def submit(order: PerUserOrder, upd: Update, work: Awaitable[None]) -> asyncio.Task[None]:
    """Hand an update over the way the application does: a task per update, in order."""
    return asyncio.create_task(order.process_update(upd, work))


async def settle(order: PerUserOrder) -> None:
    """Let every task run as far as it can."""
    for _ in range(20):
        await asyncio.sleep(0)


def assert_each_user_in_order(trace: Trace, arrivals: list[tuple[int, int | None]]) -> None:
    """Each user's updates started in arrival order, each after the previous one ended."""
    users = {user for _, user in arrivals if user is not None}
    for user in users:
        mine = [update_id for update_id, owner in arrivals if owner == user]
        started = [update_id for update_id in trace.starts() if update_id in mine]
        assert started == mine, f"user {user}: ran {started}, arrived {mine}"
        for earlier, later in itertools.pairwise(mine):
            assert trace.position("end", earlier) < trace.position("start", later)


def assert_idle(order: PerUserOrder) -> None:
    assert order.current_concurrent_updates == 0
    assert order.waiting_updates == 0


# -- the whole contract, on random traffic ---------------------------------------------------


async def run_traffic(
    limit: int, traffic: list[tuple[int | None, int, bool]]
) -> tuple[Trace, list[tuple[int, int | None]], list[BaseException | None]]:
    """Submit (user, yields, fails) updates in order; wait for all; the trace and outcomes."""
    order = PerUserOrder(limit)
    trace = Trace()
    arrivals: list[tuple[int, int | None]] = []
    tasks = []
    for update_id, (user, yields, fail) in enumerate(traffic, start=1):

        async def pause(yields: int = yields) -> None:
            for _ in range(yields):
                await asyncio.sleep(0)

        arrivals.append((update_id, user))
        work = handler(trace, update_id, pause, fail)
        tasks.append(submit(order, update(update_id, user), work))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert_idle(order)
    return trace, arrivals, [o if isinstance(o, BaseException) else None for o in outcomes]


@PROPERTY
@given(
    limit=st.integers(1, 8),
    traffic=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(1, 12)),
            st.integers(0, 6),
            st.integers(0, 9).map(lambda n: n == 0),  # one update in ten fails
        ),
        max_size=80,
    ),
)
def test_each_users_updates_run_one_at_a_time_in_arrival_order_within_the_limit(
    limit: int, traffic: list[tuple[int | None, int, bool]]
) -> None:
    trace, arrivals, outcomes = asyncio.run(run_traffic(limit, traffic))
    assert sorted(trace.starts()) == [update_id for update_id, _ in arrivals], "each ran once"
    assert_each_user_in_order(trace, arrivals)
    assert trace.most <= limit
    for (_, _, fail), outcome in zip(traffic, outcomes, strict=True):
        assert isinstance(outcome, Failed) if fail else outcome is None


async def test_many_users_with_random_delays_each_see_their_updates_in_order() -> None:
    rng = random.Random(13)
    order = PerUserOrder(16)
    trace = Trace()
    arrivals: list[tuple[int, int | None]] = []
    tasks = []
    for update_id in range(1, 2001):  # 200 users, about 10 updates each, interleaved
        user = rng.randrange(200)
        arrivals.append((update_id, user))

        def pause(seconds: float = rng.uniform(0, 0.003)) -> Awaitable[None]:
            return asyncio.sleep(seconds)

        tasks.append(submit(order, update(update_id, user), handler(trace, update_id, pause)))
        if rng.random() < 0.1:
            await asyncio.sleep(0.001)  # updates keep arriving while others run
    await asyncio.gather(*tasks)
    assert_each_user_in_order(trace, arrivals)
    assert trace.most == 16, "the limit was reached, never passed"
    assert_idle(order)


# -- the limit ---------------------------------------------------------------------------------


async def test_no_more_updates_run_at_once_than_the_limit() -> None:
    order = PerUserOrder(4)
    trace = Trace()
    gate = asyncio.Event()
    tasks = [submit(order, update(n, 1000 + n), handler(trace, n, gate.wait)) for n in range(1, 31)]
    await settle(order)
    assert trace.running == 4
    assert order.current_concurrent_updates == 4 and order.waiting_updates == 26
    gate.set()
    await asyncio.gather(*tasks)
    assert trace.most == 4
    assert trace.starts() == list(range(1, 31)), "slots are given first come, first served"


async def test_the_limit_must_be_at_least_one() -> None:
    assert PerUserOrder(7).limit == 7
    with pytest.raises(ValueError, match="at least 1"):
        PerUserOrder(0)


# -- different users -------------------------------------------------------------------------


async def test_different_users_updates_run_at_the_same_time() -> None:
    order = PerUserOrder(2)
    trace = Trace()
    ann_started, bob_started = asyncio.Event(), asyncio.Event()

    async def ann_waits_for_bob() -> None:
        ann_started.set()
        await bob_started.wait()

    async def bob_waits_for_ann() -> None:
        bob_started.set()
        await ann_started.wait()

    both = asyncio.gather(
        submit(order, update(1, 1), handler(trace, 1, ann_waits_for_bob)),
        submit(order, update(2, 2), handler(trace, 2, bob_waits_for_ann)),
    )
    await asyncio.wait_for(both, 5)  # each needs the other running: one at a time would hang
    assert trace.most == 2


async def test_a_busy_users_queued_updates_take_no_slot_from_another_user() -> None:
    order = PerUserOrder(2)
    trace = Trace()
    slow = asyncio.Event()
    ann = [submit(order, update(1, 1), handler(trace, 1, slow.wait))]
    ann += [submit(order, update(n, 1), handler(trace, n, nothing)) for n in (2, 3, 4)]
    await settle(order)
    bob = submit(order, update(5, 2), handler(trace, 5, nothing))
    await asyncio.wait_for(bob, 5)  # while Ann's first update is still running
    assert not slow.is_set() and trace.starts() == [1, 5]
    slow.set()
    await asyncio.gather(*ann)
    assert trace.starts() == [1, 5, 2, 3, 4]


async def test_a_user_with_many_queued_updates_waits_for_a_slot_like_everyone_else() -> None:
    order = PerUserOrder(1)
    trace = Trace()
    slow = asyncio.Event()
    tasks = [submit(order, update(1, 1), handler(trace, 1, slow.wait))]
    tasks += [submit(order, update(n, 1), handler(trace, n, nothing)) for n in (2, 3)]
    tasks += [submit(order, update(4, 2), handler(trace, 4, nothing))]
    tasks += [submit(order, update(5, 3), handler(trace, 5, nothing))]
    await settle(order)
    slow.set()
    await asyncio.gather(*tasks)
    # Bob and Cy were ready before Ann's second update was (it waited for her first).
    assert trace.starts() == [1, 4, 5, 2, 3]


# -- failures and cancellation ---------------------------------------------------------------


async def test_an_update_that_fails_hands_the_turn_to_its_users_next_update() -> None:
    order = PerUserOrder(1)
    trace = Trace()
    failing = submit(order, update(1, 1), handler(trace, 1, nothing, fail=True))
    after = submit(order, update(2, 1), handler(trace, 2, nothing))
    other = submit(order, update(3, 2), handler(trace, 3, nothing))
    with pytest.raises(Failed):
        await failing  # PTB's application logs it through the error handlers
    await asyncio.gather(after, other)
    assert trace.starts() == [1, 3, 2]
    assert_idle(order)


async def test_a_cancelled_update_that_waited_leaves_its_users_later_updates_in_order() -> None:
    order = PerUserOrder(1)
    trace = Trace()
    slow = asyncio.Event()
    first = submit(order, update(1, 1), handler(trace, 1, slow.wait))
    queued = submit(order, update(2, 1), handler(trace, 2, nothing))
    last = submit(order, update(3, 1), handler(trace, 3, nothing))
    ready = submit(order, update(4, 2), handler(trace, 4, nothing))
    await settle(order)
    queued.cancel()  # queued behind its user
    ready.cancel()  # ready, waiting for the one slot
    await settle(order)
    slow.set()
    await asyncio.gather(first, last)
    assert queued.cancelled() and ready.cancelled()
    assert trace.starts() == [1, 3]
    assert_idle(order)


async def test_an_update_cancelled_just_as_it_got_its_slot_hands_the_slot_on() -> None:
    order = PerUserOrder(1)
    trace = Trace()
    slow = asyncio.Event()
    first = submit(order, update(1, 1), handler(trace, 1, slow.wait))
    second = submit(order, update(2, 2), handler(trace, 2, nothing))
    third = submit(order, update(3, 2), handler(trace, 3, nothing))
    await settle(order)
    slow.set()
    await asyncio.sleep(0)  # the first ends and hands its slot to the second ...
    second.cancel()  # ... which is cancelled before it could start
    await asyncio.gather(first, third)
    assert second.cancelled()
    assert trace.starts() == [1, 3]
    assert_idle(order)


async def test_updates_without_a_user_run_within_the_limit_in_any_order() -> None:
    order = PerUserOrder(2)
    trace = Trace()
    gate = asyncio.Event()
    tasks = [submit(order, update(n, None), handler(trace, n, gate.wait)) for n in (1, 2, 3)]
    await settle(order)
    assert trace.running == 2
    gate.set()
    await asyncio.gather(*tasks)
    assert sorted(trace.starts()) == [1, 2, 3]


# -- the setting and the wiring --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", r"^MAX_CONCURRENT_UPDATES: must be between 1 and 512, not 0$"),
        ("513", r"^MAX_CONCURRENT_UPDATES: must be between 1 and 512, not 513$"),
        ("lots", r"^MAX_CONCURRENT_UPDATES: must be a whole number, not 'lots'$"),
    ],
)
def test_a_bad_concurrency_limit_is_refused_naming_the_variable(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"BOT_TOKEN": TOKEN, "MAX_CONCURRENT_UPDATES": value})


def test_the_application_runs_updates_within_the_limit_with_a_connection_each(
    knowledge: Knowledge, tmp_path: Path
) -> None:
    assert load_settings({}).max_concurrent_updates == 64
    environ = {"BOT_TOKEN": TOKEN, "MAX_CONCURRENT_UPDATES": "12", "STATE_DB": str(tmp_path / "db")}
    app = build_application(load_settings(environ), knowledge)
    processor = app.update_processor
    assert isinstance(processor, PerUserOrder) and processor.limit == 12
    calls = app.bot.request
    assert isinstance(calls, AiohttpRequest)
    assert calls.connection_pool_size == 12 + EXTRA_CONNECTIONS
    polls = app.bot._request[0]  # getUpdates has a client of its own (not public in PTB)
    assert isinstance(polls, AiohttpRequest) and polls.connection_pool_size == 1
