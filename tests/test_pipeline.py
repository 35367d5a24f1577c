"""KeyPhrasesPipeline: buckets, state machine, its role, grants, metrics and the stack outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesPipeline, PollSchedule
from cdk_kp.infra._pipeline_props import default_execution_timeout

from .conftest import (
    BYO_INPUT_BUCKET,
    BYO_OUTPUT_BUCKET,
    BYO_ROLE_ARN,
    new_app,
    pipeline_resource,
)

SECURE_BUCKET = {
    "BucketEncryption": {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    },
    "PublicAccessBlockConfiguration": {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    },
    "VersioningConfiguration": {"Status": "Enabled"},
    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
}


def buckets(template: Template) -> Mapping[str, Mapping[str, Any]]:
    found: Mapping[str, Mapping[str, Any]] = template.find_resources("AWS::S3::Bucket")
    return found


def bucket_id(template: Template, fragment: str) -> str:
    (found,) = [k for k in buckets(template) if fragment in k]
    return found


def state_machine_policy(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith("PipelineStateMachineRole")]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


# -- buckets -----------------------------------------------------------------------------------


def test_three_buckets_input_output_and_access_logs(bundled_template):
    assert sorted(k.rsplit("Bucket", 1)[0] for k in buckets(bundled_template)) == [
        "PipelineAccessLog",
        "PipelineInput",
        "PipelineOutput",
    ]


@pytest.mark.parametrize("which", ["Input", "Output", "AccessLog"])
def test_every_bucket_is_private_encrypted_versioned_and_retained(bundled_template, which):
    bucket = buckets(bundled_template)[bucket_id(bundled_template, f"Pipeline{which}Bucket")]
    for key, value in SECURE_BUCKET.items():
        assert bucket["Properties"][key] == value, key
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"


def test_nothing_empties_a_bucket(bundled_template):
    assert bundled_template.find_resources("Custom::S3AutoDeleteObjects") == {}
    assert bundled_template.find_resources("AWS::Lambda::Function") == {}
    for bucket in buckets(bundled_template).values():
        assert bucket["Properties"]["LifecycleConfiguration"] == {
            "Rules": [
                {
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                    "Id": "AbortIncompleteUploads",
                    "Status": "Enabled",
                }
            ]
        }


@pytest.mark.parametrize(
    ("which", "prefix"), [("Input", "input-bucket/"), ("Output", "output-bucket/")]
)
def test_data_buckets_log_access_into_the_log_bucket(bundled_template, which, prefix):
    bucket = buckets(bundled_template)[bucket_id(bundled_template, f"Pipeline{which}Bucket")]
    log_bucket = bucket_id(bundled_template, "PipelineAccessLogBucket")
    assert bucket["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_bucket},
        "LogFilePrefix": prefix,
    }


@pytest.mark.parametrize("which", ["Input", "Output", "AccessLog"])
def test_every_bucket_refuses_plain_http(bundled_template, which):
    policies = bundled_template.find_resources("AWS::S3::BucketPolicy")
    target = bucket_id(bundled_template, f"Pipeline{which}Bucket")
    (policy,) = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": target}]
    assert {
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": [
            {"Fn::GetAtt": [target, "Arn"]},
            {"Fn::Join": ["", [{"Fn::GetAtt": [target, "Arn"]}, "/*"]]},
        ],
    } in policy["Properties"]["PolicyDocument"]["Statement"]


def test_log_delivery_is_granted_by_bucket_policy_not_acl(bundled_template):
    log_bucket = bucket_id(bundled_template, "PipelineAccessLogBucket")
    policies = bundled_template.find_resources("AWS::S3::BucketPolicy")
    (policy,) = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": log_bucket}]
    principals = [s.get("Principal") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Service": "logging.s3.amazonaws.com"} in principals
    assert "AccessControl" not in buckets(bundled_template)[log_bucket]["Properties"]


def test_without_the_feature_flag_log_delivery_is_still_by_bucket_policy(bundled_template):
    """Apps created before CDK's serverAccessLogsUseBucketPolicy flag get the same log bucket:
    no ACL, BucketOwnerEnforced, and the same log-delivery statements."""
    stack = cdk.Stack(new_app(context={}), "Legacy")
    KeyPhrasesPipeline(stack, "Pipeline")
    legacy = Template.from_stack(stack)
    for template in (legacy, bundled_template):
        log_bucket = buckets(template)[bucket_id(template, "PipelineAccessLogBucket")]
        assert "AccessControl" not in log_bucket["Properties"]
        assert log_bucket["Properties"]["OwnershipControls"] == SECURE_BUCKET["OwnershipControls"]

    def log_policy(template: Template) -> Any:
        (policy,) = [
            p
            for k, p in template.find_resources("AWS::S3::BucketPolicy").items()
            if k.startswith("PipelineAccessLogBucketPolicy")
        ]
        return policy["Properties"]["PolicyDocument"]

    assert log_policy(legacy) == log_policy(bundled_template)


def test_bucket_props_override_single_defaults_and_keep_the_rest():
    stack = cdk.Stack(new_app(), "S")
    KeyPhrasesPipeline(
        stack,
        "Pipeline",
        input_bucket_props=s3.BucketProps(bucket_name="my-docs", versioned=False),
    )
    template = Template.from_stack(stack)
    bucket = buckets(template)[bucket_id(template, "PipelineInputBucket")]
    assert bucket["Properties"]["BucketName"] == "my-docs"
    assert "VersioningConfiguration" not in bucket["Properties"]
    assert bucket["Properties"]["BucketEncryption"] == SECURE_BUCKET["BucketEncryption"]
    assert bucket["DeletionPolicy"] == "Retain"


def test_users_buckets_and_role_are_used_and_nothing_is_created_for_them(byo_template):
    assert buckets(byo_template) == {}
    byo_template.resource_count_is("AWS::IAM::Role", 1)  # only the state machine's own role


def test_users_role_is_passed_to_comprehend(byo_template):
    statements = state_machine_policy(byo_template)
    assert {
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "comprehend.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": BYO_ROLE_ARN,
    } in statements


def test_users_role_gets_the_least_privilege_statements(byo_template):
    _, policy = next(
        (k, p)
        for k, p in byo_template.find_resources("AWS::IAM::Policy").items()
        if "AccessRole" in k
    )
    assert policy["Properties"]["Roles"] == ["corp-comprehend-access"]
    resources = [s["Resource"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    partition = {"Ref": "AWS::Partition"}
    assert resources == [
        {"Fn::Join": ["", ["arn:", partition, f":s3:::{BYO_INPUT_BUCKET}/incoming/*"]]},
        {"Fn::Join": ["", ["arn:", partition, f":s3:::{BYO_INPUT_BUCKET}"]]},
        {"Fn::Join": ["", ["arn:", partition, f":s3:::{BYO_OUTPUT_BUCKET}/key-phrases/*"]]},
    ]


# -- state machine -----------------------------------------------------------------------------


def test_state_machine_is_standard_with_all_logs_and_tracing(bundled_template):
    _, machine = pipeline_resource(bundled_template, "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    (destination,) = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    _, log_group = pipeline_resource(bundled_template, "AWS::Logs::LogGroup")
    assert log_group_id.startswith("PipelineExecutionLogs")
    assert log_group["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"


def definition_of(template: Template) -> str:
    _, machine = pipeline_resource(template, "AWS::StepFunctions::StateMachine")
    return json.dumps(machine["Properties"]["DefinitionString"])


def test_execution_timeout_covers_the_budget_every_retry_and_thirty_minutes(bundled_template):
    # 24 h of waits; 157 polls, the start and the stop each retrying up to 122 s; 30 minutes.
    assert default_execution_timeout(PollSchedule()) == 86400 + 159 * 122 + 1800 == 107598
    assert '\\"TimeoutSeconds\\":107598' in definition_of(bundled_template)


def test_execution_timeout_follows_a_custom_budget_and_can_be_set():
    stack = cdk.Stack(new_app(), "S")
    KeyPhrasesPipeline(stack, "A", poll_schedule=PollSchedule(timeout=Duration.hours(2)))
    KeyPhrasesPipeline(
        stack,
        "B",
        poll_schedule=PollSchedule(timeout=Duration.hours(2)),
        execution_timeout=Duration.hours(3),
    )
    definitions = [
        json.dumps(m["Properties"]["DefinitionString"])
        for m in Template.from_stack(stack)
        .find_resources("AWS::StepFunctions::StateMachine")
        .values()
    ]
    two_hours = default_execution_timeout(PollSchedule(timeout=Duration.hours(2)))
    assert two_hours == 7200 + (25 + 2) * 122 + 1800
    assert sorted(f'\\"TimeoutSeconds\\":{two_hours}' in d for d in definitions) == [False, True]
    assert sorted('\\"TimeoutSeconds\\":10800' in d for d in definitions) == [False, True]


def test_state_machine_may_call_comprehend_only_on_key_phrase_jobs(bundled_template):
    statements = state_machine_policy(bundled_template)
    comprehend = [s for s in statements if "comprehend" in json.dumps(s.get("Action"))]
    assert comprehend == [
        {
            "Action": [
                "comprehend:DescribeKeyPhrasesDetectionJob",
                "comprehend:StartKeyPhrasesDetectionJob",
                "comprehend:StopKeyPhrasesDetectionJob",
            ],
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":comprehend:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":key-phrases-detection-job/*",
                    ],
                ]
            },
        }
    ]


def test_state_machine_passes_only_the_data_access_role_only_to_comprehend(bundled_template):
    role_id, _ = only_resource_named(bundled_template, "AWS::IAM::Role", "DataAccessRole")
    (pass_role,) = [
        s for s in state_machine_policy(bundled_template) if s["Action"] == "iam:PassRole"
    ]
    assert pass_role == {
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "comprehend.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [role_id, "Arn"]},
    }


def test_only_logs_and_xray_actions_are_on_every_resource(bundled_template):
    on_star = [s for s in state_machine_policy(bundled_template) if s["Resource"] == "*"]
    assert len(on_star) == 1
    services = {action.split(":")[0] for action in on_star[0]["Action"]}
    assert services == {"logs", "xray"}


def only_resource_named(template: Template, resource_type: str, fragment: str) -> tuple[str, Any]:
    (found,) = [(k, v) for k, v in template.find_resources(resource_type).items() if fragment in k]
    return found


# -- grants, metrics, attributes ---------------------------------------------------------------


@pytest.fixture(scope="module")
def granted() -> Template:
    stack = cdk.Stack(new_app(), "Grants")
    pipeline = KeyPhrasesPipeline(stack, "Pipeline", input_prefix="in/", output_prefix="out/")
    whole = KeyPhrasesPipeline(stack, "Whole", encryption_key=kms.Key(stack, "Key"))
    for grant_id, grant in [
        ("Starter", pipeline.grant_start_execution),
        ("Writer", pipeline.grant_write_input),
        ("Reader", pipeline.grant_read_output),
        ("KeyWriter", whole.grant_write_input),
        ("KeyReader", whole.grant_read_output),
    ]:
        grant(iam.User(stack, grant_id))
    return Template.from_stack(stack)


def user_statements(template: Template, user: str) -> list[dict[str, Any]]:
    (policy,) = [
        p for k, p in template.find_resources("AWS::IAM::Policy").items() if k.startswith(user)
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


S3_VIA_SERVICE = {
    "StringEquals": {
        "kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    }
}


def bucket_arn(template: Template, fragment: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [only_resource_named(template, "AWS::S3::Bucket", fragment)[0], "Arn"]}


def test_grant_start_execution(granted):
    (statement,) = user_statements(granted, "Starter")
    assert statement["Action"] == "states:StartExecution"
    assert statement["Resource"] == {
        "Ref": only_resource_named(granted, "AWS::StepFunctions::StateMachine", "Pipeline")[0]
    }


def test_grant_write_input_is_put_under_the_input_prefix_only(granted):
    assert user_statements(granted, "Writer") == [
        {
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [bucket_arn(granted, "PipelineInputBucket"), "/in/*"]]},
        }
    ]


def test_grant_write_input_encrypts_with_the_input_buckets_key_through_s3_only(granted):
    (key_id,) = granted.find_resources("AWS::KMS::Key")
    assert user_statements(granted, "KeyWriter")[1] == {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": S3_VIA_SERVICE,
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
    }


def test_grant_read_output_is_get_and_list_under_the_output_prefix_only(granted):
    output = bucket_arn(granted, "PipelineOutputBucket")
    assert user_statements(granted, "Reader") == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [output, "/out/*"]]},
        },
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": ["out/*"]}},
            "Effect": "Allow",
            "Resource": output,
        },
    ]


def test_grant_read_output_of_a_whole_bucket_lists_it_and_decrypts_through_s3(granted):
    (key_id,) = granted.find_resources("AWS::KMS::Key")
    output = bucket_arn(granted, "WholeOutputBucket")
    assert user_statements(granted, "KeyReader") == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [output, "/*"]]},
        },
        {"Action": "s3:ListBucket", "Effect": "Allow", "Resource": output},
        {
            "Action": "kms:Decrypt",
            "Condition": S3_VIA_SERVICE,
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        },
    ]


def test_metrics_name_the_state_machine(bundled_stack, bundled_template):
    pipeline = bundled_stack.pipeline
    machine_id, _ = pipeline_resource(bundled_template, "AWS::StepFunctions::StateMachine")
    for metric, name, statistic in [
        (pipeline.metric_failed(), "ExecutionsFailed", "Sum"),
        (pipeline.metric_succeeded(), "ExecutionsSucceeded", "Sum"),
        (pipeline.metric_time(), "ExecutionTime", "Average"),
    ]:
        assert metric.namespace == "AWS/States"
        assert metric.metric_name == name
        assert metric.statistic == statistic
        assert bundled_stack.resolve(metric.dimensions["StateMachineArn"]) == {"Ref": machine_id}
    assert pipeline.metric_failed(period=Duration.minutes(1)).period.to_minutes() == 1


def test_attributes_expose_what_was_created(bundled_stack):
    pipeline = bundled_stack.pipeline
    assert isinstance(pipeline.input_bucket, s3.Bucket)
    assert isinstance(pipeline.output_bucket, s3.Bucket)
    assert isinstance(pipeline.access_log_bucket, s3.Bucket)
    assert isinstance(pipeline.data_access_role, iam.Role)
    assert pipeline.workflow.poll_schedule == pipeline.poll_schedule


def test_attributes_expose_what_was_given(byo_stack):
    pipeline = byo_stack.pipeline
    assert pipeline.input_bucket is byo_stack.input_bucket
    assert pipeline.output_bucket is byo_stack.output_bucket
    assert pipeline.data_access_role is byo_stack.role
    assert pipeline.access_log_bucket is None


def test_stack_outputs(bundled_template):
    outputs = bundled_template.to_json()["Outputs"]
    assert set(outputs) == {
        "InputBucketName",
        "OutputBucketName",
        "StateMachineArn",
        "DataAccessRoleArn",
        "InputPrefix",
        "OutputPrefix",
        "InputFormat",
        "BatchStateMachineArn",
    }
    assert outputs["BatchStateMachineArn"]["Value"] == {"Ref": "BatchStateMachineA1FF2995"}
    assert outputs["InputFormat"]["Value"] == "ONE_DOC_PER_LINE"
    assert outputs["InputPrefix"]["Value"] == "/"  # no prefix: the whole bucket
    role_id, _ = only_resource_named(bundled_template, "AWS::IAM::Role", "DataAccessRole")
    assert outputs["DataAccessRoleArn"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_stack_is_environment_agnostic(bundled_stack):
    assert cdk.Token.is_unresolved(bundled_stack.account)
    assert cdk.Token.is_unresolved(bundled_stack.region)


def test_construct_ids_are_stable(bundled_template):
    """Renaming any of these replaces a resource (and a bucket's data stays behind): a change
    here must be deliberate."""
    ids = sorted(bundled_template.to_json()["Resources"])
    assert [i for i in ids if i != "CDKMetadata"] == [
        "BatchExecutionLogs746C4169",
        "BatchStateMachineA1FF2995",
        "BatchStateMachineDistributedMapPolicyCB83B87C",
        "BatchStateMachineRole4344C5F9",
        "BatchStateMachineRoleDefaultPolicy0F86D2F5",
        "PipelineAccessLogBucket4BD8E1ED",
        "PipelineAccessLogBucketPolicy4B0CB8BF",
        "PipelineDataAccessRoleDefaultPolicy32FC2DB0",
        "PipelineDataAccessRoleFE2C4842",
        "PipelineExecutionLogsFBAC0865",
        "PipelineInputBucketBFFE5A87",
        "PipelineInputBucketPolicyF9109BC0",
        "PipelineOutputBucket98EA5F71",
        "PipelineOutputBucketPolicy4566E5A8",
        "PipelineStateMachine1814BD05",
        "PipelineStateMachineRole61BEBDFF",
        "PipelineStateMachineRoleDefaultPolicy24D0EC77",
    ]
