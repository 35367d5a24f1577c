"""Bridge: Comprehend job IDs.

The gap: moto gives a job a 36-character UUID as its ID (and in its ARN).

AWS: a job ID is at most 32 characters (``JobId`` in the Comprehend API reference: "Length
Constraints: Minimum length of 1. Maximum length of 32."); AWS's are 32 hexadecimal digits.

The bridge: every new job gets an AWS-shaped ID, moto's UUID without its dashes, in its ARN and
in moto's table of jobs, so that requests echoing it (Describe, Stop) stay inside the model that
:mod:`.request_checks` holds them to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.comprehend.models import ComprehendBackend, ComprehendJob

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws


def aws_shaped(backend: ComprehendBackend, job: ComprehendJob) -> ComprehendJob:
    """``job``, just created by moto, under a 32-character ID."""
    del backend.jobs[job.job_id]
    aws_id = job.job_id.replace("-", "")
    job.job_arn = job.job_arn.replace(job.job_id, aws_id)
    job.job_id = aws_id
    backend.jobs[aws_id] = job
    return job


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner = ComprehendBackend.start_key_phrases_detection_job

    def start(backend: ComprehendBackend, **kwargs: Any) -> ComprehendJob:
        return aws_shaped(backend, inner(backend, **kwargs))

    with patched((ComprehendBackend, "start_key_phrases_detection_job", start)):
        yield
