"""Security properties of jobs in a VPC and of job tags; keys for the readers of the output; the
props that guard them."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesPipeline
from cdk_kp.infra.network import S3_UNREACHABLE_WARNING

from .conftest import new_app
from .templates import (
    as_list,
    data_access_statements,
    key_arn,
    named,
    resources,
    start_state,
    state_machine_statements,
)
from .variants import JOB_TAGS, in_vpc


@pytest.fixture(scope="module")
def templates(variant_templates: dict[str, Template]) -> dict[str, Template]:
    return variant_templates


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
    """Its routes are unknown at synth time: no warning (docs/constructs-and-props.md says what
    it needs)."""
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
