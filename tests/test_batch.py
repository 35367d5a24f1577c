"""KeyPhrasesBatch: synth-time checks, its definition and IAM, and 25-shard runs in moto.

The runs execute the synthesized batch definition, whose Distributed Map starts the synthesized
pipeline definition once per shard (``startExecution.sync:2``), against the emulated Comprehend.
A job stays active for at least three Describe calls and until every Map item being processed
has started its job, so a job ends only once all the shards the Map lets run at once have
reached Comprehend: the peak of active jobs is then the concurrency the batch really allows, not
an accident of timing. (If the Map ran fewer shards than its limit, the peak would show it; if it
ran more, the peak would exceed the limit.) Every Wait also sleeps 0.1 s of real time, which
keeps the polling shards from starving the ones starting. The emulated Comprehend records how
many jobs are active after every start and end: the concurrency trace.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template
from moto.comprehend.models import comprehend_backends

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline, KeyPhrasesStack, PollSchedule
from cdk_kp.contract import BATCH_FAILED, INVALID_INPUT
from cdk_kp.infra.batch import MAX_CLEANUP_ROUNDS
from cdk_kp.runtime.client import KeyPhrasesClient

from .conftest import new_app
from .definitions import definitions_in
from .emulator import (
    ACCOUNT,
    ACTIVE_STATUSES,
    REGION,
    ComprehendScript,
    Execution,
    LocalAws,
    ScriptedJob,
    local_aws,
    write_output,
)

#: When a Map Run ends (a batch fails, or its execution ends while a shard's task is finishing),
#: moto stops the frames of the shards still being evaluated, and evaluation in a stopped frame is
#: skipped ("Pruning"). A shard's ``.sync`` task caught there pops the wrong value for its timeout,
#: and the listener thread moto starts for that (already dead) task dies with a TypeError. Only
#: that thread's exception is ignored here; the bridges never run in such a thread.
pytestmark = pytest.mark.filterwarnings(
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


@pytest.fixture(scope="module")
def stack() -> BatchStack:
    return BatchStack(new_app(), "BatchStack")


@pytest.fixture(scope="module")
def template(stack: BatchStack) -> Template:
    return Template.from_stack(stack)


def batch_definition(template: Template, name: str) -> dict[str, Any]:
    (definition,) = [d for k, d in definitions_in(template).items() if k.startswith(name)]
    return definition


def batch_statements(template: Template, name: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
        if logical_id.startswith(f"{name}StateMachine"):
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


# -- synth time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency must be an integer from 1 to 100; got 0"),
        ({"max_concurrency": 101}, "max_concurrency must be an integer from 1 to 100; got 101"),
        ({"max_concurrency": 2.5}, "max_concurrency must be an integer from 1 to 100; got 2.5"),
        ({"max_concurrency": True}, "max_concurrency must be an integer from 1 to 100; got True"),
        (
            {"tolerated_failure_percentage": -1},
            "tolerated_failure_percentage must be a number from 0 to 100; got -1",
        ),
        (
            {"tolerated_failure_percentage": 100.5},
            "tolerated_failure_percentage must be a number from 0 to 100; got 100.5",
        ),
        (
            {"tolerated_failure_percentage": float("nan")},
            "tolerated_failure_percentage must be a number from 0 to 100; got nan",
        ),
        (
            {"tolerated_failure_count": -1},
            "tolerated_failure_count must be a non-negative integer or None; got -1",
        ),
    ],
)
def test_invalid_props_name_the_field_and_value(props, message):
    stack = cdk.Stack(new_app(), "Invalid")
    pipeline = KeyPhrasesPipeline(stack, "Pipeline")
    with pytest.raises(ValueError, match="must be") as raised:
        KeyPhrasesBatch(stack, "Batch", pipeline=pipeline, **props)
    assert str(raised.value) == message


# -- definition --------------------------------------------------------------------------------


def test_the_map_is_distributed_reads_the_manifest_and_writes_results(template):
    states = batch_definition(template, "Strict")["States"]
    shards = states["RunShards"]
    assert shards["Type"] == "Map"
    assert shards["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    assert shards["MaxConcurrency"] == 10  # the Comprehend quota of concurrent jobs
    # Neither threshold: Step Functions tolerates no failed item.
    assert "ToleratedFailurePercentage" not in shards
    assert "ToleratedFailureCount" not in shards
    reader = shards["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject"
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"]["Key.$"] == "States.Format('incoming/{}', $.request.manifest)"
    assert shards["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert shards["ResultWriter"]["Parameters"]["Prefix"] == "key-phrases/batch-results"
    assert shards["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "PrepareCleanup"}
    ]
    run_shard = shards["ItemProcessor"]["States"]["RunShard"]
    assert run_shard["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert run_shard["Parameters"]["StateMachineArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:stateMachine:PipelineStateMachine"
    )
    # A new name at every start (so a redriven shard starts a new execution), tagged with the
    # batch so that its give-up path can find its running shards.
    assert run_shard["Parameters"]["Name.$"] == (
        "States.Format('{}-{}', $.shardTag, States.UUID())"
    )


def test_props_reach_the_map(template):
    assert batch_definition(template, "Tolerant")["States"]["RunShards"][
        "ToleratedFailurePercentage"
    ] == (20)
    assert batch_definition(template, "Narrow")["States"]["RunShards"]["MaxConcurrency"] == 3


def test_the_result_writer_is_rendered_without_the_apps_feature_flags():
    """CDK renders ResultWriterV2 only under a feature flag a new app's cdk.json sets; the
    batch sets it for itself, so an app without it still writes the results."""
    stack = KeyPhrasesStack(new_app(context={}), "Legacy")
    shards = batch_definition(Template.from_stack(stack), "Batch")["States"]["RunShards"]
    assert shards["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert shards["ResultWriter"]["Parameters"]["Prefix"] == "batch-results"


def test_a_tolerated_count_of_zero_tolerates_no_failure_whatever_the_percentage():
    stack = cdk.Stack(new_app(), "Zero")
    pipeline = KeyPhrasesPipeline(stack, "Pipeline")
    KeyPhrasesBatch(
        stack,
        "Batch",
        pipeline=pipeline,
        tolerated_failure_percentage=20,
        tolerated_failure_count=0,
    )
    shards = batch_definition(Template.from_stack(stack), "Batch")["States"]["RunShards"]
    # CDK drops a count of 0; writing neither threshold means the same: none tolerated.
    assert "ToleratedFailurePercentage" not in shards
    assert "ToleratedFailureCount" not in shards


def test_the_batch_state_machine_has_logs_tracing_and_no_timeout(template):
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    for logical_id in ("Strict", "Tolerant", "Narrow"):
        (machine,) = [m for k, m in machines.items() if k.startswith(f"{logical_id}StateMachine")]
        props = machine["Properties"]
        assert props["TracingConfiguration"] == {"Enabled": True}
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        definition = batch_definition(template, logical_id)
        assert "TimeoutSeconds" not in definition


# -- IAM ---------------------------------------------------------------------------------------


def test_the_batch_starts_only_the_pipeline_and_follows_only_its_executions(template):
    statements = batch_statements(template, "Strict")
    by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
    pipeline_id = next(
        k
        for k in template.find_resources("AWS::StepFunctions::StateMachine")
        if k.startswith("PipelineStateMachine")
    )
    assert by_sid["StartShardExecutions"] == {
        "Sid": "StartShardExecutions",
        "Action": "states:StartExecution",
        "Effect": "Allow",
        "Resource": {"Ref": pipeline_id},
    }
    follow = by_sid["FollowShardExecutions"]
    assert follow["Action"] == ["states:DescribeExecution", "states:StopExecution"]
    parts = follow["Resource"]["Fn::Join"][1]
    assert parts[-3:] == [
        ":execution:",
        {"Fn::GetAtt": [pipeline_id, "Name"]},  # not split from the ARN (cross-stack safe)
        ":*",  # this state machine's executions, not those of every name it prefixes
    ]
    # The give-up path lists the pipeline's running executions and stops its own shards.
    (listing,) = [s for s in statements if s["Action"] == "states:ListExecutions"]
    assert listing["Resource"] == {"Ref": pipeline_id}
    (stopping,) = [s for s in statements if s["Action"] == "states:StopExecution"]
    assert stopping["Resource"] == follow["Resource"]
    start_actions = [
        s for s in statements if "states:StartExecution" in json.dumps(s.get("Action"))
    ]
    # The pipeline, and the batch itself (the Distributed Map's child executions).
    assert len(start_actions) == 2


def test_the_batch_reads_only_the_manifest_prefix_and_writes_only_results(template):
    statements = batch_statements(template, "Strict")
    s3_statements = [s for s in statements if "s3:" in json.dumps(s["Action"])]
    resources = {json.dumps(s["Resource"]): s["Action"] for s in s3_statements}
    input_id = next(k for k in template.find_resources("AWS::S3::Bucket") if "InputBucket" in k)
    output_id = next(k for k in template.find_resources("AWS::S3::Bucket") if "OutputBucket" in k)
    manifest = {"Fn::Join": ["", [{"Fn::GetAtt": [input_id, "Arn"]}, "/incoming/*"]]}
    results = {
        "Fn::Join": ["", [{"Fn::GetAtt": [output_id, "Arn"]}, "/key-phrases/batch-results/*"]]
    }
    assert resources == {
        json.dumps(manifest): "s3:GetObject",
        json.dumps(results): [
            "s3:AbortMultipartUpload",
            "s3:GetObject",
            "s3:ListMultipartUploadParts",
            "s3:PutObject",
        ],
    }


def test_the_batch_may_only_list_and_stop_jobs(template):
    granted = []
    for statement in batch_statements(template, "Strict"):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        for action in actions:
            if action.startswith("comprehend:"):
                granted.append((action, statement["Resource"]))
    assert [(action, resource == "*") for action, resource in granted] == [
        ("comprehend:ListKeyPhrasesDetectionJobs", True),
        ("comprehend:StopKeyPhrasesDetectionJob", False),
    ]
    assert granted[1][1]["Fn::Join"][1][-1] == ":key-phrases-detection-job/*"


def test_grants_and_metrics():
    stack = cdk.Stack(new_app(), "Grants")
    batch = KeyPhrasesBatch(stack, "Batch", pipeline=KeyPhrasesPipeline(stack, "Pipeline"))
    grantee = cdk.aws_iam.Role(stack, "Operator", assumed_by=cdk.aws_iam.AccountRootPrincipal())
    batch.grant_start_execution(grantee)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("OperatorDefaultPolicy")]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "states:StartExecution"
    assert statement["Resource"]["Ref"].startswith("BatchStateMachine")
    for metric, name in [
        (batch.metric_failed(), "ExecutionsFailed"),
        (batch.metric_succeeded(), "ExecutionsSucceeded"),
    ]:
        assert metric.namespace == "AWS/States"
        assert metric.metric_name == name
        machine = batch.state_machine.node.default_child
        assert isinstance(machine, cdk.CfnElement)
        assert metric.dimensions is not None
        assert stack.resolve(metric.dimensions["StateMachineArn"]) == {
            "Ref": stack.get_logical_id(machine)
        }


# -- execution in moto -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws(template: Template) -> Iterator[LocalAws]:
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


def test_25_shards_run_at_most_10_jobs_at_once_and_all_succeed(aws):
    execution = run_batch(aws, "Strict", failing=set())
    assert execution.status == "SUCCEEDED", execution.cause
    assert aws.jobs_started() == SHARDS
    assert aws.peak_active_jobs() == 10  # the limit holds, and is reached
    records = result_records(aws, execution)
    assert len(records["SUCCEEDED"]) == SHARDS
    assert records["FAILED"] == []
    prefixes = sorted(json.loads(r["Input"])["inputPrefix"] for r in records["SUCCEEDED"])
    assert prefixes == [shard_prefix(i) for i in range(SHARDS)]
    outputs = [json.loads(r["Output"]) for r in records["SUCCEEDED"]]
    assert {o["status"] for o in outputs} == {"SUCCEEDED"}
    assert len({o["jobId"] for o in outputs}) == SHARDS
    # Every job carries the batch's one name: SHA-256 of the batch execution's ARN.
    name = "key-phrases-batch-" + hashlib.sha256(execution.arn.encode()).hexdigest()
    assert execution.output is not None
    assert execution.output["jobName"] == name
    assert len(jobs_named(name)) == SHARDS


def test_the_concurrency_limit_is_the_configured_one(aws):
    execution = run_batch(aws, "Narrow", failing=set())
    assert execution.status == "SUCCEEDED", execution.cause
    assert aws.jobs_started() == SHARDS
    assert aws.peak_active_jobs() == 3


def test_failures_within_the_tolerance_leave_the_batch_succeeded_and_are_reported(aws):
    failing = {3, 11, 19}  # 12 % of 25, within 20 %
    execution = run_batch(aws, "Tolerant", failing)
    assert execution.status == "SUCCEEDED", execution.cause
    assert aws.peak_active_jobs() == 10
    records = result_records(aws, execution)
    failed = {json.loads(r["Input"])["inputPrefix"]: r for r in records["FAILED"]}
    assert sorted(failed) == [shard_prefix(i) for i in sorted(failing)]
    assert len(records["SUCCEEDED"]) == SHARDS - len(failing)
    for record in failed.values():
        assert record["Error"] == "States.TaskFailed"
        described = json.loads(record["Cause"])
        assert described["Error"] == "KeyPhrasesJobFailed"
        assert described["Cause"].endswith("failed: the documents are not UTF-8")
    # The client lists every shard with its status, job and output location, knowing only
    # the execution (as `cdk-kp results ARN` does).
    client = KeyPhrasesClient(session=aws.session)
    shards = client.batch_shards(client.describe(execution.arn))
    assert [s.input_prefix for s in shards] == [shard_prefix(i) for i in range(SHARDS)]
    for index, shard in enumerate(shards):
        assert shard.status == ("FAILED" if index in failing else "SUCCEEDED")
        assert shard.job_id in aws.script.jobs  # a failed shard's job too, found by its name
        assert shard.output_s3_uri is not None
    for index in failing:
        assert shards[index].error == "KeyPhrasesJobFailed"
        assert (shards[index].cause or "").endswith("failed: the documents are not UTF-8")


def test_failures_beyond_the_tolerance_fail_the_batch_and_stop_every_active_job(aws):
    """Shards 0 to 5 fail quickly (the sixth failure is 24 % of 25, over 20 %) while 6 to 9 are
    still running: the Map Run fails, Step Functions stops the running shards' executions
    (which leaves their jobs running), and the batch stops those jobs before it fails."""
    aws.reset(script(aws, set()))
    foreign = aws.session.client("comprehend").start_key_phrases_detection_job(
        InputDataConfig={"S3Uri": f"s3://{aws.outputs['InputBucket']}/other/"},
        OutputDataConfig={"S3Uri": f"s3://{aws.outputs['InputBucket']}/other-out/"},
        DataAccessRoleArn=f"arn:aws:iam::{ACCOUNT}:role/other",
        LanguageCode="en",
        JobName="someone-elses-job",
    )["JobId"]
    execution = run_batch(
        aws, "Tolerant", failing={0, 1, 2, 3, 4, 5}, slow={6, 7, 8, 9}, keep_jobs=True
    )
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "States.ExceedToleratedFailureThreshold" in (execution.cause or "")
    assert "6 of 25 items failed" in (execution.cause or "")
    assert execution.output is None
    aws.wait_for_child_executions()
    name = "key-phrases-batch-" + hashlib.sha256(execution.arn.encode()).hexdigest()
    jobs = {job.input_s3_config["S3Uri"].rsplit("/", 2)[-2]: job for job in jobs_named(name)}
    shard_executions = {
        json.loads(aws.sfn.describe_execution(executionArn=arn)["input"])["inputPrefix"]: arn
        for arn in aws.child_executions
    }
    for index in (6, 7, 8, 9):
        # Aborted with the Map Run: the pipeline could not stop its own job.
        described = aws.sfn.describe_execution(executionArn=shard_executions[shard_prefix(index)])
        assert described["status"] == "ABORTED", index
        job = jobs[f"shard-{index:05d}"]
        assert job.job_status == "STOP_REQUESTED", index  # the batch stopped it
        assert aws.script.jobs[job.job_id].stop_calls == 1
    still_active = [job.job_id for job in jobs.values() if job.job_status in ACTIVE_STATUSES]
    assert still_active == []
    # Another job, active in the same account, is not the batch's to stop.
    backend = comprehend_backends[ACCOUNT][REGION]
    assert backend.jobs[foreign].job_status == "SUBMITTED"
    assert aws.script.jobs[foreign].stop_calls == 0
    assert execution.states_entered().count("StopActiveJob") >= 4


def give_up_script(failing: set[int]) -> ComprehendScript:
    """The shards in ``failing`` fail after three polls; every other job runs until stopped."""

    def status(job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        uri = job.request["InputDataConfig"]["S3Uri"]
        if job.describe_calls >= 3 and any(uri.endswith(shard_prefix(i)) for i in failing):
            return ("FAILED", "the documents are not UTF-8")
        return "IN_PROGRESS"

    return ComprehendScript(status=status)


def start_give_up(
    aws: LocalAws, *, propagate: bool, hold: int | None = None, release_at_listing: bool = False
) -> tuple[threading.Event, list[bool]]:
    """Prepare the tolerant batch's run into its give-up path: shards 0 to 5 fail, the rest run
    until stopped. With ``hold``, that shard's job start is held until ``released`` is set (by
    the first listing of active jobs, with ``release_at_listing``); the returned list records,
    at each listing, whether that shard had a job yet."""
    aws.reset(give_up_script(failing={0, 1, 2, 3, 4, 5}))
    aws.propagate_map_abort = propagate
    released = threading.Event()
    had_job_at_listing: list[bool] = []
    if hold is not None:
        aws.hold_start(shard_prefix(hold), released)

        def after_list() -> None:
            had_job_at_listing.append(
                any(
                    j.request["InputDataConfig"]["S3Uri"].endswith(shard_prefix(hold))
                    for j in aws.script.jobs.values()
                )
            )
            if release_at_listing:
                released.set()

        aws.after_list = after_list
    manifest = [{"inputPrefix": shard_prefix(i)} for i in range(SHARDS)]
    aws.session.client("s3").put_object(
        Bucket=aws.outputs["InputBucket"], Key="incoming/b/manifest.json", Body=json.dumps(manifest)
    )
    return released, had_job_at_listing


def batch_jobs_of(execution: Execution) -> dict[str, Any]:
    name = "key-phrases-batch-" + hashlib.sha256(execution.arn.encode()).hexdigest()
    return {job.input_s3_config["S3Uri"].rsplit("/", 2)[-2]: job for job in jobs_named(name)}


def test_a_job_that_starts_after_the_first_listing_is_stopped_by_a_later_round(aws):
    """The race the give-up path must not lose: shard 9's StartKeyPhrasesDetectionJob call is
    in flight when the Map Run fails, and lands only after the clean-up has listed the active
    jobs once (the harness holds it until exactly then). Shard 9's execution was still running
    at the round's look at the shards, so the round goes on to another, which finds and stops
    the late job. (With a single round, this job would keep running.)"""
    _, had_job_at_listing = start_give_up(aws, propagate=True, hold=9, release_at_listing=True)
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs["TolerantArn"], timeout=60
    )
    aws.wait_for_child_executions()
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "every shard still running and every job of the batch" in (execution.cause or "")
    assert had_job_at_listing[0] is False  # the first listing could not see it
    jobs = batch_jobs_of(execution)
    late = jobs["shard-00009"]
    assert late.job_status == "STOP_REQUESTED"
    assert aws.script.jobs[late.job_id].stop_calls == 1
    assert [j.job_id for j in jobs.values() if j.job_status in ACTIVE_STATUSES] == []
    assert execution.states_entered().count("NextCleanupRound") >= 2


def test_shards_the_map_run_left_running_are_stopped_by_the_batch(aws):
    """AWS stops a .sync task's child execution only on a best-effort basis. When that fails,
    the shards' pipeline executions keep running after the Map Run failed; the batch stops them
    itself (by their names, tagged with the batch), then their jobs."""
    start_give_up(aws, propagate=False)
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs["TolerantArn"], timeout=60
    )
    aws.wait_for_child_executions()
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    stopped = [
        arn
        for arn in aws.child_executions
        if aws.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    ]
    assert len(stopped) >= 4  # shards 6 to 9 at least, and any started before the Map failed
    assert execution.states_entered().count("StopShardExecution") == len(stopped)
    jobs = batch_jobs_of(execution)
    assert [j.job_id for j in jobs.values() if j.job_status in ACTIVE_STATUSES] == []
    for job in jobs.values():
        if job.job_status == "STOP_REQUESTED":
            assert aws.script.jobs[job.job_id].stop_calls == 1


def test_a_shard_that_never_stops_ends_the_clean_up_after_its_last_round(aws):
    """Shard 9's start is held for the whole run, so its execution is still running at every
    round: after the last round the batch fails saying that some may still run."""
    released, _ = start_give_up(aws, propagate=True, hold=9)
    try:
        execution = aws.run(
            {"manifest": "b/manifest.json"},
            state_machine_arn=aws.outputs["TolerantArn"],
            timeout=60,
        )
    finally:
        released.set()
        aws.wait_for_child_executions()
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert f"after {MAX_CLEANUP_ROUNDS} rounds of stopping them" in (execution.cause or "")
    assert "BatchFailedStillRunning" in execution.states_entered()
    assert execution.states_entered().count("NextCleanupRound") == MAX_CLEANUP_ROUNDS


def test_a_clean_up_that_fails_says_jobs_may_still_run(aws):
    aws.reset(script(aws, failing={0}))
    aws.script.fail_list = ["InternalServerException"] * 7  # the first List and its 6 retries
    manifest = [{"inputPrefix": shard_prefix(i)} for i in range(3)]
    aws.session.client("s3").put_object(
        Bucket=aws.outputs["InputBucket"], Key="incoming/b/manifest.json", Body=json.dumps(manifest)
    )
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs["StrictArn"], timeout=30
    )
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "States.ExceedToleratedFailureThreshold" in (execution.cause or "")
    assert "failed with Comprehend.InternalServerException, so some may still run" in (
        execution.cause or ""
    )
    assert "BatchFailedJobsMayRun" in execution.states_entered()


def test_with_no_tolerance_one_failed_shard_fails_the_batch(aws):
    execution = run_batch(aws, "Strict", failing={7})
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "1 of 25 items failed" in (execution.cause or "")


@pytest.mark.parametrize(
    ("request_fields", "cause"),
    [
        ({"manifest": ""}, "manifest must be the key of a JSON array of shards"),
        ({"manifest": "/etc/passwd"}, 'got "/etc/passwd"'),
        ({"manifest": "../other/manifest.json"}, 'got "../other/manifest.json"'),
        ({"manifest": ".."}, 'got ".."'),
        ({"manifest": "a/.."}, 'got "a/.."'),
        ({"manifest": 7}, "got 7"),
        ({"languageCode": "xx"}, "languageCode must be one of en, es"),
        ({"inputFormat": "CSV"}, "inputFormat must be one of ONE_DOC_PER_FILE"),
    ],
)
def test_invalid_input_fails_before_any_job_starts(aws, request_fields, cause):
    execution = run_batch(aws, "Strict", failing=set(), **request_fields)
    assert execution.status == "FAILED"
    assert execution.error == INVALID_INPUT
    assert cause in (execution.cause or "")
    assert aws.jobs_started() == 0


@pytest.mark.parametrize(
    ("manifest", "body", "error"),
    [
        # moto reports S3's NoSuchKey as States.Runtime; AWS as States.ItemReaderFailed.
        ("nowhere/manifest.json", None, "NoSuchKey"),
        ("object.json", b'{"inputPrefix": "b/"}', "States.ItemReaderFailed"),
    ],
    ids=["missing", "not-an-array"],
)
def test_a_manifest_that_cannot_be_read_fails_the_batch_without_a_job(aws, manifest, body, error):
    aws.reset(script(aws, set()))
    if body is not None:
        aws.session.client("s3").put_object(
            Bucket=aws.outputs["InputBucket"], Key=f"incoming/{manifest}", Body=body
        )
    execution = aws.run(
        {"manifest": manifest}, state_machine_arn=aws.outputs["StrictArn"], timeout=30
    )
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert error in (execution.cause or "")
    assert aws.jobs_started() == 0


# -- client: sharded upload, batch, merged results ---------------------------------------------


def test_the_client_shards_a_corpus_runs_it_and_merges_every_document_once(aws, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expected = set()
    for number in range(50):
        lines = [f"Document {number}-{line} mentions Seattle and Amazon." for line in range(4)]
        (corpus / f"file-{number:03d}.txt").write_text("\n".join(lines) + "\n")
        expected |= {(f"file-{number:03d}.txt", line) for line in range(4)}
    aws.reset(script(aws, set()))
    aws.script.on_complete = write_output(aws)
    client = KeyPhrasesClient(
        input_bucket=aws.outputs["InputBucket"],
        input_prefix="incoming/",
        batch_state_machine_arn=aws.outputs["StrictArn"],
        session=aws.session,
    )
    plan = client.plan_upload([corpus], max_shard_documents=8)  # two files, 8 lines, a shard
    assert len(plan.shards) == SHARDS
    upload = client.upload_sharded(plan, batch="corpus")
    arn = client.start_batch(manifest=upload.manifest)
    seen: list[dict[str, int]] = []
    outcome = client.wait_batch(
        arn,
        upload.shard_prefixes,
        on_progress=lambda p: seen.append(p.counts()),
        poll_seconds=0.05,
    )
    assert aws.peak_active_jobs() == 10
    assert seen[-1] == {"COMPLETED": SHARDS}
    assert any("PENDING" in counts for counts in seen)
    shards = client.batch_shards(outcome)
    assert [s.input_prefix for s in shards] == upload.shard_prefixes
    assert {s.status for s in shards} == {"SUCCEEDED"}
    documents = [(r.file, r.line) for r in client.batch_results(shards)]
    assert len(documents) == len(expected) == 200
    assert set(documents) == expected  # every document once, no more
