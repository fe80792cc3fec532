"""When a failed lead delivery is tried again."""

from __future__ import annotations

from handoff import LEAD_SCHEDULE, OUTBOX_SCHEDULE, RetrySchedule
from handoff.retry import LONGEST_ASKED_SECONDS

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


def test_a_lead_is_tried_once_at_a_time_on_the_default_schedule() -> None:
    assert LEAD_SCHEDULE == DEFAULT and LEAD_SCHEDULE.attempts == 1


def test_a_persons_message_is_tried_three_times_in_a_row_half_a_second_then_a_second_apart() -> (
    None
):
    assert OUTBOX_SCHEDULE.attempts == 3
    pauses = [OUTBOX_SCHEDULE.pause(n) for n in range(1, OUTBOX_SCHEDULE.attempts)]
    assert pauses == [0.5, 1.0]


def test_pauses_in_a_row_are_not_rounded_but_still_capped() -> None:
    assert RetrySchedule(first=0.3, factor=1.5, longest=0.5).pause(1) == 0.3
    assert RetrySchedule(first=0.3, factor=1.5, longest=0.5).pause(3) == 0.5


def test_a_lead_failing_for_weeks_still_waits_the_longest_pause_and_no_more() -> None:
    schedule = RetrySchedule()
    for failures in (100, 1_100, 10**6):
        assert schedule.delay(failures) == int(schedule.longest)
        assert schedule.pause(failures) == schedule.longest
