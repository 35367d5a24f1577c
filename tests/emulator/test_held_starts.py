"""The switch of :mod:`tests.emulator.held_starts`: a held job start, released by a listing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .conftest import start_request


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (in real time) for ``condition``: a state another thread reaches, not a guess at
    how long it takes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


def test_a_held_start_is_in_flight_until_a_listing_releases_it(aws):
    aws.reset()
    released = threading.Event()
    aws.hold_start("held/", released)
    aws.after_list = released.set
    started: list[str] = []

    def start() -> None:
        client = aws.session.client("comprehend")
        started.append(client.start_key_phrases_detection_job(**start_request("held/"))["JobId"])

    caller = threading.Thread(target=start)
    caller.start()
    wait_until(lambda: "held/" in aws.holding)
    assert (aws.script.start_attempts, aws.jobs_started(), started) == (1, 0, [])  # in flight
    client = aws.session.client("comprehend")
    client.start_key_phrases_detection_job(**start_request("other/"))  # not held
    assert not released.is_set()
    client.list_key_phrases_detection_jobs()
    assert released.is_set()
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert aws.holding == set()
    assert started[0] in aws.script.jobs
    assert aws.jobs_started() == 2
