"""Bridge: requests to Comprehend held to botocore's model.

The gap: moto's Step Functions calls Comprehend with botocore's parameter validation off, and
moto's Comprehend checks little of a request: a definition could send a field Comprehend does
not know, a value of the wrong type, or a string outside its length or pattern, and the run
would still pass.

AWS: Comprehend refuses a request outside its API model with a ``ValidationException``.

The bridge: every request that reaches the emulated Comprehend is checked against botocore's
model of the operation (names, required members, types, enums, lengths, patterns: see
``tests/service_model.py``); each violation is recorded in :attr:`LocalAws.invalid_requests`,
and :meth:`LocalAws.run` fails on any.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.comprehend.models import ComprehendBackend, ComprehendJob
from moto.comprehend.responses import ComprehendResponse

from ..service_model import comprehend, request_errors
from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws


def check(local: LocalAws, operation: str, request: dict[str, Any]) -> None:
    """Record every way ``request`` falls outside Comprehend's model of ``operation``."""
    local.invalid_requests += request_errors(comprehend().operation_model(operation), request)


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner_start = ComprehendBackend.start_key_phrases_detection_job
    inner_describe = ComprehendBackend.describe_key_phrases_detection_job
    inner_stop = ComprehendBackend.stop_key_phrases_detection_job
    inner_list = ComprehendResponse.list_key_phrases_detection_jobs

    def start(backend: ComprehendBackend, **kwargs: Any) -> ComprehendJob:
        check(local, "StartKeyPhrasesDetectionJob", kwargs)
        return inner_start(backend, **kwargs)

    def describe(backend: ComprehendBackend, job_id: str) -> ComprehendJob:
        check(local, "DescribeKeyPhrasesDetectionJob", {"JobId": job_id})
        return inner_describe(backend, job_id)

    def stop(backend: ComprehendBackend, job_id: str) -> None:
        check(local, "StopKeyPhrasesDetectionJob", {"JobId": job_id})
        inner_stop(backend, job_id)

    def list_jobs(response: ComprehendResponse) -> str:
        check(local, "ListKeyPhrasesDetectionJobs", json.loads(response.body))
        listed: str = inner_list(response)
        return listed

    with patched(
        (ComprehendBackend, "start_key_phrases_detection_job", start),
        (ComprehendBackend, "describe_key_phrases_detection_job", describe),
        (ComprehendBackend, "stop_key_phrases_detection_job", stop),
        (ComprehendResponse, "list_key_phrases_detection_jobs", list_jobs),
    ):
        yield
