"""The polling schedule: how long the workflow waits before each DescribeKeyPhrasesDetectionJob."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from aws_cdk import Duration

from cdk_kp.contract import HISTORY_EVENT_LIMIT, MAX_EXECUTION_SECONDS
from cdk_kp.infra._validation import raise_problems

#: Events one poll adds: Wait entered/exited, Task entered/scheduled/started/succeeded/exited,
#: Choice entered/exited.
EVENTS_PER_POLL = 9
#: Events kept back for everything else: defaults, validation, start, stop, and retries of
#: throttled calls (each retry adds about four).
RESERVED_EVENTS = 1_000
#: The most polls one execution can make without running into the history limit.
MAX_POLLS = (HISTORY_EVENT_LIMIT - RESERVED_EVENTS) // EVENTS_PER_POLL


def _whole_seconds(name: str, value: object) -> list[str]:
    if not isinstance(value, Duration):
        return [f"{name} must be an aws_cdk.Duration; got {value!r} ({type(value).__name__})"]
    seconds = value.to_seconds(integral=False)
    if seconds != int(seconds) or seconds <= 0:
        return [f"{name} must be a positive whole number of seconds; got {seconds:g} s"]
    return []


@dataclass(frozen=True, kw_only=True)
class PollSchedule:
    """When the workflow looks at a running job, and for how long it keeps looking.

    The first wait is ``initial_interval``. Waits stay at ``initial_interval`` until
    ``backoff_rate - 1`` of the time already spent waiting is longer; from then on each wait is
    ``backoff_rate`` times the one before, until ``max_interval``. So a job that ends after ``d``
    seconds is noticed at most ``max(initial_interval, min((backoff_rate - 1) * d, max_interval))``
    seconds late, while a long job costs few polls.

    When the waits add up to ``timeout`` the workflow stops the job and fails with
    ``KeyPhrasesJobTimedOut``. The schedule is computed at synth time, so it costs no state
    transitions to follow.

    Defaults: first poll after 1 minute, waits growing by 20 % up to 10 minutes, 24 hours in all:
    157 polls for a job that runs that long, 477 state transitions and 1,432 history events in
    the whole execution (measured by ``python -m benchmarks.polling``).
    """

    initial_interval: Duration = field(default_factory=lambda: Duration.minutes(1))
    backoff_rate: float = 1.2
    max_interval: Duration = field(default_factory=lambda: Duration.minutes(10))
    timeout: Duration = field(default_factory=lambda: Duration.hours(24))

    def __post_init__(self) -> None:
        rate = self.backoff_rate
        problems = [
            *_whole_seconds("initial_interval", self.initial_interval),
            *_whole_seconds("max_interval", self.max_interval),
            *_whole_seconds("timeout", self.timeout),
        ]
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            problems.append(f"backoff_rate must be a number, at least 1; got {rate!r}")
        elif not math.isfinite(rate) or rate < 1:
            problems.append(f"backoff_rate must be at least 1; got {rate!r}")
        raise_problems(problems)
        initial = int(self.initial_interval.to_seconds())
        maximum = int(self.max_interval.to_seconds())
        budget = int(self.timeout.to_seconds())
        if initial > maximum:
            problems.append(
                "initial_interval must not be longer than max_interval; "
                f"got {initial} s > {maximum} s"
            )
        if budget < initial:
            problems.append(
                f"timeout must be at least initial_interval ({initial} s); got {budget} s"
            )
        if budget > MAX_EXECUTION_SECONDS // 2:
            problems.append(
                f"timeout must be at most {MAX_EXECUTION_SECONDS // 2} s (half the one-year "
                f"limit of a Standard execution); got {budget} s"
            )
        raise_problems(problems)
        polls = len(self.waits)
        if polls > MAX_POLLS:
            raise ValueError(
                f"timeout of {budget} s needs {polls} polls with this schedule, more than the "
                f"{MAX_POLLS} that fit in Step Functions' {HISTORY_EVENT_LIMIT:,}-event history; "
                f"raise max_interval or backoff_rate, or shorten timeout"
            )

    @cached_property
    def waits(self) -> tuple[int, ...]:
        """The wait before each poll, in seconds; they add up to ``timeout`` exactly."""
        initial = int(self.initial_interval.to_seconds())
        maximum = int(self.max_interval.to_seconds())
        budget = int(self.timeout.to_seconds())
        waits: list[int] = []
        elapsed = 0
        while elapsed < budget and len(waits) <= MAX_POLLS:
            wait = max(initial, math.floor((self.backoff_rate - 1) * elapsed + 1e-9))
            wait = min(wait, maximum, budget - elapsed)
            waits.append(wait)
            elapsed += wait
        return tuple(waits)

    @property
    def timeout_seconds(self) -> int:
        """The budget in whole seconds."""
        return int(self.timeout.to_seconds())
