"""The batch's shards: a Distributed Map reading the manifest, each item an execution of the
pipeline (``startExecution.sync:2``), its results written by the Map's result writer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Arn, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from cdk_kp.contract import (
    EXECUTION_ARN,
    INPUT_FORMAT,
    INPUT_PREFIX,
    INPUT_S3_URI,
    JOB_ID,
    JOB_NAME,
    LANGUAGE_CODE,
    MANIFEST,
    MAP_RUN_ARN,
    OUTPUT_S3_URI,
    RESULTS_BUCKET,
    RESULTS_MANIFEST,
)

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

#: Shard executions are named ``kpb<MD5 of the batch execution ID>-<UUID>`` (72 characters, within
#: the 80 an execution name may have); the tag holds no ``-``.
SHARD_TAG_PREFIX = "kpb"
#: Key, under the pipeline's output prefix, of the Map Run result files.
RESULTS_FOLDER = "batch-results"
#: The request's manifest key, once the batch has merged the defaults into the input.
MANIFEST_PATH = f"$.request.{MANIFEST}"


class _PrefixedJsonItemReader(sfn.S3JsonItemReader):
    """CDK's JSON item reader, its s3:GetObject grant narrowed from the whole bucket to the
    pipeline's input prefix."""

    def __init__(self, *, prefix: str, bucket: s3.IBucket, key: str) -> None:
        super().__init__(bucket=bucket, key=key)
        self._grant_bucket = bucket
        self._grant_prefix = prefix

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self._grant_bucket.arn_for_objects(f"{self._grant_prefix}*")],
            )
        ]


class _ResultWriter(sfn.ResultWriterV2):
    """CDK's result writer without its grant (on the whole bucket, and only under some feature
    flags): the batch grants the results prefix itself, whatever the flags."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return []


def executions_of(state_machine: sfn.IStateMachine, suffix: str) -> str:
    """ARN pattern ``arn:…:execution:<state machine name><suffix>``, the name split from the
    ARN as CDK's own Distributed Map policy renders it (for the batch's own executions)."""
    name = Arn.split(state_machine.state_machine_arn, ArnFormat.COLON_RESOURCE_NAME).resource_name
    assert name is not None, "a state machine ARN has a name"
    return _execution_arn(state_machine, name + suffix)


def shard_executions(scope: Construct, pipeline: sfn.StateMachine) -> str:
    """``arn:…:execution:<pipeline state machine name>:*``: every execution of the pipeline,
    from its name attribute. When the pipeline is in another stack, the name arrives as that
    stack's output (an import, or ``Fn::GetStackOutput``), which the ARN must not be split
    from: CloudFormation's ``Fn::Split`` does not take ``Fn::GetStackOutput`` (cfn-lint E1022)."""
    return _execution_arn(scope, f"{pipeline.state_machine_name}:*")


def _execution_arn(scope: IConstruct, resource_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="states",
        resource="execution",
        resource_name=resource_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def run_shard(scope: Construct, pipeline: sfn.StateMachine) -> sfn.CustomState:
    """One shard: an execution of the pipeline, waited for to its end.

    A CustomState, not CDK's StepFunctionsStartExecution: CDK grants Describe and Stop on
    ``execution:<name>*``, which also matches every state machine whose name starts with the
    pipeline's; the batch grants them on this state machine's executions only."""
    return sfn.CustomState(
        scope,
        "RunShard",
        state_json={
            "Type": "Task",
            "Comment": "One shard: an execution of the pipeline, waited for to its end.",
            "Resource": Stack.of(scope).format_arn(
                service="states",
                account="",
                region="",
                resource="states",
                resource_name="startExecution.sync:2",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            "Parameters": {
                "StateMachineArn": pipeline.state_machine_arn,
                # A new name for every start, so a redriven shard starts a new execution.
                "Name.$": "States.Format('{}-{}', $.shardTag, States.UUID())",
                "Input": {
                    **{f"{field}.$": f"$.{field}" for field in _SHARD_REQUEST},
                    # Links the pipeline execution to the Map child execution that started
                    # it, in the console and in DescribeExecution.
                    "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                },
            },
            "ResultSelector": {
                "status.$": "$.Status",
                f"{EXECUTION_ARN}.$": "$.ExecutionArn",
                **{f"{field}.$": f"$.Output.{field}" for field in _SHARD_OUTPUT},
            },
        },
    )


#: What each shard's pipeline execution is asked, and what the batch keeps of its output.
_SHARD_REQUEST = (INPUT_PREFIX, LANGUAGE_CODE, INPUT_FORMAT, JOB_NAME)
_SHARD_OUTPUT = (JOB_ID, INPUT_S3_URI, OUTPUT_S3_URI)


def shards_map(
    scope: Construct,
    *,
    input_bucket: s3.IBucket,
    input_prefix: str,
    output_bucket: s3.IBucket,
    results_prefix: str,
    max_concurrency: int,
    tolerated_failure_percentage: float,
    tolerated_failure_count: int | None,
) -> sfn.DistributedMap:
    """The Distributed Map over the manifest's shards, at most ``max_concurrency`` at once,
    failing once the failed shards exceed the tolerated percentage or count."""
    return sfn.DistributedMap(
        scope,
        "RunShards",
        comment="Each shard is one pipeline execution; at most max_concurrency at once.",
        label="Shards",
        max_concurrency=max_concurrency,
        # A count of 0 fails the run at the first failed shard, whatever the percentage;
        # CDK drops a 0 count, so 0 is written as neither threshold, which means the same.
        tolerated_failure_percentage=0
        if tolerated_failure_count == 0
        else tolerated_failure_percentage,
        tolerated_failure_count=tolerated_failure_count,
        item_reader=_PrefixedJsonItemReader(
            prefix=input_prefix,
            bucket=input_bucket,
            key=sfn.JsonPath.format(f"{input_prefix}{{}}", sfn.JsonPath.string_at(MANIFEST_PATH)),
        ),
        item_selector={
            INPUT_PREFIX: sfn.JsonPath.string_at(f"$$.Map.Item.Value.{INPUT_PREFIX}"),
            LANGUAGE_CODE: sfn.JsonPath.string_at(f"$.request.{LANGUAGE_CODE}"),
            INPUT_FORMAT: sfn.JsonPath.string_at(f"$.request.{INPUT_FORMAT}"),
            JOB_NAME: sfn.JsonPath.string_at(f"$.{JOB_NAME}"),
            "shardTag": sfn.JsonPath.string_at("$.shardTag"),
        },
        result_writer_v2=_ResultWriter(bucket=output_bucket, prefix=results_prefix),
        result_selector={
            MAP_RUN_ARN: sfn.JsonPath.string_at("$.MapRunArn"),
            RESULTS_BUCKET: sfn.JsonPath.string_at("$.ResultWriterDetails.Bucket"),
            RESULTS_MANIFEST: sfn.JsonPath.string_at("$.ResultWriterDetails.Key"),
        },
        result_path="$.results",
    )
