"""The shards of a batch: how each stands while the batch runs (from the jobs carrying the
batch's name) and how each ended (from the Map Run's result files). No AWS calls here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cdk_kp import contract
from cdk_kp.runtime.executions import json_object

#: The status of a shard whose job has not started (or never will).
PENDING = "PENDING"
#: The Map Run's status of a shard whose pipeline execution succeeded.
SUCCEEDED = "SUCCEEDED"
#: The error of a Map Run item whose pipeline execution failed (StartExecution.sync's).
_TASK_FAILED = "States.TaskFailed"


@dataclass(frozen=True)
class ShardStatus:
    """One shard of a batch: its prefix (relative to the input prefix) and how it stands.

    While a batch runs (:meth:`KeyPhrasesClient.batch_progress`), ``status`` is ``PENDING``
    until the shard's job starts (a shard that failed before starting one stays ``PENDING``),
    then the job's status (``SUBMITTED``, ``IN_PROGRESS``, ``COMPLETED``, ``FAILED``,
    ``STOP_REQUESTED``, ``STOPPED``). Once a batch has succeeded
    (:meth:`KeyPhrasesClient.batch_shards`), it is the Map Run's: ``SUCCEEDED``, or ``FAILED``
    with the shard's pipeline execution's ``error`` and ``cause``. ``execution_arn`` is that
    pipeline execution, where known.
    """

    input_prefix: str
    status: str
    job_id: str | None = None
    output_s3_uri: str | None = None
    error: str | None = None
    cause: str | None = None
    execution_arn: str | None = None


@dataclass(frozen=True)
class BatchProgress:
    """One look at a running batch: the execution's status and every shard's."""

    execution_arn: str
    status: str
    elapsed: float
    shards: list[ShardStatus]

    def counts(self) -> dict[str, int]:
        """Shards by status."""
        found: dict[str, int] = {}
        for shard in self.shards:
            found[shard.status] = found.get(shard.status, 0) + 1
        return found


# -- while the batch runs ------------------------------------------------------------------------


def latest_jobs_by_input(jobs: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The batch's jobs by input URI; a shard retried (a redriven batch) has several jobs: the
    one submitted last stands."""
    by_uri: dict[str, dict[str, Any]] = {}
    for job in jobs:
        uri = job.get("InputDataConfig", {}).get("S3Uri", "")
        latest = by_uri.get(uri)
        if latest is None or str(job.get("SubmitTime")) >= str(latest.get("SubmitTime")):
            by_uri[uri] = job
    return by_uri


def running_shard(prefix: str, job: dict[str, Any] | None) -> ShardStatus:
    """A shard of a running batch, as its job (if it started one) stands."""
    if job is None:
        return ShardStatus(prefix, PENDING)
    return ShardStatus(
        prefix,
        job.get("JobStatus", contract.JobStatus.SUBMITTED.value),
        job_id=job.get("JobId"),
        output_s3_uri=job.get("OutputDataConfig", {}).get("S3Uri"),
        cause=job.get("Message"),
    )


# -- once the batch has succeeded ----------------------------------------------------------------


def result_files(manifest: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Each result file a Map Run's ``manifest.json`` lists: its items' status and its key."""
    for status, files in manifest.get("ResultFiles", {}).items():
        for result_file in files:
            yield status, result_file["Key"]


def ended_shard(status: str, record: dict[str, Any]) -> ShardStatus:
    """A shard from one record of a Map Run result file (AWS's ``ResultWriter`` format)."""
    shard_input = json_object(record.get("Input"))
    prefix = str(shard_input.get(contract.INPUT_PREFIX, ""))
    if status == SUCCEEDED:
        output = json_object(record.get("Output"))
        return ShardStatus(
            prefix,
            SUCCEEDED,
            job_id=output.get(contract.JOB_ID),
            output_s3_uri=output.get(contract.OUTPUT_S3_URI),
            execution_arn=output.get(contract.EXECUTION_ARN),
        )
    error, cause = record.get("Error"), record.get("Cause")
    # A shard whose pipeline execution failed fails with States.TaskFailed, the execution's
    # description (with its own error and cause) as the cause.
    described = json_object(cause) if error == _TASK_FAILED else {}
    if described.get("Error"):
        error, cause = described.get("Error"), described.get("Cause")
    return ShardStatus(
        prefix, status, error=error, cause=cause, execution_arn=described.get("ExecutionArn")
    )


def with_jobs(shards: list[ShardStatus], jobs: list[dict[str, Any]]) -> list[ShardStatus]:
    """``shards``, each without a job given its job among ``jobs`` (the batch's), if any."""
    return [
        shard if shard.job_id is not None else _with_job(shard, _job_of(shard, jobs))
        for shard in shards
    ]


def _job_of(shard: ShardStatus, jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The job of ``shard``'s pipeline execution: the pipeline writes each execution's output
    below ``<output prefix><execution name>/``, and execution names are unique."""
    if not shard.execution_arn:
        return None
    folder = f"/{shard.execution_arn.rsplit(':', 1)[-1]}/"
    found = [j for j in jobs if folder in j.get("OutputDataConfig", {}).get("S3Uri", "")]
    return max(found, key=lambda job: str(job.get("SubmitTime")), default=None)


def _with_job(shard: ShardStatus, job: dict[str, Any] | None) -> ShardStatus:
    if job is None:
        return shard
    return dataclasses.replace(
        shard,
        job_id=job.get("JobId"),
        output_s3_uri=job.get("OutputDataConfig", {}).get("S3Uri"),
    )


def completed_output(shard: ShardStatus) -> str | None:
    """The output of ``shard``'s job (an ``output.tar.gz`` URI) once it has completed, else
    ``None``."""
    if shard.status in (SUCCEEDED, contract.JobStatus.COMPLETED):
        return shard.output_s3_uri or None
    return None
