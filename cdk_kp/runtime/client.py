"""Run a deployed pipeline from Python: upload documents, start, wait, read the key phrases.

``KeyPhrasesClient.from_stack("KeyPhrasesStack")`` reads the stack's outputs; the constructor
takes bucket names and the state machine ARN directly. Only boto3 is needed (aws-cdk-lib is not
loaded).

    client = KeyPhrasesClient.from_stack("KeyPhrasesStack")
    report = client.upload(["docs/"], batch="2026-11-28")
    arn = client.start(input_prefix=report.batch_prefix, language_code="en")
    outcome = client.wait(arn, on_progress=print)
    for record in client.results(outcome):
        print(record.file, [p.text for p in record.key_phrases])

:class:`KeyPhrasesClient` makes the AWS calls; what they send and what their answers mean is in
the modules beside this one: :mod:`~cdk_kp.runtime.errors`, :mod:`~cdk_kp.runtime.uploads`
(checking, planning and laying out an upload), :mod:`~cdk_kp.runtime.executions` (names, ARNs,
input, outcomes and histories), :mod:`~cdk_kp.runtime.batches` (a batch's shards) and
:mod:`~cdk_kp.runtime.results` (the output archive). Every public name is exported here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3
import botocore.exceptions

from cdk_kp import contract
from cdk_kp.runtime.batches import (
    BatchProgress,
    ShardStatus,
    completed_output,
    ended_shard,
    latest_jobs_by_input,
    result_files,
    running_shard,
    with_jobs,
)
from cdk_kp.runtime.documents import Skipped
from cdk_kp.runtime.errors import (
    ArchiveError,
    ExecutionFailedError,
    InvalidInputError,
    KeyPhrasesError,
    NotAKeyPhrasesStackError,
    StackNotFoundError,
)
from cdk_kp.runtime.executions import (
    FINAL_STATUSES,
    ExecutionJobs,
    JobState,
    Outcome,
    Progress,
    batch_input,
    check_batch_name,
    check_execution_arn,
    execution_arn_of,
    new_batch_name,
    outcome_of,
    pipeline_input,
    region_of,
    resolved_job_name,
    start_calls,
)
from cdk_kp.runtime.results import (
    DocumentKeyPhrases,
    KeyPhrase,
    in_file_lines,
    read_key_phrases,
    split_s3_uri,
)
from cdk_kp.runtime.sharding import first_line_of
from cdk_kp.runtime.uploading import UploadMethods
from cdk_kp.runtime.uploads import (
    ShardedUpload,
    UploadPlan,
    UploadReport,
    check_document,
    check_document_data,
)

__all__ = [
    "ArchiveError",
    "BatchProgress",
    "DocumentKeyPhrases",
    "ExecutionFailedError",
    "ExecutionJobs",
    "InvalidInputError",
    "JobState",
    "KeyPhrase",
    "KeyPhrasesClient",
    "KeyPhrasesError",
    "NotAKeyPhrasesStackError",
    "Outcome",
    "Progress",
    "ShardStatus",
    "ShardedUpload",
    "Skipped",
    "StackNotFoundError",
    "UploadPlan",
    "UploadReport",
    "check_batch_name",
    "check_document",
    "check_document_data",
    "check_execution_arn",
    "execution_arn_of",
    "new_batch_name",
    "read_key_phrases",
    "region_of",
]

#: The input format of a client given none (the constructs' default, too).
DEFAULT_INPUT_FORMAT = contract.InputFormat.ONE_DOC_PER_LINE.value


class KeyPhrasesClient(UploadMethods):
    """A deployed key phrase pipeline, from Python.

    Uploading needs ``input_bucket`` and starting needs ``state_machine_arn``; describing,
    waiting for and reading the results of an execution need neither.
    """

    def __init__(
        self,
        *,
        input_bucket: str | None = None,
        state_machine_arn: str | None = None,
        output_bucket: str | None = None,
        input_prefix: str = "",
        input_format: str = DEFAULT_INPUT_FORMAT,
        batch_state_machine_arn: str | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        self.input_bucket = input_bucket
        #: The KeyPhrasesBatch state machine, which runs a sharded corpus.
        self.batch_state_machine_arn = batch_state_machine_arn
        #: The pipeline's default input format (what documents are checked against).
        self.input_format = input_format
        self.output_bucket = output_bucket
        self.input_prefix = input_prefix
        self.state_machine_arn = state_machine_arn
        self.session = session or boto3.Session()
        self._s3 = self.session.client("s3")
        self._sfn = self.session.client("stepfunctions")
        self._comprehend = self.session.client("comprehend")
        #: Batch job names by execution ARN, once read (they never change).
        self._job_names: dict[str, str] = {}

    @classmethod
    def from_stack(
        cls, stack_name: str, *, session: boto3.Session | None = None
    ) -> KeyPhrasesClient:
        """The pipeline a KeyPhrasesStack deployed, from the stack's outputs."""
        session = session or boto3.Session()
        outputs = _stack_outputs(session, stack_name)
        missing = [key for key in contract.REQUIRED_OUTPUTS if key not in outputs]
        if missing:
            raise NotAKeyPhrasesStackError(
                f"stack {stack_name!r} is not a cdk_kp stack: it has no output {', '.join(missing)}"
            )
        prefix = outputs.get(contract.OUTPUT_INPUT_PREFIX, contract.NO_PREFIX)
        return cls(
            input_bucket=outputs[contract.OUTPUT_INPUT_BUCKET],
            output_bucket=outputs[contract.OUTPUT_OUTPUT_BUCKET],
            state_machine_arn=outputs[contract.OUTPUT_STATE_MACHINE],
            input_prefix="" if prefix == contract.NO_PREFIX else prefix,
            input_format=outputs.get(contract.OUTPUT_INPUT_FORMAT, DEFAULT_INPUT_FORMAT),
            batch_state_machine_arn=outputs.get(contract.OUTPUT_BATCH_STATE_MACHINE),
            session=session,
        )

    @classmethod
    def for_execution(cls, execution_arn: str) -> KeyPhrasesClient:
        """A client for describing an execution and reading its results, in the execution's
        own Region (from its ARN)."""
        check_execution_arn(execution_arn)
        return cls(session=boto3.Session(region_name=region_of(execution_arn)))

    # -- run -------------------------------------------------------------------------------------

    def start(
        self,
        *,
        input_prefix: str = "",
        language_code: str | None = None,
        input_format: str | None = None,
        job_name: str | None = None,
        name: str | None = None,
    ) -> str:
        """Start an execution (fields left out take the pipeline's defaults); its ARN."""
        if self.state_machine_arn is None:
            raise InvalidInputError("start needs the client's state_machine_arn")
        request = pipeline_input(
            input_prefix=input_prefix,
            language_code=language_code,
            input_format=input_format,
            job_name=job_name,
        )
        return self._start_execution(self.state_machine_arn, request, name)

    def executions_named(self, name: str) -> list[Outcome]:
        """The executions named ``name`` of the pipeline's and of the batch's state machine:
        what a run as batch ``name`` would collide with (both name their executions after the
        batch, and both read the batch's upload prefix), found with DescribeExecution."""
        found: list[Outcome] = []
        for machine in (self.state_machine_arn, self.batch_state_machine_arn):
            if machine is None:
                continue
            try:
                found.append(self.describe(execution_arn_of(machine, name)))
            except botocore.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                    raise
        return found

    def describe(self, execution_arn: str) -> Outcome:
        return outcome_of(execution_arn, self._sfn.describe_execution(executionArn=execution_arn))

    def wait(
        self,
        execution_arn: str,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        poll_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Outcome:
        """Wait for the execution to end, reporting progress; raise :class:`ExecutionFailedError`
        unless it succeeded."""
        began = time.monotonic()
        while True:
            outcome = self.describe(execution_arn)
            if on_progress is not None:
                on_progress(Progress(execution_arn, outcome.status, time.monotonic() - began))
            if outcome.status in FINAL_STATUSES:
                break
            sleep(poll_seconds)
        if not outcome.succeeded:
            raise ExecutionFailedError(outcome)
        return outcome

    def _start_execution(self, machine: str, request: dict[str, str], name: str | None) -> str:
        arguments = {"stateMachineArn": machine, "input": json.dumps(request)}
        if name is not None:
            arguments["name"] = name
        arn: str = self._sfn.start_execution(**arguments)["executionArn"]
        return arn

    def _history(self, execution_arn: str) -> Iterator[dict[str, Any]]:
        """The pages of an execution's history, with its data, each fetched when it is read."""
        paginator = self._sfn.get_paginator("get_execution_history")
        return iter(paginator.paginate(executionArn=execution_arn, includeExecutionData=True))

    # -- batches ---------------------------------------------------------------------------------

    def start_batch(
        self,
        *,
        manifest: str,
        language_code: str | None = None,
        input_format: str | None = None,
        name: str | None = None,
    ) -> str:
        """Start a batch over the shards ``manifest`` lists (its key relative to the input
        prefix, as :meth:`upload_sharded` reports it); the execution's ARN."""
        if self.batch_state_machine_arn is None:
            raise InvalidInputError(
                "start_batch needs the client's batch_state_machine_arn (a stack with a "
                f"KeyPhrasesBatch exports it as {contract.OUTPUT_BATCH_STATE_MACHINE})"
            )
        request = batch_input(
            manifest=manifest, language_code=language_code, input_format=input_format
        )
        return self._start_execution(self.batch_state_machine_arn, request, name)

    def batch_job_name(self, execution_arn: str) -> str | None:
        """The name every job of the batch carries, once the batch has resolved it (its
        ``ResolveBatch`` state), else ``None``. Read from the history once per execution."""
        if execution_arn in self._job_names:
            return self._job_names[execution_arn]
        # The state is among the first events: one page is enough.
        first_page = next(self._history(execution_arn), None)
        name = resolved_job_name(first_page["events"]) if first_page is not None else None
        if name is not None:
            self._job_names[execution_arn] = name
        return name

    def batch_jobs(self, job_name: str) -> list[dict[str, Any]]:
        """Every key phrase job named ``job_name``: the jobs of one batch."""
        jobs: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"Filter": {"JobName": job_name}, "MaxResults": 500}
            if token:
                arguments["NextToken"] = token
            page = self._comprehend.list_key_phrases_detection_jobs(**arguments)
            jobs.extend(page.get("KeyPhrasesDetectionJobPropertiesList", []))
            token = page.get("NextToken")
            if not token:
                return jobs

    def execution_jobs(self, execution_arn: str) -> ExecutionJobs:
        """The key phrase jobs an execution started, each with its current status: for a batch,
        every job carrying the batch's name; for a pipeline execution, the job its start task
        (the definition's ``StartJob``) returned, read from the execution history and described.
        When the start call has no recorded result (the execution was stopped during it), the
        job it may have created is looked up by its name and output location."""
        job_name = self.batch_job_name(execution_arn)
        if job_name is not None:
            jobs = [
                JobState(job["JobId"], job.get("JobStatus"))
                for job in self.batch_jobs(job_name)
                if job.get("JobId")
            ]
            return ExecutionJobs(execution_arn, jobs, batch_job_name=job_name)
        calls = start_calls(self._history(execution_arn))
        if calls.job_ids:
            return ExecutionJobs(execution_arn, [self._job_state(job) for job in calls.job_ids])
        return ExecutionJobs(execution_arn, self._jobs_started_by(calls.requests))

    def _jobs_started_by(self, requests: list[dict[str, Any]]) -> list[JobState]:
        """The jobs that start ``requests`` (StartKeyPhrasesDetectionJob parameters) created:
        those with the request's name and output location."""
        found: dict[str, JobState] = {}
        for request in requests:
            name = request.get("JobName")
            output = request.get("OutputDataConfig", {}).get("S3Uri")
            if not isinstance(name, str) or not name:
                continue
            for job in self.batch_jobs(name):
                if job.get("JobId") and job.get("OutputDataConfig", {}).get("S3Uri") == output:
                    found[job["JobId"]] = JobState(job["JobId"], job.get("JobStatus"))
        return list(found.values())

    def _job_state(self, job_id: str) -> JobState:
        try:
            described = self._comprehend.describe_key_phrases_detection_job(JobId=job_id)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            return JobState(job_id, None, problem=str(error))
        status = described.get("KeyPhrasesDetectionJobProperties", {}).get("JobStatus")
        return JobState(job_id, status)

    def batch_progress(
        self, execution_arn: str, shards: Iterable[str], *, elapsed: float = 0.0
    ) -> BatchProgress:
        """How the batch and each of ``shards`` (input prefixes, relative to the input prefix)
        stand: from the execution and the jobs carrying the batch's name."""
        status = self._sfn.describe_execution(executionArn=execution_arn)["status"]
        job_name = self.batch_job_name(execution_arn)
        by_uri = latest_jobs_by_input(self.batch_jobs(job_name) if job_name else [])
        found = [running_shard(prefix, by_uri.get(self._input_uri(prefix))) for prefix in shards]
        return BatchProgress(execution_arn, status, elapsed, found)

    def wait_batch(
        self,
        execution_arn: str,
        shards: Iterable[str],
        *,
        on_progress: Callable[[BatchProgress], None] | None = None,
        poll_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Outcome:
        """Wait for the batch to end, reporting every shard's progress; raise
        :class:`ExecutionFailedError` unless it succeeded."""
        shards = list(shards)
        began = time.monotonic()
        while True:
            progress = self.batch_progress(execution_arn, shards, elapsed=time.monotonic() - began)
            if on_progress is not None:
                on_progress(progress)
            if progress.status in FINAL_STATUSES:
                break
            sleep(poll_seconds)
        outcome = self.describe(execution_arn)
        if not outcome.succeeded:
            raise ExecutionFailedError(outcome)
        return outcome

    def batch_shards(self, outcome: Outcome) -> list[ShardStatus]:
        """Every shard of a succeeded batch, from the Map Run's result files, by prefix; a failed
        shard's job (when it started one) from the jobs carrying the batch's name."""
        output = outcome.output or {}
        if not outcome.succeeded or contract.RESULTS_MANIFEST not in output:
            raise ExecutionFailedError(outcome)
        bucket = output[contract.RESULTS_BUCKET]
        manifest = self._read_json(bucket, output[contract.RESULTS_MANIFEST])
        shards = [
            ended_shard(status, record)
            for status, key in result_files(manifest)
            for record in self._read_json(bucket, key)
        ]
        if any(shard.job_id is None for shard in shards) and output.get(contract.JOB_NAME):
            # A failed shard's record has no output: its job, if it started one, is the one
            # of the batch's jobs writing below its pipeline execution's name.
            shards = with_jobs(shards, self.batch_jobs(output[contract.JOB_NAME]))
        return sorted(shards, key=lambda shard: shard.input_prefix)

    def _input_uri(self, prefix: str) -> str:
        return f"s3://{self.input_bucket}/{self.input_prefix}{prefix}"

    def batch_results(self, shards: Iterable[ShardStatus]) -> Iterator[DocumentKeyPhrases]:
        """The key phrases of every completed shard, shard after shard: each document once. A
        file split across shards keeps its name, and its lines are numbered in the file (from
        0, as Comprehend numbers them), not within each part: a part's shard is named after
        the file's line it starts at."""
        for shard in shards:
            output_s3_uri = completed_output(shard)
            if output_s3_uri is None:
                continue
            first_line = first_line_of(shard.input_prefix)
            for record in self.results(output_s3_uri):
                yield in_file_lines(record, first_line)

    def _read_json(self, bucket: str, key: str) -> Any:
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return json.loads(body.read())
        finally:
            body.close()

    # -- results ---------------------------------------------------------------------------------

    def results(self, outcome_or_uri: Outcome | str) -> Iterator[DocumentKeyPhrases]:
        """The key phrases of a succeeded execution (or of an ``s3://…/output.tar.gz``),
        streamed from S3."""
        if isinstance(outcome_or_uri, Outcome):
            if not outcome_or_uri.succeeded or outcome_or_uri.output is None:
                raise ExecutionFailedError(outcome_or_uri)
            uri = outcome_or_uri.output[contract.OUTPUT_S3_URI]
        else:
            uri = outcome_or_uri
        bucket, key = split_s3_uri(uri)
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield from read_key_phrases(body)
        finally:
            body.close()


def _stack_outputs(session: boto3.Session, stack_name: str) -> dict[str, str]:
    """The outputs of stack ``stack_name``, by key; :class:`StackNotFoundError` when there is
    no such stack."""
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)
    except botocore.exceptions.ClientError as error:
        if "does not exist" in str(error):
            raise StackNotFoundError(
                f"no stack named {stack_name!r} {_where(session)} (the Region and account "
                "come from your AWS configuration: AWS_REGION or AWS_DEFAULT_REGION, "
                "AWS_PROFILE)"
            ) from error
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks["Stacks"][0].get("Outputs", [])}


def _where(session: boto3.Session) -> str:
    """``in Region <r> of account <a>``: where a stack was looked for. The account comes from
    STS GetCallerIdentity (which needs no permission); without it, only the Region."""
    where = f"in Region {session.region_name}"
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, KeyError):
        return where
    return f"{where} of account {account}"
