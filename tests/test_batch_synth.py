"""KeyPhrasesBatch at synth time: its props, its definition and its IAM."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline, KeyPhrasesStack

from .batch_stack import batch_definition, batch_statements
from .batch_stack import template as template  # fixture: see tests/batch_stack.py
from .conftest import new_app

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
