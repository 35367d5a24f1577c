"""KeyPhrasesBatch under test: the stack the batch tests synthesize, and their runs in moto.

The runs execute the synthesized batch definition, whose Distributed Map starts the synthesized
pipeline definition once per shard (``startExecution.sync:2``), against the emulated Comprehend
(:mod:`tests.emulator`). A job stays active for at least three Describe calls and until every
Map item being processed has started its job, so a job ends only once all the shards the Map
lets run at once have reached Comprehend: the peak of active jobs is then the concurrency the
batch really allows, not an accident of timing. (If the Map ran fewer shards than its limit, the
peak would show it; if it ran more, the peak would exceed the limit.) Every Wait also sleeps
0.1 s of real time, which keeps the polling shards from starving the ones starting. The emulated
Comprehend records how many jobs are active after every start and end: the concurrency trace.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template
from moto.comprehend.models import comprehend_backends

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline, PollSchedule

from .conftest import new_app
from .definitions import definitions_in
from .emulator import ACCOUNT, REGION, ComprehendScript, Execution, LocalAws, ScriptedJob, local_aws

#: When a Map Run ends (a batch fails, or its execution ends while a shard's task is finishing),
#: moto stops the frames of the shards still being evaluated, and evaluation in a stopped frame is
#: skipped ("Pruning"). A shard's ``.sync`` task caught there pops the wrong value for its timeout,
#: and the listener thread moto starts for that (already dead) task dies with a TypeError. Only
#: that thread's exception is ignored here; the bridges never run in such a thread.
IGNORE_DEAD_SYNC_LISTENER = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask"
    ":pytest.PytestUnhandledThreadExceptionWarning"
)

SHARDS = 25
#: A flat five-minute schedule: 288 polls (about 29 s of real time at 0.1 s a Wait), so a job
#: held by the barrier below never spends the budget, however slowly a busy machine starts the
#: other shards.
PATIENT_SCHEDULE = PollSchedule(
    initial_interval=Duration.minutes(5), backoff_rate=1.0, max_interval=Duration.minutes(5)
)


class BatchStack(cdk.Stack):
    """One pipeline and three batches over it: default settings, 20 % tolerated, 3 at once."""

    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.pipeline = KeyPhrasesPipeline(
            self,
            "Pipeline",
            input_prefix="incoming/",
            output_prefix="key-phrases/",
            poll_schedule=PATIENT_SCHEDULE,
        )
        self.strict = KeyPhrasesBatch(self, "Strict", pipeline=self.pipeline)
        self.tolerant = KeyPhrasesBatch(
            self, "Tolerant", pipeline=self.pipeline, tolerated_failure_percentage=20
        )
        self.narrow = KeyPhrasesBatch(self, "Narrow", pipeline=self.pipeline, max_concurrency=3)
        for name, machine in [
            ("StrictArn", self.strict.state_machine),
            ("TolerantArn", self.tolerant.state_machine),
            ("NarrowArn", self.narrow.state_machine),
            ("PipelineArn", self.pipeline.state_machine),
        ]:
            cdk.CfnOutput(self, name, value=machine.state_machine_arn)
        cdk.CfnOutput(self, "InputBucket", value=self.pipeline.input_bucket.bucket_name)
        cdk.CfnOutput(self, "OutputBucket", value=self.pipeline.output_bucket.bucket_name)


@functools.cache
def batch_template() -> Template:
    """The stack's template, synthesized once per process."""
    return Template.from_stack(BatchStack(new_app(), "BatchStack"))


def batch_definition(template: Template, name: str) -> dict[str, Any]:
    (definition,) = [d for k, d in definitions_in(template).items() if k.startswith(name)]
    return definition


def batch_statements(template: Template, name: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if logical_id.startswith(f"{name}StateMachine"):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


@pytest.fixture(scope="module")
def template() -> Template:
    """The batch stack's template (synthesized once per process). A test module takes it, and
    ``aws``, by importing them (``from .batch_stack import aws as aws``)."""
    return batch_template()


@pytest.fixture(scope="module")
def aws(template: Template) -> Iterator[LocalAws]:
    """The stack deployed in moto, once for each test module that takes it."""
    with deployed(template) as local:
        yield local


@contextlib.contextmanager
def deployed(template: Template) -> Iterator[LocalAws]:
    """The stack in moto, its state machines executable, every Wait 0.1 s of real time."""
    with local_aws(template.to_json(), stack_name="BatchStack") as local:
        for output in ("PipelineArn", "StrictArn", "TolerantArn", "NarrowArn"):
            local.make_deployed_executable(local.outputs[output])
        local.real_wait_seconds = 0.1
        yield local


def shard_prefix(index: int) -> str:
    return f"b/shard-{index:05d}/"


def script(aws: LocalAws, failing: set[int], slow: set[int] | None = None) -> ComprehendScript:
    """Jobs run for three Describe calls (the ``slow`` shards' for 100) and until every running
    Map item has its job; the shards in ``failing`` then fail."""

    def status(job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        uri = job.request["InputDataConfig"]["S3Uri"]
        calls = 100 if any(uri.endswith(shard_prefix(i)) for i in slow or ()) else 3
        if job.describe_calls < calls or not aws.running_items_have_jobs():
            return "IN_PROGRESS"
        if any(uri.endswith(shard_prefix(i)) for i in failing):
            return ("FAILED", "the documents are not UTF-8")
        return "COMPLETED"

    return ComprehendScript(status=status)


def run_batch(
    aws: LocalAws,
    batch: str,
    failing: set[int],
    shards: int = SHARDS,
    slow: set[int] | None = None,
    keep_jobs: bool = False,
    **request: Any,
) -> Execution:
    """Run ``batch`` over ``shards`` shards (a fresh emulator state unless ``keep_jobs``, which
    keeps the jobs already started and only replaces the script)."""
    if keep_jobs:
        jobs = aws.script.jobs
        aws.reset(script(aws, failing, slow))
        aws.script.jobs.update(jobs)
    else:
        aws.reset(script(aws, failing, slow))
    manifest = [{"inputPrefix": shard_prefix(i)} for i in range(shards)]
    aws.session.client("s3").put_object(
        Bucket=aws.outputs["InputBucket"],
        Key="incoming/b/manifest.json",
        Body=json.dumps(manifest),
    )
    return aws.run(
        {"manifest": "b/manifest.json", **request},
        state_machine_arn=aws.outputs[f"{batch}Arn"],
        timeout=60,
    )


def jobs_named(name: str) -> list[Any]:
    backend = comprehend_backends[ACCOUNT][REGION]
    return [job for job in backend.jobs.values() if job.job_name == name]


def result_records(aws: LocalAws, execution: Execution) -> dict[str, list[dict[str, Any]]]:
    assert execution.output is not None
    s3 = aws.session.client("s3")
    bucket = execution.output["resultsBucket"]

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    manifest = read(execution.output["resultsManifest"])
    return {
        status: [record for f in files for record in read(f["Key"])]
        for status, files in manifest["ResultFiles"].items()
    }


def batch_jobs_of(execution: Execution) -> dict[str, Any]:
    name = "key-phrases-batch-" + hashlib.sha256(execution.arn.encode()).hexdigest()
    return {job.input_s3_config["S3Uri"].rsplit("/", 2)[-2]: job for job in jobs_named(name)}
