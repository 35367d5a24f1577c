"""Every IAM statement of every stack variant, checked against IAM's own database of actions,
resource types and condition keys (tests/iam_definitions.py): actions that exist, resources
they can act on, condition keys they support."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline

from . import iam_definitions
from .conftest import new_app
from .definitions import _sample, resource_types
from .iam_definitions import Sample, problems
from .variants import BUILDERS


def grants(*, with_key: bool) -> cdk.Stack:
    """A client role given every grant the pipeline and the batch offer, on a pipeline with a
    customer-managed key and prefixes, or with neither."""
    stack = cdk.Stack(new_app(), "GrantsCmk" if with_key else "Grants")
    if with_key:
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        pipeline = KeyPhrasesPipeline(
            stack,
            "Pipeline",
            encryption_key=key,
            input_prefix="incoming/",
            output_prefix="key-phrases/",
        )
    else:
        pipeline = KeyPhrasesPipeline(stack, "Pipeline")
    batch = KeyPhrasesBatch(stack, "Batch", pipeline=pipeline)
    client = iam.Role(stack, "Client", assumed_by=iam.AccountRootPrincipal())
    pipeline.grant_read_output(client)
    pipeline.grant_write_input(client)
    pipeline.grant_start_execution(client)
    batch.grant_start_execution(client)
    return stack


STACKS: dict[str, Callable[[], cdk.Stack]] = {
    **BUILDERS,
    "grants-with-key": lambda: grants(with_key=True),
    "grants-without-key": lambda: grants(with_key=False),
}


@pytest.fixture(scope="module")
def templates() -> dict[str, Mapping[str, Any]]:
    """Every stack's template, synthesized once for the module."""
    return {name: Template.from_stack(build()).to_json() for name, build in STACKS.items()}


