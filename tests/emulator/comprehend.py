"""Bridge: Comprehend's key phrase jobs, played by a script.

The gap: moto's jobs stay ``SUBMITTED`` forever, never carry a ``Message``, and every call
succeeds.

AWS: a job goes ``SUBMITTED`` -> ``IN_PROGRESS`` -> ``COMPLETED`` or ``FAILED`` (with a
``Message``), or ``STOP_REQUESTED`` -> ``STOPPED`` once stopped, over minutes to hours (the
Comprehend API reference, ``KeyPhrasesDetectionJobProperties``); calls can be throttled or fail.

The bridge: a :class:`ComprehendScript` decides what ``DescribeKeyPhrasesDetectionJob`` reports,
from the virtual time since the job started (see :mod:`.virtual_time`), and can make the next
calls of each operation fail with a named error. A job the workflow asked to stop keeps moto's
``STOP_REQUESTED``. Every job start and end is recorded with the number of jobs then active
(:attr:`LocalAws.active_trace`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.comprehend.models import ComprehendBackend, ComprehendJob
from moto.comprehend.responses import ComprehendResponse

from .common import ACTIVE_STATUSES, comprehend_error
from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws


@dataclass
class ScriptedJob:
    """What the emulated Comprehend reports for one job."""

    job_id: str
    started_at: float
    request: dict[str, Any]
    describe_calls: int = 0
    stop_calls: int = 0


@dataclass
class ComprehendScript:
    """Plays Comprehend for the workflow.

    ``status(job, elapsed)`` returns the status Describe reports ``elapsed`` virtual seconds
    after the job started, or ``(status, message)``. ``fail_start`` / ``fail_describe`` /
    ``fail_stop`` / ``fail_list`` are lists of error names raised by the next calls, one per
    call.
    """

    status: Callable[[ScriptedJob, float], str | tuple[str, str]] = lambda job, elapsed: (
        "IN_PROGRESS"
    )
    fail_start: list[str] = field(default_factory=list)
    fail_describe: list[str] = field(default_factory=list)
    fail_stop: list[str] = field(default_factory=list)
    fail_list: list[str] = field(default_factory=list)
    #: Called once when a job first reports COMPLETED, with the job and moto's job object: a
    #: test writes the output archive here and sets ``OutputDataConfig.S3Uri`` to it, as
    #: Describe reports it on AWS.
    on_complete: Callable[[ScriptedJob, ComprehendJob], None] | None = None
    jobs: dict[str, ScriptedJob] = field(default_factory=dict)
    start_attempts: int = 0

    @staticmethod
    def completes_after(seconds: float) -> ComprehendScript:
        """A job that is IN_PROGRESS for ``seconds`` of virtual time, then COMPLETED."""
        return ComprehendScript(
            status=lambda job, elapsed: "COMPLETED" if elapsed >= seconds else "IN_PROGRESS"
        )


def job_started(local: LocalAws, job: ComprehendJob) -> None:
    """Record a job the workflow started, with the request that started it."""
    local.script.jobs[job.job_id] = ScriptedJob(
        job_id=job.job_id,
        started_at=local.clock.now,
        request={
            "InputDataConfig": job.input_s3_config,
            "OutputDataConfig": job.output_s3_config,
            "DataAccessRoleArn": job.data_access_role_arn,
            "LanguageCode": job.language_code,
            "JobName": job.job_name,
            **job.extra_args,
        },
    )
    local.job_event("start", job.job_id)


def describe_job(local: LocalAws, job: ComprehendJob) -> None:
    """Set ``job``'s status (and message) to what the script says now."""
    scripted = local.script.jobs[job.job_id]
    scripted.describe_calls += 1
    if scripted.stop_calls:
        return  # the workflow asked to stop it: moto's STOP_REQUESTED stands
    verdict = local.script.status(scripted, local.clock.now - scripted.started_at)
    status, message = verdict if isinstance(verdict, tuple) else (verdict, None)
    if status == "COMPLETED" and job.job_status != "COMPLETED" and local.script.on_complete:
        local.script.on_complete(scripted, job)
    job.job_status = status
    if status not in ACTIVE_STATUSES:
        local.job_event(status.lower(), job.job_id)
    if message is not None:
        job.extra_args["Message"] = message


def _failure(scripted: list[str]) -> None:
    if scripted:
        raise comprehend_error(scripted.pop(0))


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner_start = ComprehendBackend.start_key_phrases_detection_job
    inner_describe = ComprehendBackend.describe_key_phrases_detection_job
    inner_stop = ComprehendBackend.stop_key_phrases_detection_job
    inner_list = ComprehendResponse.list_key_phrases_detection_jobs

    def start(backend: ComprehendBackend, **kwargs: Any) -> ComprehendJob:
        local.script.start_attempts += 1
        _failure(local.script.fail_start)
        job = inner_start(backend, **kwargs)
        job_started(local, job)
        return job

    def describe(backend: ComprehendBackend, job_id: str) -> ComprehendJob:
        _failure(local.script.fail_describe)
        job = inner_describe(backend, job_id)
        describe_job(local, job)
        return job

    def stop(backend: ComprehendBackend, job_id: str) -> None:
        _failure(local.script.fail_stop)
        inner_describe(backend, job_id)  # moto's error for a job it does not know
        local.script.jobs[job_id].stop_calls += 1
        inner_stop(backend, job_id)
        local.job_event("stop_requested", job_id)

    def list_jobs(response: ComprehendResponse) -> str:
        _failure(local.script.fail_list)
        listed: str = inner_list(response)
        return listed

    with patched(
        (ComprehendBackend, "start_key_phrases_detection_job", start),
        (ComprehendBackend, "describe_key_phrases_detection_job", describe),
        (ComprehendBackend, "stop_key_phrases_detection_job", stop),
        (ComprehendResponse, "list_key_phrases_detection_jobs", list_jobs),
    ):
        yield
