"""Bridge: stopping a job that has ended.

The gap: moto's ``StopKeyPhrasesDetectionJob`` of a job that has already ended (``COMPLETED``,
``FAILED``) succeeds and changes nothing.

AWS: "If the job is in the ``COMPLETED`` or ``FAILED`` state when you call the
StopDominantLanguageDetectionJob operation, the operation returns a 400 Internal Request
Exception" (the Comprehend API reference, "StopKeyPhrasesDetectionJob"): an
``InvalidRequestException``.

The bridge: a stop of a job that is not ``SUBMITTED`` or ``IN_PROGRESS`` fails with
``InvalidRequestException``, so the workflow's budget-spent path meets the error it meets on AWS.
It also refuses a job already ``STOP_REQUESTED`` or ``STOPPED``, which AWS may answer with the
job's status instead (its response's ``JobStatus`` "Either STOP_REQUESTED ... or STOPPED if the
job was previously stopped"): the one place this bridge is stricter than AWS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from moto.comprehend.models import ComprehendBackend

from .common import ACTIVE_STATUSES, comprehend_error
from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner = ComprehendBackend.stop_key_phrases_detection_job
    describe = ComprehendBackend.describe_key_phrases_detection_job

    def stop(backend: ComprehendBackend, job_id: str) -> None:
        if describe(backend, job_id).job_status not in ACTIVE_STATUSES:
            raise comprehend_error("InvalidRequestException")
        inner(backend, job_id)

    with patched((ComprehendBackend, "stop_key_phrases_detection_job", stop)):
        yield