def policy_documents(template: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(logical ID, where in the resource, document) for every policy document of the kinds
    that carry IAM statements."""
    for logical_id, resource in template["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"):
            yield logical_id, "PolicyDocument", properties["PolicyDocument"]
        elif kind == "AWS::IAM::Role":
            yield logical_id, "AssumeRolePolicyDocument", properties["AssumeRolePolicyDocument"]
            for inline in properties.get("Policies", []):
                yield logical_id, f"Policies[{inline['PolicyName']}]", inline["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield logical_id, "KeyPolicy", properties["KeyPolicy"]


def sampler(template: Mapping[str, Any]) -> Sample:
    """Sample values for the template's references (tests/definitions.py's, shaped like the
    real ones: a bucket's ARN, a key's ARN, a state machine's ARN)."""
    types = resource_types(template)
    return lambda node: _sample(node, types)


def statement_problems(stack: str, template: Mapping[str, Any]) -> list[str]:
    sample = sampler(template)
    found = []
    for logical_id, where, document in policy_documents(template):
        for index, statement in enumerate(document["Statement"]):
            sid = statement.get("Sid", f"#{index}")
            found += [
                f"{stack} {logical_id} {where} {sid}: {problem}"
                for problem in problems(statement, sample=sample)
            ]
    return found


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_every_statement_is_valid_by_iams_database(templates, stack):
    found = statement_problems(stack, templates[stack])
    assert not found, "\n".join(found)


def test_statements_of_every_kind_are_checked(templates):
    """The collection is not vacuous: every kind of document is found somewhere."""
    kinds = {
        (template["Resources"][logical_id]["Type"], where.partition("[")[0])
        for template in templates.values()
        for logical_id, where, document in policy_documents(template)
        if document["Statement"]
    }
    assert kinds >= {
        ("AWS::IAM::Policy", "PolicyDocument"),
        ("AWS::IAM::Role", "AssumeRolePolicyDocument"),
        ("AWS::KMS::Key", "KeyPolicy"),
        ("AWS::S3::BucketPolicy", "PolicyDocument"),
    }, kinds


# -- the checker can fail --------------------------------------------------------------------

BUCKET = "arn:aws:s3:::docs"
OBJECTS = "arn:aws:s3:::docs/*"
JOBS = "arn:aws:comprehend:us-east-1:123456789012:key-phrases-detection-job/*"
ROLE = "arn:aws:iam::123456789012:role/comprehend-access"
ROOT = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::123456789012:root"]]}


def literal(node: Mapping[str, Any]) -> str:
    """Statements below hold literal ARNs but for the pseudo parameters."""
    return _sample(node, {})


def allow(action: Any, resource: Any = "*", **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


REPORTED = {
    "describe-with-logs-context": (
        allow(
            "kms:Describe*",
            ArnEquals={
                "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:1:log-group:x"
            },
        ),
        ["kms:DescribeKey", "kms:EncryptionContext:aws:logs:arn"],
    ),
    "list-on-bucket-and-objects": (
        allow("s3:List*", [BUCKET, OBJECTS]),
        ["s3:ListAllMyBuckets", "s3:ListJobs"],
    ),
    "get-object-on-a-bucket": (allow("s3:GetObject", BUCKET), ["s3:GetObject (acts on"]),
    "list-bucket-on-objects": (allow("s3:ListBucket", OBJECTS), ["s3:ListBucket (acts on"]),
    "misspelled-action": (
        allow("comprehend:StartKeyPhraseDetectionJob", JOBS),
        ["unknown action 'comprehend:StartKeyPhraseDetectionJob'"],
    ),
    "unknown-service": (allow("comprehendd:StartKeyPhrasesDetectionJob"), ["unknown action"]),
    "request-tag-where-not-listed": (
        allow("s3:GetObject", OBJECTS, StringEquals={"aws:RequestTag/cost-center": "nlp"}),
        ["aws:RequestTag/cost-center", "s3:GetObject"],
    ),
    "tag-keys-where-not-listed": (
        allow("s3:GetObject", OBJECTS, **{"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}),
        ["aws:TagKeys", "s3:GetObject"],
    ),
    "not-action": (
        {"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"},
        ["NotAction"],
    ),
    "unknown-action-in-a-deny": (
        {"Effect": "Deny", "Action": "s3:GetObjects", "Resource": "*"},
        ["unknown action 's3:GetObjects'"],
    ),
    "object-arn-rendered-from-a-join": (
        allow(
            "s3:ListBucket",
            {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::docs/out/*"]]},
        ),
        ["s3:ListBucket (acts on", "arn:aws:s3:::docs/out/*"],
    ),
}


@pytest.mark.parametrize(("statement", "expected"), list(REPORTED.values()), ids=list(REPORTED))
def test_the_checker_reports(statement, expected):
    found = problems(statement, sample=literal)
    assert found, "nothing reported"
    text = "\n".join(found)
    for fragment in expected:
        assert fragment in text, text


def test_only_the_list_actions_that_fit_neither_resource_are_reported():
    (found,) = problems(allow("s3:List*", [BUCKET, OBJECTS]), sample=literal)
    reported = {
        a.full_name for a in iam_definitions.expand("s3:List*") if f"{a.full_name} (" in found
    }
    assert "s3:ListAllMyBuckets" in reported
    # A bucket type and an object type: these fit.
    assert not reported & {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListMultipartUploadParts"}


ACCEPTED = {
    "start-in-subnets": allow(
        "comprehend:StartKeyPhrasesDetectionJob",
        JOBS,
        StringEquals={"comprehend:VpcSubnets": ["subnet-1"]},
    ),
    "start-with-request-tags": allow(
        "comprehend:StartKeyPhrasesDetectionJob",
        JOBS,
        StringEquals={"aws:RequestTag/cost-center": "nlp-42"},
        **{"ForAllValues:StringEquals": {"aws:TagKeys": ["cost-center"]}},
    ),
    "pass-role-to-comprehend": allow(
        "iam:PassRole", ROLE, StringEquals={"iam:PassedToService": "comprehend.amazonaws.com"}
    ),
    "assume-role-from-this-account": {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "comprehend.amazonaws.com"},
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    },
    "get-object-under-a-prefix": allow("s3:GetObject", "arn:aws:s3:::docs/in/*"),
    "decrypt-with-logs-context": allow(
        "kms:Decrypt",
        "*",
        ArnEquals={"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:1:log-group:x"},
    ),
    "global-key-on-any-action": allow(
        "s3:GetObject", OBJECTS, Bool={"aws:SecureTransport": "true"}
    ),
    "enforce-ssl-deny": {
        "Effect": "Deny",
        "Action": "s3:*",
        "Principal": {"AWS": "*"},
        "Resource": [BUCKET, OBJECTS],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    },
    "key-administration": {
        "Effect": "Allow",
        "Action": "kms:*",
        "Principal": {"AWS": ROOT},
        "Resource": "*",
    },
    "execution-of-a-state-machine": allow(
        "states:DescribeExecution",
        "arn:aws:states:us-east-1:123456789012:execution:KeyPhrases:*",
    ),
    "map-run-child-executions": allow(
        "states:RedriveExecution",
        "arn:aws:states:us-east-1:123456789012:execution:Batch/Shards:*",
    ),
}


@pytest.mark.parametrize("statement", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_the_checker_accepts(statement):
    assert problems(statement, sample=literal) == []


def test_kms_star_for_anyone_but_the_root_is_narrowed():
    statement = {**ACCEPTED["key-administration"], "Principal": {"AWS": ROLE}}
    statement["Condition"] = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert any("kms:ViaService" in p for p in problems(statement, sample=literal))


def test_the_database_is_read_offline(monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    iam_definitions.database.cache_clear()
    try:
        assert (
            "StartKeyPhrasesDetectionJob" in iam_definitions.database()["comprehend"]["privileges"]
        )
    finally:
        iam_definitions.database.cache_clear()


def test_resources_are_rendered_from_the_functions_cdk_writes():
    machine = {"Ref": "Machine"}
    name = {"Fn::Select": [6, {"Fn::Split": [":", machine]}]}
    sample = sampler({"Resources": {"Machine": {"Type": "AWS::StepFunctions::StateMachine"}}})
    executions = {
        "Fn::Join": ["", [{"Fn::Sub": "arn:${AWS::Partition}:states:::execution:"}, name, ":*"]]
    }
    rendered = iam_definitions.render(executions, sample)
    assert rendered == (f"arn:aws:states:::execution:{sample(machine).rpartition(':')[2]}:*"), (
        rendered
    )
    assert iam_definitions.render({"Fn::Sub": "a-${!Literal}"}, sample) == "a-${Literal}"
