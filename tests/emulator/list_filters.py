"""Bridge: one filter at a time for ListKeyPhrasesDetectionJobs.

The gap: moto's ``ListKeyPhrasesDetectionJobs`` applies every filter it is given (``JobName``
and ``JobStatus`` and the submit times, all at once).

AWS: "You can only set one filter at a time" (the Comprehend API reference,
"ListKeyPhrasesDetectionJobs" and its ``KeyPhrasesDetectionJobFilter``); a request with more
fails with ``InvalidFilterException``.

The bridge: a listing with more than one filter fails with ``InvalidFilterException``, so a
definition that relies on combining them fails here as it would on AWS.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from moto.comprehend.responses import ComprehendResponse

from .common import comprehend_error
from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner = ComprehendResponse.list_key_phrases_detection_jobs

    def list_jobs(response: ComprehendResponse) -> str:
        if len(json.loads(response.body).get("Filter", {})) > 1:
            raise comprehend_error("InvalidFilterException")
        listed: str = inner(response)
        return listed

    with patched((ComprehendResponse, "list_key_phrases_detection_jobs", list_jobs)):
        yield
