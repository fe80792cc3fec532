"""When a failed lead delivery is tried again."""

from __future__ import annotations

from handoff import RetrySchedule
from handoff.schedule import LONGEST_ASKED_SECONDS

DEFAULT = RetrySchedule()


def test_the_first_retry_comes_two_seconds_after_the_first_failure() -> None:
    assert DEFAULT.delay(1) == 2


def test_each_further_failure_in_a_row_doubles_the_wait() -> None:
    assert [DEFAULT.delay(n) for n in range(1, 9)] == [2, 4, 8, 16, 32, 64, 128, 256]


def test_the_wait_never_grows_beyond_ten_minutes() -> None:
    assert DEFAULT.delay(10) == 600
    assert DEFAULT.delay(1000) == 600  # no overflow, however long it fails


def test_a_destination_that_asks_for_a_longer_wait_gets_it() -> None:
    assert DEFAULT.delay(1, asked=30) == 30
    assert DEFAULT.delay(8, asked=30) == 256  # the backoff is longer already


def test_an_asked_wait_is_capped_at_an_hour_and_nonsense_is_ignored() -> None:
    assert DEFAULT.delay(1, asked=10**9) == LONGEST_ASKED_SECONDS == 3600
    assert DEFAULT.delay(1, asked=-5) == 2
    assert DEFAULT.delay(1, asked=0) == 2


def test_waits_are_whole_seconds_and_at_least_one() -> None:
    schedule = RetrySchedule(first=0.3, factor=1.5, longest=10)
    assert [schedule.delay(n) for n in range(1, 7)] == [1, 1, 1, 2, 2, 3]
    assert RetrySchedule(first=0, factor=1).delay(5) == 1
