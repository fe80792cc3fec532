"""End to end: three `python bot.py` on one PostgreSQL behind a balancer, one killed every few
hundred updates, and still every answer applied once, in order, with the advisor core's result.

The run itself lives in ``bench/kill.py`` (``make bench`` runs it with 300 users); here it runs
with the same 300 users (about a minute on two cores; ``-m 'not slow'`` leaves it out).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from advisor import Knowledge
from bench.kill import run_kill
from fake_telegram import FakeTelegram
from tests.e2e.conftest import TOKEN
from tests.postgres import Postgres

#: Users in the test (the bench runs 300, about 3,150 updates); a kill every this many updates
#: they send (and once the last one killed serves again): paced by progress, not the clock.
USERS = 300
KILL_EVERY = 300

pytestmark = [
    pytest.mark.slow,
    # aiohttp (in the fake) warns, and leaves a temporary file to the garbage collector, when
    # a killed bot cuts an upload (the chart) short
    pytest.mark.filterwarnings("ignore:unread_data:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
async def balancer() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API, redelivering patiently (Telegram retries an update for a day)."""
    async with FakeTelegram(
        token=TOKEN, webhook_retry_delay=0.2, webhook_max_attempts=1000
    ) as fake:
        yield fake


async def test_three_instances_with_one_killed_every_few_seconds_lose_and_repeat_nothing(
    balancer: FakeTelegram, postgres: Postgres, knowledge: Knowledge, tmp_path: Path
) -> None:
    try:
        figures = await run_kill(
            balancer,
            knowledge,
            database_url=postgres.url,
            schema=postgres.schema,
            work=tmp_path,
            users=USERS,
            kill_every=KILL_EVERY,
            token=TOKEN,
        )
    finally:
        gc.collect()  # while the warnings above are ignored
    print(figures)
    assert figures["kills"] >= 3, figures
    assert (figures["lost"], figures["duplicated"], figures["misordered"]) == (0, 0, 0), figures
    assert figures["resent"] <= figures["kills"], figures
    assert not balancer.internal_errors
