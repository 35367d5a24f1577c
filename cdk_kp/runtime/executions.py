"""Executions of the pipeline and of the batch, as the client sees them: their names and ARNs,
the input that starts them, how they stand or ended, and what their histories say about the
jobs they started. No AWS calls here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cdk_kp import contract
from cdk_kp.runtime.errors import InvalidInputError, check_choice

#: Execution statuses after which nothing changes.
FINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

#: Characters an execution name may hold that Comprehend's JobName alphabet also allows (the
#: default job name is ``<prefix>-<execution name>``), and the length limit of both.
BATCH_NAME_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
MAX_BATCH_NAME = contract.EXECUTION_NAME_MAX_LENGTH


@dataclass(frozen=True)
class Progress:
    """One look at a running execution, for progress callbacks."""

    execution_arn: str
    status: str
    elapsed: float


@dataclass(frozen=True)
class Outcome:
    """How an execution ended (or stands)."""

    execution_arn: str
    status: str
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class JobState:
    """A key phrase job an execution started, as it stands now: ``status`` is the job's
    (``None`` when it could not be read, ``problem`` then says why)."""

    job_id: str
    status: str | None
    problem: str | None = None

    @property
    def may_be_running(self) -> bool:
        """Whether the job is, or may be, still running (a stop would act on it)."""
        return self.status is None or self.status in contract.ACTIVE_JOB_STATUSES


@dataclass(frozen=True)
class ExecutionJobs:
    """The key phrase jobs an execution started (:meth:`KeyPhrasesClient.execution_jobs`):
    a pipeline execution's job, or every job of a batch (``batch_job_name`` is then the name
    they all carry). ``jobs`` is empty when it started none."""

    execution_arn: str
    jobs: list[JobState]
    batch_job_name: str | None = None

    @property
    def region(self) -> str:
        """The Region the jobs run in: the execution's."""
        return region_of(self.execution_arn)


# -- names and ARNs ------------------------------------------------------------------------------


def check_batch_name(batch: str) -> None:
    """Raise unless ``batch`` can name a key prefix, an execution and (in) a job name."""
    if not 1 <= len(batch) <= MAX_BATCH_NAME or not set(batch) <= BATCH_NAME_ALPHABET:
        raise InvalidInputError(
            f"batch must be 1 to {MAX_BATCH_NAME} letters, digits, '-' or '_' (it names the "
            f"execution and the job); got {batch!r}"
        )


def new_batch_name() -> str:
    """A new unique batch name: ``batch-<time>-<random>``."""
    return f"batch-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def batch_name_or_new(batch: str | None) -> str:
    """``batch``, checked, or a new batch name when it is ``None`` or empty."""
    batch = batch or new_batch_name()
    check_batch_name(batch)
    return batch


def check_execution_arn(execution_arn: str) -> None:
    """Raise unless ``execution_arn`` is shaped as a Step Functions execution ARN,
    ``arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>``."""
    parts = execution_arn.split(":")
    if (
        len(parts) < 8
        or parts[0] != "arn"
        or parts[2] != "states"
        or parts[5] != "execution"
        or not all(parts[1:5])
        or not all(parts[6:])
    ):
        raise InvalidInputError(
            "not a Step Functions execution ARN (arn:<partition>:states:<region>:<account>:"
            f"execution:<state machine>:<name>): {execution_arn!r}"
        )


def region_of(execution_arn: str) -> str:
    """The Region of an execution (or state machine) ARN."""
    return execution_arn.split(":")[3]


def execution_arn_of(state_machine_arn: str, name: str) -> str:
    """The ARN an execution named ``name`` of ``state_machine_arn`` has, or would have."""
    head, found, machine = state_machine_arn.partition(":stateMachine:")
    if not found or not machine:
        raise InvalidInputError(f"not a Step Functions state machine ARN: {state_machine_arn!r}")
    return f"{head}:execution:{machine}:{name}"


# -- input and output ----------------------------------------------------------------------------


def pipeline_input(
    *,
    input_prefix: str,
    language_code: str | None = None,
    input_format: str | None = None,
    job_name: str | None = None,
) -> dict[str, str]:
    """A pipeline execution's input: the fields given, checked (the others take the pipeline's
    defaults)."""
    if language_code is not None:
        check_choice("language_code", language_code, contract.LANGUAGE_CODES)
    if input_format is not None:
        check_choice("input_format", input_format, contract.INPUT_FORMATS)
    request: dict[str, str] = {contract.INPUT_PREFIX: input_prefix}
    for key, value in (
        (contract.LANGUAGE_CODE, language_code),
        (contract.INPUT_FORMAT, input_format),
        (contract.JOB_NAME, job_name),
    ):
        if value is not None:
            request[key] = value
    return request


def batch_input(
    *, manifest: str, language_code: str | None = None, input_format: str | None = None
) -> dict[str, str]:
    """A batch execution's input: the manifest of its shards and the fields given, checked."""
    request: dict[str, str] = {contract.MANIFEST: manifest}
    if language_code is not None:
        check_choice("language_code", language_code, contract.LANGUAGE_CODES)
        request[contract.LANGUAGE_CODE] = language_code
    if input_format is not None:
        check_choice("input_format", input_format, contract.INPUT_FORMATS)
        request[contract.INPUT_FORMAT] = input_format
    return request


def outcome_of(execution_arn: str, described: dict[str, Any]) -> Outcome:
    """An :class:`Outcome` from a DescribeExecution response."""
    output = described.get("output")
    return Outcome(
        execution_arn=execution_arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause"),
    )


def json_object(text: Any) -> dict[str, Any]:
    """``text`` parsed as a JSON object, or an empty one when it is not one."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- what a history says ---------------------------------------------------------------------------


def resolved_job_name(events: Iterable[dict[str, Any]]) -> str | None:
    """The name every job of a batch carries, from its ``ResolveBatch`` state's output among
    ``events``; ``None`` until that state has ended."""
    for event in events:
        exited = event.get("stateExitedEventDetails", {})
        if exited.get("name") == contract.RESOLVE_BATCH_STATE:
            name = json.loads(exited.get("output") or "{}").get(contract.JOB_NAME)
            return name if isinstance(name, str) else None
    return None


@dataclass
class StartCalls:
    """The pipeline's StartKeyPhrasesDetectionJob calls in an execution's history: the
    parameters of each call scheduled, and the job IDs of those that returned, in order."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    job_ids: list[str] = field(default_factory=list)

    def add(self, event: dict[str, Any]) -> None:
        """Take in one history event (any event: only the start task's count)."""
        scheduled = event.get("taskScheduledEventDetails") or {}
        if _is_start(scheduled):
            self.requests.append(json_object(scheduled.get("parameters")))
        succeeded = event.get("taskSucceededEventDetails") or {}
        if _is_start(succeeded):
            job_id = json_object(succeeded.get("output")).get("JobId")
            if isinstance(job_id, str) and job_id not in self.job_ids:
                self.job_ids.append(job_id)


def start_calls(pages: Iterable[dict[str, Any]]) -> StartCalls:
    """The start calls in a history's ``pages`` (GetExecutionHistory responses), read up to the
    first page that has a started job: the start is among the first events."""
    found = StartCalls()
    for page in pages:
        for event in page["events"]:
            found.add(event)
        if found.job_ids:
            break  # the polls that follow need not be read
    return found


def _is_start(details: dict[str, Any]) -> bool:
    """Whether a task event's details are of the pipeline's StartKeyPhrasesDetectionJob call."""
    return (
        details.get("resourceType") == contract.START_JOB_RESOURCE_TYPE
        and details.get("resource") == contract.START_JOB_RESOURCE
    )
