"""The data-access role: its trust, its permissions, and its ARN in every partition."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from cdk_kp import KeyPhrasesDataAccessRole
from cdk_kp.infra.data_access_role import grant_data_access

from .conftest import BYO_ROLE_ARN, new_app, only_resource
from .emulator import local_aws

#: DataAccessRoleArn's pattern in StartKeyPhrasesDetectionJob (botocore's comprehend model).
ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")


def role_stack() -> tuple[cdk.Stack, KeyPhrasesDataAccessRole]:
    stack = cdk.Stack(new_app(), "RoleStack")
    role = KeyPhrasesDataAccessRole(
        stack,
        "DataAccess",
        input_bucket=s3.Bucket.from_bucket_name(stack, "In", "docs-bucket"),
        input_prefix="incoming/",
        output_bucket=s3.Bucket.from_bucket_name(stack, "Out", "results-bucket"),
        output_prefix="phrases/",
    )
    cdk.CfnOutput(stack, "RoleArn", value=role.role_arn)
    return stack, role


@pytest.fixture(scope="module")
def role_template() -> Template:
    return Template.from_stack(role_stack()[0])


def policy_statements(template: Template) -> list[dict[str, Any]]:
    _, policy = only_resource(template, "AWS::IAM::Policy")
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_trust_is_comprehend_for_this_account_and_key_phrase_jobs_only(role_template):
    _, role = only_resource(role_template, "AWS::IAM::Role")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "comprehend.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLikeIfExists": {
                    "aws:SourceArn": {
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
                    }
                },
            },
        }
    ]


ACCOUNT = "123456789012"
KEY_PHRASES_JOB = f"arn:aws:comprehend:us-east-1:{ACCOUNT}:key-phrases-detection-job/0b1c"


def condition_holds(operator: str, key: str, expected: str, context: dict[str, str]) -> bool:
    """IAM's evaluation of one condition (IAM User Guide, "IAM JSON policy elements: Condition
    operators"): a key the request does not carry makes a positive operator false, and an
    ``...IfExists`` operator true; ArnLike compares the six ARN fields with ``*`` wildcards."""
    base = operator.removesuffix("IfExists")
    if key not in context:
        return operator.endswith("IfExists")
    actual = context[key]
    if base == "StringEquals":
        return actual == expected
    if base in ("ArnLike", "ArnEquals"):
        wanted, got = expected.split(":", 5), actual.split(":", 5)
        if len(got) != 6:
            return False
        return all(fnmatch.fnmatchcase(g, w) for g, w in zip(got, wanted, strict=True))
    raise AssertionError(f"no evaluator for {operator}")


def trust_allows(template: Template, context: dict[str, str]) -> bool:
    _, role = only_resource(template, "AWS::IAM::Role")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT}

    def value(node: Any) -> str:
        if isinstance(node, str):
            return node
        if "Ref" in node:
            return pseudo[node["Ref"]]
        return "".join(value(part) for part in node["Fn::Join"][1])

    return all(
        condition_holds(operator, key, value(expected), context)
        for operator, keys in statement["Condition"].items()
        for key, expected in keys.items()
    )


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        # What Comprehend's confused-deputy guide documents for jobs: the account alone.
        ({"aws:SourceAccount": ACCOUNT}, True),
        # What its asynchronous-operations example documents: the job ARN too.
        ({"aws:SourceAccount": ACCOUNT, "aws:SourceArn": KEY_PHRASES_JOB}, True),
        ({"aws:SourceAccount": "999999999999"}, False),
        ({}, False),
        (
            {
                "aws:SourceAccount": ACCOUNT,
                "aws:SourceArn": KEY_PHRASES_JOB.replace("key-phrases", "entities"),
            },
            False,
        ),
        (
            {
                "aws:SourceAccount": ACCOUNT,
                "aws:SourceArn": KEY_PHRASES_JOB.replace("us-east-1", "eu-west-1"),
            },
            False,
        ),
    ],
    ids=[
        "account-only",
        "account-and-job",
        "other-account",
        "no-source",
        "other-job-type",
        "other-region",
    ],
)
def test_trust_admits_comprehend_whether_or_not_it_sends_the_job_arn(
    role_template, context, allowed
):
    """The trust policy cannot lock Comprehend out: it holds with the account alone, as AWS
    documents for jobs, and narrows to key phrase jobs here when the job ARN is sent."""
    assert trust_allows(role_template, context) is allowed


def test_permissions_are_exactly_read_input_prefix_and_write_output_prefix(role_template):
    partition = {"Ref": "AWS::Partition"}
    assert policy_statements(role_template) == [
        {
            "Sid": "ReadInputObjects",
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", ["arn:", partition, ":s3:::docs-bucket/incoming/*"]]},
        },
        {
            "Sid": "ListInputPrefix",
            "Action": "s3:ListBucket",
            "Effect": "Allow",
            "Condition": {"StringLike": {"s3:prefix": ["incoming/*"]}},
            "Resource": {"Fn::Join": ["", ["arn:", partition, ":s3:::docs-bucket"]]},
        },
        {
            "Sid": "WriteOutputObjects",
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", ["arn:", partition, ":s3:::results-bucket/phrases/*"]]},
        },
    ]


def test_no_statement_allows_deletes_or_wildcard_actions(role_template):
    actions = [s["Action"] for s in policy_statements(role_template)]
    assert actions == ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]


def test_no_managed_policies_or_inline_policies_beyond_the_default(role_template):
    _, role = only_resource(role_template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"]
    assert "Policies" not in role["Properties"]


def test_grant_data_access_gives_a_users_role_the_same_statements():
    stack = cdk.Stack(new_app(), "S")
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    grant_data_access(
        role,
        input_bucket=s3.Bucket.from_bucket_name(stack, "In", "docs-bucket"),
        input_prefix="incoming/",
        output_bucket=s3.Bucket.from_bucket_name(stack, "Out", "results-bucket"),
        output_prefix="phrases/",
    )
    expected = policy_statements(Template.from_stack(role_stack()[0]))
    assert policy_statements(Template.from_stack(stack)) == expected


def test_an_immutable_imported_role_is_left_alone():
    stack = cdk.Stack(new_app(), "S")
    role = iam.Role.from_role_arn(stack, "Theirs", BYO_ROLE_ARN, mutable=False)
    grant_data_access(
        role,
        input_bucket=s3.Bucket.from_bucket_name(stack, "In", "docs-bucket"),
        input_prefix="",
        output_bucket=s3.Bucket.from_bucket_name(stack, "Out", "results-bucket"),
        output_prefix="",
    )
    Template.from_stack(stack).resource_count_is("AWS::IAM::Policy", 0)


def test_empty_prefixes_mean_the_whole_bucket():
    stack = cdk.Stack(new_app(), "S")
    KeyPhrasesDataAccessRole(
        stack,
        "R",
        input_bucket=s3.Bucket.from_bucket_name(stack, "In", "docs-bucket"),
        output_bucket=s3.Bucket.from_bucket_name(stack, "Out", "results-bucket"),
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Condition": {"StringLike": {"s3:prefix": ["*"]}}})]
                )
            }
        },
    )


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_role_arn_matches_the_apis_pattern_in_every_partition(region, partition):
    """Deploy the role into moto in a Region of each partition and read the ARN it gets."""
    template = Template.from_stack(role_stack()[0]).to_json()
    with local_aws(json.loads(json.dumps(template)), region=region) as aws:
        arn = aws.outputs["RoleArn"]
    assert arn.startswith(f"arn:{partition}:iam::")
    assert ROLE_ARN_PATTERN.match(arn), arn
    assert 20 <= len(arn) <= 2048
