"""Security properties: customer-managed keys end to end, VPC, job tags, no wildcard resources,
and data that is never lost by accident."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesPipeline
from cdk_kp.infra.compliance import NO_RESOURCE_LEVEL_ACTIONS
from cdk_kp.infra.network import S3_UNREACHABLE_WARNING
from cdk_kp.infra.pipeline import LOG_GROUP_KEY_ACTIONS

from .conftest import ROOT, new_app
from .definitions import definitions_in
from .variants import BUILDERS, JOB_TAGS, in_vpc

VARIANT_NAMES = sorted(BUILDERS)


@pytest.fixture(scope="module")
def templates() -> dict[str, Template]:
    return {name: Template.from_stack(build()) for name, build in BUILDERS.items()}


def resources(template: Template, resource_type: str) -> Mapping[str, Mapping[str, Any]]:
    found: Mapping[str, Mapping[str, Any]] = template.find_resources(resource_type)
    return found


def identity_statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """Every statement of every identity-based policy, with the logical ID that holds it."""
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, policy in resources(template, kind).items():
            found += [(logical_id, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    for logical_id, role in resources(template, "AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            found += [(logical_id, s) for s in inline["PolicyDocument"]["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def named(template: Template, resource_type: str, fragment: str) -> tuple[str, Mapping[str, Any]]:
    (found,) = [(k, v) for k, v in resources(template, resource_type).items() if fragment in k]
    return found


def start_state(template: Template) -> dict[str, Any]:
    (definition,) = [d for d in definitions_in(template).values() if "StartJob" in d["States"]]
    state: dict[str, Any] = definition["States"]["StartJob"]
    return state


def state_machine_statements(template: Template) -> list[dict[str, Any]]:
    return [
        s
        for k, s in identity_statements(template)
        if "StateMachineRole" in k and not k.startswith("Batch")
    ]


def data_access_statements(template: Template) -> list[dict[str, Any]]:
    return [s for k, s in identity_statements(template) if "DataAccessRole" in k]


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


def test_every_action_allowed_on_every_resource_is_listed_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for action in NO_RESOURCE_LEVEL_ACTIONS:
        assert f"`{action}`" in readme, action


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


def key_arn(template: Template, prefix: str = "Key") -> dict[str, Any]:
    """The ARN of the key whose logical ID starts with ``prefix``."""
    (logical_id,) = [k for k in resources(template, "AWS::KMS::Key") if k.startswith(prefix)]
    return {"Fn::GetAtt": [logical_id, "Arn"]}


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


# -- VPC ---------------------------------------------------------------------------------------


SUBNETS = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]


def test_jobs_run_in_the_vpcs_private_subnets_open_only_to_their_own_group(templates):
    """Comprehend's VPC guide: a job's containers must reach each other, through a rule that
    allows inbound connections between members of the same security group; nothing else gets
    in, and everything may go out (to S3)."""
    template = templates["vpc"]
    config = start_state(template)["Parameters"]["VpcConfig"]
    assert config["Subnets"] == SUBNETS
    (group_id,) = config["SecurityGroupIds"]
    assert group_id.startswith("sg-")
    logical_id, group = named(template, "AWS::EC2::SecurityGroup", "JobSecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "Allow all outbound traffic by default",
            "IpProtocol": "-1",
        }
    ]
    assert group["Properties"]["VpcId"] == "vpc-0a1b2c3d4e5f60718"
    (ingress,) = resources(template, "AWS::EC2::SecurityGroupIngress").values()
    own_id = {"Fn::GetAtt": [logical_id, "GroupId"]}
    assert ingress["Properties"] == {
        "Description": "the containers of one Comprehend job",
        "GroupId": own_id,
        "IpProtocol": "-1",
        "SourceSecurityGroupId": own_id,
    }


def pipeline_in(vpc_kind: str, *, endpoint: bool = False) -> cdk.Stack:
    """A pipeline in a VPC defined in the app: private subnets with a NAT gateway, isolated
    subnets (with or without an S3 gateway endpoint, added after the pipeline), or its public
    subnets."""
    stack = cdk.Stack(new_app(), "Network")
    if vpc_kind == "isolated":
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        selection = None
    else:
        vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
        selection = (
            ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC) if vpc_kind == "public" else None
        )
    KeyPhrasesPipeline(stack, "Pipeline", vpc=vpc, vpc_subnets=selection)
    if endpoint:
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
    return stack


def s3_warnings(stack: cdk.Stack) -> list[str]:
    app = stack.node.root
    assert isinstance(app, cdk.App)
    messages = app.synth().get_stack_by_name(stack.stack_name).messages
    return [str(m.entry.data) for m in messages if S3_UNREACHABLE_WARNING in str(m.entry.data)]


@pytest.mark.parametrize(
    ("vpc_kind", "endpoint", "stranded"),
    [
        ("private-with-egress", False, None),
        ("isolated", True, None),
        ("isolated", False, "Network/Vpc/JobsSubnet1, Network/Vpc/JobsSubnet2"),
        ("public", False, "Network/Vpc/PublicSubnet1, Network/Vpc/PublicSubnet2"),
    ],
    ids=["nat", "isolated-with-endpoint", "isolated", "public"],
)
def test_subnets_that_cannot_reach_s3_are_named_at_synth(vpc_kind, endpoint, stranded):
    """Comprehend's VPC guide: job containers without internet access reach S3 only through a
    VPC endpoint. A VPC of the app whose job subnets have neither a NAT route nor an S3 gateway
    endpoint gets a warning naming them (the jobs would fail reading their input)."""
    warnings = s3_warnings(pipeline_in(vpc_kind, endpoint=endpoint))
    if stranded is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert f"the job's subnets {stranded} have no NAT gateway and no S3 gateway" in warning
        assert "vpc.add_gateway_endpoint('S3'" in warning


def test_an_imported_vpc_is_not_judged(templates):
    """Its routes are unknown at synth time: no warning (the README says what it needs)."""
    assert s3_warnings(in_vpc()) == []


def test_start_is_allowed_only_in_the_configured_network(templates):
    template = templates["hardened"]
    (start,) = [
        s
        for s in state_machine_statements(template)
        if s["Action"] == "comprehend:StartKeyPhrasesDetectionJob"
    ]
    assert start["Condition"]["ForAllValues:StringEquals"]["comprehend:VpcSubnets"] == SUBNETS
    assert start["Condition"]["ForAllValues:StringEquals"]["comprehend:VpcSecurityGroupIds"] == [
        "sg-0123456789abcdef0"
    ]
    assert start["Condition"]["Null"] == {
        "comprehend:VpcSubnets": "false",
        "comprehend:VpcSecurityGroupIds": "false",
    }


def ec2_arn(kind: str, resource_id: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ec2:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{kind}/{resource_id}",
            ],
        ]
    }


def test_data_access_role_network_permissions_are_scoped_to_the_job_subnets(templates):
    statements = {s.get("Sid"): s for s in data_access_statements(templates["hardened"])}
    interfaces = ec2_arn("network-interface", "*")
    assert statements["CreateJobInterfacesInJobSubnets"]["Action"] == "ec2:CreateNetworkInterface"
    create = statements["CreateJobInterfacesInJobSubnets"]["Resource"]
    expected = [
        interfaces,
        *[ec2_arn("subnet", s) for s in SUBNETS],
        ec2_arn("security-group", "sg-0123456789abcdef0"),
    ]
    assert sorted(map(json.dumps, create)) == sorted(map(json.dumps, expected))
    manage = statements["ManageJobInterfacesInJobSubnets"]
    assert manage["Resource"] == interfaces
    assert manage["Condition"] == {
        "ArnEquals": {"ec2:Subnet": [ec2_arn("subnet", s) for s in SUBNETS]}
    }
    assert statements["DescribeJobNetwork"]["Resource"] == "*"


def test_no_network_permissions_without_a_vpc(templates):
    text = json.dumps(data_access_statements(templates["bundled"]))
    assert "ec2:" not in text


@pytest.mark.parametrize(
    ("subnets", "groups", "message"),
    [
        (
            17,
            1,
            r"vpc_subnets must select 1 to 16 subnets \(Comprehend's VpcConfig\); got 17 from "
            r"the default \(the VPC's private subnets\)",
        ),
        (2, 6, r"security_groups must number 1 to 5 .*; got 6"),
        (2, 0, r"security_groups must number 1 to 5 .*; got 0"),
    ],
)
def test_vpc_config_limits_are_checked_at_synth(subnets, groups, message):
    stack = cdk.Stack(new_app(), "S")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "V",
        vpc_id="vpc-1",
        availability_zones=["a"] * subnets,
        private_subnet_ids=[f"subnet-{i}" for i in range(subnets)],
    )
    security = [
        ec2.SecurityGroup.from_security_group_id(stack, f"G{i}", f"sg-{i}") for i in range(groups)
    ]
    with pytest.raises(ValueError, match=message):
        KeyPhrasesPipeline(stack, "Pipeline", vpc=vpc, security_groups=security)


def test_subnets_without_a_vpc_are_refused():
    stack = cdk.Stack(new_app(), "S")
    with pytest.raises(ValueError, match=r"vpc_subnets and security_groups need a vpc"):
        KeyPhrasesPipeline(
            stack,
            "Pipeline",
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )


# -- tags --------------------------------------------------------------------------------------


def test_job_tags_are_passed_to_the_job(templates):
    assert start_state(templates["customer-managed-key"])["Parameters"]["Tags"] == [
        {"Key": "cost-center", "Value": "nlp-42"},
        {"Key": "data-class", "Value": "confidential"},
    ]


def test_tagging_is_allowed_only_with_these_tags(templates):
    statements = state_machine_statements(templates["customer-managed-key"])
    expected: dict[str, dict[str, Any]] = {
        "StringEquals": {f"aws:RequestTag/{k}": v for k, v in JOB_TAGS.items()},
        "ForAllValues:StringEquals": {"aws:TagKeys": list(JOB_TAGS)},
    }
    (tagging,) = [s for s in statements if s["Action"] == "comprehend:TagResource"]
    assert tagging["Condition"] == expected
    (start,) = [s for s in statements if s["Action"] == "comprehend:StartKeyPhrasesDetectionJob"]
    for operator, condition in expected.items():
        assert start["Condition"][operator] == {**start["Condition"][operator], **condition}


def test_without_tags_nothing_may_be_tagged(templates):
    statements = state_machine_statements(templates["bundled"])
    assert not [s for s in statements if "comprehend:TagResource" in as_list(s["Action"])]


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"aws:owner": "x"}, r"job_tags keys must not start with 'aws:'; got 'aws:owner'"),
        ({"": "x"}, r"job_tags keys must be 1 to 128 characters; got ''"),
        ({"k" * 129: "x"}, r"job_tags keys must be 1 to 128 characters"),
        ({"k": "v" * 257}, r"job_tags values must be at most 256 characters; got 257 for 'k'"),
        ({f"k{i}": "v" for i in range(51)}, r"job_tags may hold at most 50 tags; got 51"),
    ],
    ids=["aws-prefix", "empty-key", "long-key", "long-value", "too-many"],
)
def test_invalid_tags_are_refused(tags, message):
    with pytest.raises(ValueError, match=message):
        KeyPhrasesPipeline(cdk.Stack(new_app(), "S"), "Pipeline", job_tags=tags)


def test_noncurrent_expiration_is_a_duration():
    stack = cdk.Stack(new_app(), "S")
    KeyPhrasesPipeline(stack, "Pipeline", noncurrent_version_expiration=Duration.days(30))
    _, bucket = named(Template.from_stack(stack), "AWS::S3::Bucket", "OutputBucket")
    assert {
        "Id": "ExpireNoncurrentVersions",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "Status": "Enabled",
    } in bucket["Properties"]["LifecycleConfiguration"]["Rules"]


def test_output_readers_may_decrypt_with_the_key_jobs_encrypt_output_with():
    stack = cdk.Stack(new_app(), "Readers")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    results = s3.Bucket.from_bucket_name(stack, "Results", "corp-results")
    pipeline = KeyPhrasesPipeline(stack, "Pipeline", output_bucket=results, encryption_key=key)
    pipeline.grant_read_output(cdk.aws_iam.User(stack, "Reader"))
    template = Template.from_stack(stack)
    (policy,) = [
        p for k, p in resources(template, "AWS::IAM::Policy").items() if k.startswith("Reader")
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "kms:Decrypt",
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
        "Effect": "Allow",
        "Resource": key_arn(template),
    } in statements


def test_an_alias_is_refused_as_a_key():
    stack = cdk.Stack(new_app(), "S")
    alias = kms.Alias.from_alias_name(stack, "Alias", "alias/documents")
    with pytest.raises(
        ValueError, match=r"encryption_key must be a key, not an alias.*'alias/documents'"
    ):
        KeyPhrasesPipeline(stack, "Pipeline", encryption_key=alias)
