"""Security properties: no wildcard resources, data that is never lost by accident, and
customer-managed keys end to end (tests/test_security_network.py: VPC and job tags)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesPipeline
from cdk_kp.infra._state_machine import LOG_GROUP_KEY_ACTIONS
from cdk_kp.infra.compliance import NO_RESOURCE_LEVEL_ACTIONS

from .conftest import ROOT, new_app
from .templates import (
    as_list,
    data_access_statements,
    identity_statements,
    key_arn,
    named,
    resources,
    start_state,
    state_machine_statements,
)
from .variants import BUILDERS

VARIANT_NAMES = sorted(BUILDERS)


@pytest.fixture(scope="module")
def templates(variant_templates: dict[str, Template]) -> dict[str, Template]:
    return variant_templates


# -- wildcards ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_no_statement_on_every_resource_but_actions_without_resource_level_support(
    templates, variant
):
    for logical_id, statement in identity_statements(templates[variant]):
        if "*" in as_list(statement["Resource"]):
            actions = as_list(statement["Action"])
            assert set(actions) <= set(NO_RESOURCE_LEVEL_ACTIONS), (logical_id, actions)


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_no_wildcard_action_anywhere(templates, variant):
    for logical_id, statement in identity_statements(templates[variant]):
        for action in as_list(statement["Action"]):
            assert "*" not in action, (logical_id, action)


def test_the_wildcard_check_can_fail():
    stack = cdk.Stack(new_app(), "Loose")
    pipeline = KeyPhrasesPipeline(stack, "Pipeline")
    pipeline.state_machine.add_to_role_policy(
        cdk.aws_iam.PolicyStatement(
            actions=["comprehend:StopKeyPhrasesDetectionJob"], resources=["*"]
        )
    )
    loose = [
        s
        for _, s in identity_statements(Template.from_stack(stack))
        if s["Resource"] == "*" and "comprehend:StopKeyPhrasesDetectionJob" in as_list(s["Action"])
    ]
    assert loose
    assert not set(as_list(loose[0]["Action"])) <= set(NO_RESOURCE_LEVEL_ACTIONS)


def test_every_action_allowed_on_every_resource_is_listed_in_the_docs():
    page = (ROOT / "docs" / "security-and-compliance.md").read_text()
    for action in NO_RESOURCE_LEVEL_ACTIONS:
        assert f"`{action}`" in page, action


# -- data safety -------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_buckets_and_log_groups_are_retained_and_never_emptied(templates, variant):
    template = templates[variant]
    assert resources(template, "Custom::S3AutoDeleteObjects") == {}
    for kind in ("AWS::S3::Bucket", "AWS::Logs::LogGroup"):
        for logical_id, resource in resources(template, kind).items():
            if logical_id.startswith(("Docs", "Results")):
                continue  # the user's own buckets in the composition variants
            assert resource["DeletionPolicy"] == "Retain", logical_id
            assert resource["UpdateReplacePolicy"] == "Retain", logical_id


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_created_buckets_are_versioned_and_lifecycle_never_touches_current_objects(
    templates, variant
):
    for logical_id, bucket in resources(templates[variant], "AWS::S3::Bucket").items():
        if logical_id.startswith(("Docs", "Results")):
            continue
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        for rule in props["LifecycleConfiguration"]["Rules"]:
            touched = set(rule) - {"Id", "Status"}
            assert touched <= {
                "AbortIncompleteMultipartUpload",
                "NoncurrentVersionExpiration",
            }, (logical_id, rule)


def test_noncurrent_versions_expire_only_when_asked(templates):
    def rules(variant: str) -> list[dict[str, Any]]:
        _, bucket = named(templates[variant], "AWS::S3::Bucket", "InputBucket")
        rules_: list[dict[str, Any]] = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        return rules_

    assert rules("bundled") == [
        {
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            "Id": "AbortIncompleteUploads",
            "Status": "Enabled",
        }
    ]
    assert {
        "Id": "ExpireNoncurrentVersions",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
        "Status": "Enabled",
    } in rules("hardened")


def test_deleting_data_is_an_explicit_opt_in():
    stack = cdk.Stack(new_app(), "Disposable")
    KeyPhrasesPipeline(
        stack,
        "Pipeline",
        output_bucket_props=s3.BucketProps(
            removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True
        ),
    )
    template = Template.from_stack(stack)
    assert len(resources(template, "Custom::S3AutoDeleteObjects")) == 1
    _, output = named(template, "AWS::S3::Bucket", "OutputBucket")
    _, inputs = named(template, "AWS::S3::Bucket", "InputBucket")
    assert output["DeletionPolicy"] == "Delete"
    assert inputs["DeletionPolicy"] == "Retain"


# -- customer-managed keys ---------------------------------------------------------------------


@pytest.mark.parametrize("which", ["InputBucket", "OutputBucket"])
def test_created_buckets_use_the_key_with_bucket_keys(templates, which):
    template = templates["customer-managed-key"]
    _, bucket = named(template, "AWS::S3::Bucket", which)
    assert bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "KMSMasterKeyID": key_arn(template),
                    "SSEAlgorithm": "aws:kms",
                },
            }
        ]
    }


def test_the_access_log_bucket_stays_on_sse_s3(templates):
    _, bucket = named(templates["customer-managed-key"], "AWS::S3::Bucket", "AccessLogBucket")
    assert bucket["Properties"]["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }


def test_the_job_output_and_volume_are_encrypted_with_the_keys(templates):
    cmk = start_state(templates["customer-managed-key"])["Parameters"]
    assert cmk["OutputDataConfig"]["KmsKeyId"].startswith("arn:aws:kms:")
    assert cmk["VolumeKmsKeyId"] == cmk["OutputDataConfig"]["KmsKeyId"]
    hardened = start_state(templates["hardened"])["Parameters"]
    assert hardened["VolumeKmsKeyId"] != hardened["OutputDataConfig"]["KmsKeyId"]


def test_start_is_allowed_only_with_the_keys(templates):
    template = templates["hardened"]
    (start,) = [
        s
        for s in state_machine_statements(template)
        if s["Action"] == "comprehend:StartKeyPhrasesDetectionJob"
    ]
    assert start["Condition"]["ArnEquals"] == {
        "comprehend:OutputKmsKey": key_arn(template, "Key"),
        "comprehend:VolumeKmsKey": key_arn(template, "VolumeKey"),
    }


def test_data_access_role_uses_keys_only_through_s3_and_grants_only_for_aws_resources(templates):
    template = templates["hardened"]
    statements = {s.get("Sid"): s for s in data_access_statements(template)}
    assert statements["UseBucketKeysThroughS3"] == {
        "Sid": "UseBucketKeysThroughS3",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Effect": "Allow",
        "Resource": key_arn(template, "Key"),
        "Condition": {
            "StringEquals": {
                "kms:ViaService": {
                    "Fn::Join": [
                        "",
                        ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"],
                    ]
                }
            }
        },
    }
    assert statements["GrantVolumeKeyToComprehend"] == {
        "Sid": "GrantVolumeKeyToComprehend",
        "Action": "kms:CreateGrant",
        "Effect": "Allow",
        "Resource": key_arn(template, "VolumeKey"),
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    }


def test_key_policy_lets_cloudwatch_logs_use_the_key_for_this_log_group_only(templates):
    template = templates["customer-managed-key"]
    (key,) = resources(template, "AWS::KMS::Key").values()
    _, log_group = named(template, "AWS::Logs::LogGroup", "ExecutionLogs")
    name = log_group["Properties"]["LogGroupName"]
    assert log_group["Properties"]["KmsKeyId"] == key_arn(template)
    (logs,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if '["logs.", ' in json.dumps(s.get("Principal"))  # logs.<region>.<DNS suffix>
    ]
    assert logs["Principal"] == {
        "Service": {
            "Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]
        }
    }
    assert sorted(logs["Action"]) == sorted(LOG_GROUP_KEY_ACTIONS)
    # Not kms:Describe*: DescribeKey and DescribeCustomKeyStores do not support the encryption
    # context condition, so that part of the guide's statement could never apply.
    assert LOG_GROUP_KEY_ACTIONS == [
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    ]
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        f":log-group:{name}",
                    ],
                ]
            }
        }
    }


def test_state_machine_is_encrypted_with_the_key_under_its_own_name(templates):
    template = templates["customer-managed-key"]
    _, machine = named(template, "AWS::StepFunctions::StateMachine", "StateMachine")
    props = machine["Properties"]
    assert props["EncryptionConfiguration"] == {
        "KmsDataKeyReusePeriodSeconds": 300,
        "KmsKeyId": key_arn(template),
        "Type": "CUSTOMER_MANAGED_KMS_KEY",
    }
    name = props["StateMachineName"]
    assert 1 <= len(name) <= 80
    # CDK conditions the role's key use on the state machine's ARN: with the name in it.
    (context,) = [
        s["Condition"]["StringEquals"]["kms:EncryptionContext:aws:states:stateMachineArn"]
        for s in state_machine_statements(template)
        if "kms:EncryptionContext:aws:states:stateMachineArn" in json.dumps(s.get("Condition"))
    ]
    assert context["Fn::Join"][1][-1] == f":stateMachine:{name}"


def test_without_a_key_the_state_machine_is_not_renamed(templates):
    machines = resources(templates["bundled"], "AWS::StepFunctions::StateMachine")
    assert len(machines) == 2  # the pipeline's and the batch's
    for machine in machines.values():
        assert "StateMachineName" not in machine["Properties"]
        assert "EncryptionConfiguration" not in machine["Properties"]


def test_bring_your_own_encrypted_buckets_keys_are_granted():
    stack = cdk.Stack(new_app(), "ByoKeys")
    key = kms.Key(stack, "TheirKey", enable_key_rotation=True)
    docs = s3.Bucket(stack, "Docs", encryption_key=key, enforce_ssl=True)
    KeyPhrasesPipeline(stack, "Pipeline", input_bucket=docs)
    template = Template.from_stack(stack)
    statements = {s.get("Sid"): s for s in data_access_statements(template)}
    assert statements["UseBucketKeysThroughS3"]["Resource"] == key_arn(template, "TheirKey")
