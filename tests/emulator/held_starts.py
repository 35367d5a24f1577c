"""A switch, not a bridge: held job starts, and a hook after each listing of jobs.

A test that needs a call to be in flight at a given moment cannot hope for it: it holds it.
:meth:`LocalAws.hold_start` makes the ``StartKeyPhrasesDetectionJob`` call of the shard whose
input URI ends with a prefix wait until an event is set (at most 30 s of real time), like a call
still in flight; while held, its execution does not count as running late for an abort
(:meth:`LocalAws.wait_for_aborted` does not wait for it; see :mod:`.map_abort`).
:attr:`LocalAws.after_list` runs after each ``ListKeyPhrasesDetectionJobs`` has been answered,
so that a test can release a held start exactly after a listing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.comprehend.models import ComprehendBackend, ComprehendJob
from moto.comprehend.responses import ComprehendResponse

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws

#: The longest a start is held, in real seconds, before the call fails.
HOLD_SECONDS = 30


def hold(local: LocalAws, uri: str) -> None:
    """Wait until the start of the job reading ``uri`` is released, if it is held."""
    held = [prefix for prefix in local.held_starts if uri.endswith(prefix)]
    if not held:
        return
    (prefix,) = held
    with local.lock:
        local.holding.add(prefix)
    try:
        if not local.held_starts[prefix].wait(timeout=HOLD_SECONDS):
            raise TimeoutError(f"the held start of {prefix} was never released")
    finally:
        with local.lock:
            local.holding.discard(prefix)


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner_start = ComprehendBackend.start_key_phrases_detection_job
    inner_list = ComprehendResponse.list_key_phrases_detection_jobs

    def start(backend: ComprehendBackend, **kwargs: Any) -> ComprehendJob:
        hold(local, kwargs["InputDataConfig"]["S3Uri"])
        return inner_start(backend, **kwargs)

    def list_jobs(response: ComprehendResponse) -> str:
        listed: str = inner_list(response)
        if local.after_list is not None:
            local.after_list()
        return listed

    with patched(
        (ComprehendBackend, "start_key_phrases_detection_job", start),
        (ComprehendResponse, "list_key_phrases_detection_jobs", list_jobs),
    ):
        yield
