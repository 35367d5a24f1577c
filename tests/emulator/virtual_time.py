"""Bridge: time.

The gap: moto's Wait states and retry intervals really sleep: a definition that polls a job for
24 hours runs for 24 hours.

AWS: a Wait state waits, and a retrier waits its interval (with backoff and jitter) before the
next attempt; what matters to a test is how long each was, not that real time passed.

The bridge: a :class:`VirtualClock` records each Wait and each retry delay and advances virtual
time by it instead of sleeping, so a 24-hour job runs in a second. The definition is not
changed. :attr:`LocalAws.real_wait_seconds` makes each Wait also sleep that much real time, so
that concurrent executions interleave as they would on AWS.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws


class VirtualClock:
    """Virtual time for Wait states and retry intervals; records what the definition asked."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[int] = []
        self.retry_delays: list[float] = []
        self._lock = threading.Lock()

    def wait(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(int(seconds))
            self.now += seconds

    def sleep_for_retry(self, seconds: float) -> None:
        with self._lock:
            self.retry_delays.append(seconds)
            self.now += seconds


class RetryTime:
    """Stands in for the ``time`` module inside moto's retrier: sleeps become virtual."""

    def __init__(self, local: LocalAws) -> None:
        self._local = local

    def sleep(self, seconds: float) -> None:
        self._local.clock.sleep_for_retry(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    def wait(_: WaitFunction, env: Environment, wait_seconds: int) -> None:
        local.clock.wait(wait_seconds)
        if local.real_wait_seconds:
            time.sleep(local.real_wait_seconds)

    with patched(
        (WaitFunction, "_wait_interval", wait),
        (retrier_decl, "time", RetryTime(local)),
    ):
        yield
