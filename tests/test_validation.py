"""Synth-time validation: every configuration that cannot work is refused, naming the field and
the value it got."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cdk_kp import (
    KeyPhrasesBatch,
    KeyPhrasesDataAccessRole,
    KeyPhrasesPipeline,
    KeyPhrasesWorkflow,
    PollSchedule,
)

from .conftest import new_app


def pipeline(**props: Any) -> KeyPhrasesPipeline:
    return KeyPhrasesPipeline(cdk.Stack(new_app(), "S"), "Pipeline", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"language_code": "xx"}, r"language_code must be one of en, es, .*zh-TW; got 'xx'"),
        ({"language_code": "EN"}, r"language_code must be one of .*; got 'EN'"),
        (
            {"input_format": "ONE_DOC"},
            r"input_format must be one of ONE_DOC_PER_FILE, "
            r"ONE_DOC_PER_LINE; got 'ONE_DOC'",
        ),
        ({"job_name_prefix": ""}, r"job_name_prefix must not be empty; got ''"),
        (
            {"job_name_prefix": "a" * 176},
            r"job_name_prefix must be at most 175 characters.*got 176",
        ),
        ({"job_name_prefix": "kp#1"}, r"job_name_prefix may contain only .*; got 'kp#1'"),
        ({"job_name_prefix": "kp\tx"}, r"job_name_prefix may contain only .*; got 'kp\\tx'"),
        ({"input_prefix": "/docs/"}, r"input_prefix must be relative .* got '/docs/'"),
        (
            {"input_prefix": "docs/../etc/"},
            r"input_prefix must not contain a '\.\.' segment.*"
            r"got 'docs/\.\./etc/'",
        ),
        ({"input_prefix": "x" * 478}, r"input_prefix must be at most 477 characters.*got 478"),
        (
            {"input_prefix": "a\nb/"},
            r"input_prefix must not contain control characters; "
            r"got 'a\\nb/'",
        ),
        ({"output_prefix": "/out/"}, r"output_prefix must be relative .* got '/out/'"),
        ({"output_prefix": ".."}, r"output_prefix must not contain a '\.\.' segment.*got '\.\.'"),
        ({"output_prefix": "x" * 875}, r"output_prefix must be at most 874 characters.*got 875"),
        (
            {"execution_timeout": Duration.hours(24)},
            r"execution_timeout must be longer than poll_schedule.timeout \(86400 s\).*got 86400",
        ),
        (
            {"execution_timeout": Duration.days(366)},
            r"execution_timeout must be at most 31,536,000 seconds; got 366 days "
            r"\(31,622,400 seconds\)",
        ),
        (
            {"input_bucket_props": s3.BucketProps(), "input_bucket": "GIVEN"},
            r"give input_bucket or input_bucket_props, not both",
        ),
        (
            {"output_bucket_props": s3.BucketProps(), "output_bucket": "GIVEN"},
            r"give output_bucket or output_bucket_props, not both",
        ),
    ],
    ids=lambda value: str(value)[:40] if not isinstance(value, dict) else ",".join(value),
)
def test_invalid_pipeline_props_are_refused(props: dict[str, Any], message: str):
    stack = cdk.Stack(new_app(), "S")
    given = s3.Bucket.from_bucket_name(stack, "Given", "given-bucket")
    props = {k: (given if v == "GIVEN" else v) for k, v in props.items()}
    with pytest.raises(ValueError, match=message):
        KeyPhrasesPipeline(stack, "Pipeline", **props)


def test_both_bucket_conflicts_are_reported_together():
    stack = cdk.Stack(new_app(), "S")
    given = s3.Bucket.from_bucket_name(stack, "Given", "given-bucket")
    with pytest.raises(ValueError, match=r"input_bucket or input_bucket_props.*; give output_"):
        KeyPhrasesPipeline(
            stack,
            "Pipeline",
            input_bucket=given,
            input_bucket_props=s3.BucketProps(),
            output_bucket=given,
            output_bucket_props=s3.BucketProps(),
        )


@pytest.mark.parametrize(
    ("input_prefix", "output_prefix"),
    [("", "results/"), ("docs/", ""), ("docs/", "docs/out/"), ("same/", "same/")],
)
def test_shared_bucket_with_overlapping_prefixes_is_refused(input_prefix, output_prefix):
    stack = cdk.Stack(new_app(), "S")
    one = s3.Bucket.from_bucket_name(stack, "One", "one-bucket")
    again = s3.Bucket.from_bucket_name(stack, "Again", "one-bucket")
    with pytest.raises(
        ValueError,
        match=rf"must not overlap .*input_prefix='{input_prefix}', output_prefix='{output_prefix}'",
    ):
        KeyPhrasesPipeline(
            stack,
            "Pipeline",
            input_bucket=one,
            output_bucket=again,
            input_prefix=input_prefix,
            output_prefix=output_prefix,
        )


def test_shared_bucket_with_separate_prefixes_is_accepted():
    stack = cdk.Stack(new_app(), "S")
    one = s3.Bucket.from_bucket_name(stack, "One", "one-bucket")
    built = KeyPhrasesPipeline(
        stack,
        "Pipeline",
        input_bucket=one,
        output_bucket=one,
        input_prefix="in/",
        output_prefix="out/",
    )
    assert built.input_bucket is built.output_bucket


def test_poll_schedule_errors_surface_before_any_construct():
    with pytest.raises(ValueError, match=r"backoff_rate must be at least 1; got 0\.5"):
        pipeline(poll_schedule=PollSchedule(backoff_rate=0.5))


def test_workflow_validates_its_own_props():
    stack = cdk.Stack(new_app(), "S")
    bucket = s3.Bucket(stack, "B")
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    with pytest.raises(ValueError, match=r"language_code must be one of .*; got 'klingon'"):
        KeyPhrasesWorkflow(
            stack,
            "W",
            input_bucket=bucket,
            output_bucket=bucket,
            data_access_role=role,
            language_code="klingon",
        )


def test_data_access_role_validates_its_prefixes():
    stack = cdk.Stack(new_app(), "S")
    bucket = s3.Bucket(stack, "B")
    with pytest.raises(ValueError, match=r"output_prefix must be relative.*got '/x'"):
        KeyPhrasesDataAccessRole(
            stack, "R", input_bucket=bucket, output_bucket=bucket, output_prefix="/x"
        )


def test_unresolved_tokens_are_left_to_deploy_time():
    stack = cdk.Stack(new_app(), "S")
    prefix = cdk.CfnParameter(stack, "Prefix", default="docs/").value_as_string
    built = KeyPhrasesPipeline(stack, "Pipeline", input_prefix=prefix)
    assert built.input_prefix == prefix


@pytest.mark.parametrize("language", ["en", "zh-TW", "ar", "hi", "ja", "ko", "zh"])
def test_every_documented_language_is_accepted(language):
    assert pipeline(language_code=language).workflow is not None


def test_job_name_prefix_may_use_every_allowed_kind_of_character():
    assert pipeline(job_name_prefix="Schlüssel 語 2024_v.1:a/b=c+d-e%f@g").workflow is not None


# -- the configurations users tried (issue: composition into real apps) ------------------------

ACCOUNT = "111122223333"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def env_stack() -> cdk.Stack:
    """A stack whose account and Region are known at synth time."""
    return cdk.Stack(new_app(), "S", env=cdk.Environment(account=ACCOUNT, region="us-east-1"))


def workflow_of(stack: cdk.Stack) -> KeyPhrasesWorkflow:
    bucket = s3.Bucket(stack, "B")
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    return KeyPhrasesWorkflow(
        stack, "W", input_bucket=bucket, output_bucket=bucket, data_access_role=role
    )


CONFIGURATIONS: dict[str, tuple[Callable[[cdk.Stack], Any], str]] = {
    "input-prefix-none": (
        lambda stack: KeyPhrasesPipeline(stack, "P", input_prefix=None),  # type: ignore[arg-type]  # what an untyped caller passes
        "input_prefix must be a string key prefix ('' for the whole bucket); got None",
    ),
    "backoff-rate-string": (
        lambda stack: PollSchedule(backoff_rate="1.2"),  # type: ignore[arg-type]  # what an untyped caller passes
        "backoff_rate must be a number, at least 1; got '1.2'",
    ),
    "execution-timeout-fraction": (
        lambda stack: KeyPhrasesPipeline(stack, "P", execution_timeout=Duration.seconds(1.5)),
        "execution_timeout must be a whole number of seconds; got 1 second 500 millis "
        "(1.5 seconds)",
    ),
    "bucket-props-dict": (
        lambda stack: KeyPhrasesPipeline(stack, "P", input_bucket_props={"versioned": True}),  # type: ignore[arg-type]  # what an untyped caller passes
        "input_bucket_props must be an aws_s3.BucketProps (for a dict d, pass "
        "aws_s3.BucketProps(**d)); got {'versioned': True}",
    ),
    "expiration-36-hours": (
        lambda stack: KeyPhrasesPipeline(
            stack, "P", noncurrent_version_expiration=Duration.hours(36)
        ),
        "noncurrent_version_expiration must be a whole number of days; got 1 day 12 hours "
        "(1.5 days)",
    ),
    "subnet-type-missing": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            vpc=ec2.Vpc(stack, "Vpc", max_azs=2),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ),
        "vpc_subnets must select subnets the VPC has; got "
        "SubnetSelection(subnet_type=PRIVATE_ISOLATED): There are no 'Isolated' subnet groups "
        "in this VPC.",
    ),
    "batch-of-a-workflow": (
        lambda stack: KeyPhrasesBatch(stack, "Batch", pipeline=workflow_of(stack)),  # type: ignore[arg-type]  # what an untyped caller passes
        "pipeline must be a KeyPhrasesPipeline (the batch runs its state machine, reads its "
        "buckets and prefixes); got a KeyPhrasesWorkflow, which has no state_machine, "
        "input_bucket",
    ),
    "alias-arn-as-key": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            encryption_key=kms.Key.from_key_arn(
                stack, "K", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/documents"
            ),
        ),
        "encryption_key must be a key ARN, not an alias ARN (IAM grants on a KMS key match its "
        f"key ARN, never an alias); got arn:aws:kms:us-east-1:{ACCOUNT}:alias/documents",
    ),
    "asymmetric-key": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            encryption_key=kms.Key(
                stack, "K", key_spec=kms.KeySpec.RSA_2048, key_usage=kms.KeyUsage.ENCRYPT_DECRYPT
            ),
        ),
        "encryption_key must be a symmetric encryption key (SYMMETRIC_DEFAULT), which is all "
        "Comprehend and SSE-KMS use; got S/K with key_spec RSA_2048",
    ),
    "key-in-another-region": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            encryption_key=kms.Key.from_key_arn(
                stack, "K", f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{KEY_ID}"
            ),
        ),
        "encryption_key must be in the stack's Region us-east-1 (Comprehend reads and writes "
        f"S3 and uses keys in its own Region); got key arn:aws:kms:eu-west-1:{ACCOUNT}:key/"
        f"{KEY_ID} in eu-west-1",
    ),
    "bucket-in-another-region": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            input_bucket=s3.Bucket.from_bucket_attributes(
                stack, "Docs", bucket_name="corp-docs", region="eu-west-1"
            ),
        ),
        "input_bucket must be in the stack's Region us-east-1 (Comprehend reads and writes S3 "
        "and uses keys in its own Region); got bucket corp-docs in eu-west-1",
    ),
    "role-of-another-account": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            data_access_role=iam.Role.from_role_arn(
                stack, "Role", "arn:aws:iam::444455556666:role/comprehend-access"
            ),
        ),
        f"data_access_role must be a role of the stack's account {ACCOUNT} (IAM does not pass a "
        "role to a service in another account); got arn:aws:iam::444455556666:role/"
        "comprehend-access",
    ),
    "expiration-zero-days": (
        lambda stack: KeyPhrasesPipeline(
            stack, "P", noncurrent_version_expiration=Duration.days(0)
        ),
        "noncurrent_version_expiration must be at least 1 day; got 0 days",
    ),
    "alias-construct-as-key": (
        lambda stack: KeyPhrasesPipeline(
            stack,
            "P",
            encryption_key=kms.Alias(
                stack, "Alias", alias_name="alias/documents", target_key=kms.Key(stack, "K")
            ),
        ),
        "encryption_key must be a key, not an alias (IAM grants on a KMS key match its key ARN, "
        "never an alias); got the alias S/Alias (an aws_kms.Alias)",
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIGURATIONS))
def test_configurations_that_cannot_work_are_refused_naming_field_and_value(case):
    build, message = CONFIGURATIONS[case]
    with pytest.raises(ValueError, match="must") as raised:
        build(env_stack())
    assert message in str(raised.value)
    assert "${Token" not in str(raised.value)


def test_every_problem_is_reported_at_once():
    """All problems of a pipeline's props come in one error, before anything is built."""
    stack = env_stack()
    with pytest.raises(ValueError, match="must be") as raised:
        KeyPhrasesPipeline(
            stack,
            "P",
            input_prefix=None,  # type: ignore[arg-type]  # what an untyped caller passes
            language_code="xx",
            noncurrent_version_expiration=Duration.days(0),
        )
    message = str(raised.value)
    assert "input_prefix must be a string" in message
    assert "language_code must be one of" in message
    assert "noncurrent_version_expiration must be at least 1 day" in message
    assert stack.node.try_find_child("P") is not None  # the scope exists, empty
    assert stack.node.find_child("P").node.children == []


def test_values_only_known_at_deploy_time_are_accepted():
    """A key ARN from a parameter, a role ARN from an import, a stack without account or
    Region: nothing provably wrong, so nothing refused."""
    stack = cdk.Stack(new_app(), "S")
    key_arn = cdk.CfnParameter(stack, "KeyArn").value_as_string
    role_arn = cdk.Fn.import_value("SecurityStack:ComprehendRoleArn")
    pipeline = KeyPhrasesPipeline(
        stack,
        "P",
        encryption_key=kms.Key.from_key_arn(stack, "K", key_arn),
        data_access_role=iam.Role.from_role_arn(stack, "R", role_arn),
    )
    assert pipeline.encryption_key is not None
    agnostic = cdk.Stack(new_app(), "Agnostic")
    KeyPhrasesPipeline(
        agnostic,
        "P",
        encryption_key=kms.Key.from_key_arn(
            agnostic, "K", f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{KEY_ID}"
        ),
        data_access_role=iam.Role.from_role_arn(
            agnostic, "R", "arn:aws:iam::444455556666:role/comprehend-access"
        ),
    )
