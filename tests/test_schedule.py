"""PollSchedule: the waits it produces and the settings it refuses."""

from __future__ import annotations

import itertools

import pytest
from aws_cdk import Duration

from cdk_kp import PollSchedule
from cdk_kp.contract import HISTORY_EVENT_LIMIT
from cdk_kp.infra.schedule import EVENTS_PER_POLL, MAX_POLLS


def lag_bound(schedule: PollSchedule, elapsed: int) -> int:
    """The promise in PollSchedule's docstring for a job that ends just after ``elapsed``."""
    initial = int(schedule.initial_interval.to_seconds())
    maximum = int(schedule.max_interval.to_seconds())
    return max(initial, min(int((schedule.backoff_rate - 1) * elapsed + 1e-9), maximum))


def test_default_waits_add_up_to_the_budget_exactly():
    schedule = PollSchedule()
    assert sum(schedule.waits) == 24 * 3600
    assert len(schedule.waits) == 157


def test_default_waits_start_flat_then_grow_by_the_rate_then_cap():
    waits = PollSchedule().waits
    assert waits[:6] == (60,) * 6
    assert waits[6:10] == (72, 86, 103, 124)
    assert max(waits) == 600
    assert waits[-2] == 600
    # Non-decreasing, except the last wait, which is cut to end exactly at the budget.
    assert all(later >= earlier for earlier, later in itertools.pairwise(waits[:-1]))
    assert waits[-1] == 402


@pytest.mark.parametrize(
    "schedule",
    [
        PollSchedule(),
        PollSchedule(
            initial_interval=Duration.seconds(30),
            backoff_rate=1.5,
            max_interval=Duration.minutes(30),
            timeout=Duration.hours(6),
        ),
        PollSchedule(backoff_rate=1.0, timeout=Duration.hours(1)),
    ],
    ids=["default", "fast-growth", "fixed-interval"],
)
def test_every_wait_keeps_the_detection_lag_promise(schedule: PollSchedule):
    elapsed = 0
    for wait in schedule.waits:
        assert wait <= lag_bound(schedule, elapsed), (elapsed, wait)
        elapsed += wait
    assert elapsed == schedule.timeout_seconds


def test_fixed_interval_when_backoff_rate_is_one():
    schedule = PollSchedule(
        initial_interval=Duration.minutes(2), backoff_rate=1.0, timeout=Duration.minutes(9)
    )
    assert schedule.waits == (120, 120, 120, 120, 60)


def test_max_polls_leaves_room_in_the_history():
    assert MAX_POLLS * EVENTS_PER_POLL < HISTORY_EVENT_LIMIT
    assert MAX_POLLS == 2666


def test_longest_budget_the_history_allows_at_the_default_intervals():
    ramp = list(itertools.takewhile(lambda w: w < 600, PollSchedule().waits))
    longest = sum(ramp) + 600 * (MAX_POLLS - len(ramp))
    assert (len(ramp), sum(ramp), longest) == (18, 3198, 1591998)  # about 18.4 days
    assert len(PollSchedule(timeout=Duration.seconds(longest)).waits) == MAX_POLLS
    with pytest.raises(ValueError, match=r"timeout of 1591999 s needs 2667 polls"):
        PollSchedule(timeout=Duration.seconds(longest + 1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_interval": Duration.seconds(0)}, r"initial_interval must be a positive .*got 0"),
        ({"max_interval": Duration.millis(1500)}, r"max_interval must be a positive whole .*1\.5"),
        ({"timeout": Duration.seconds(0)}, r"timeout must be a positive whole number.*got 0"),
        ({"backoff_rate": 0.9}, r"backoff_rate must be at least 1; got 0\.9"),
        ({"backoff_rate": float("nan")}, r"backoff_rate must be at least 1; got nan"),
        (
            {"initial_interval": Duration.minutes(20)},
            r"initial_interval must not be longer than max_interval; got 1200 s > 600 s",
        ),
        ({"timeout": Duration.seconds(59)}, r"timeout must be at least initial_interval.*got 59 s"),
        ({"timeout": Duration.days(200)}, r"timeout must be at most 15768000 s.*got 17280000 s"),
        (
            {"backoff_rate": 1.0, "timeout": Duration.days(30)},
            r"timeout of 2592000 s needs \d+ polls.*more than the 2666",
        ),
    ],
    ids=[
        "zero-initial",
        "fractional-max",
        "zero-timeout",
        "rate-below-one",
        "rate-nan",
        "initial-above-max",
        "timeout-below-first-wait",
        "timeout-over-half-a-year",
        "history-limit",
    ],
)
def test_invalid_schedule_is_refused_with_field_and_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PollSchedule(**kwargs)
