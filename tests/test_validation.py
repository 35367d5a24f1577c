"""Synth-time validation: every configuration that cannot work is refused, naming the field and
the value it got."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from cdk_kp import KeyPhrasesDataAccessRole, KeyPhrasesPipeline, KeyPhrasesWorkflow, PollSchedule

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
            r"execution_timeout must be at most 31536000 s \(one year\); got 31622400",
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
