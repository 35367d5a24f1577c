"""Fixtures for the bridges' own tests: an account holding one bucket, and small definitions
written as Amazon States Language (no CDK app to synthesize)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import ComprehendScript, Execution, LocalAws, local_aws
from .common import ACCOUNT

BUCKET = "emulator-documents"
TEMPLATE = {
    "Resources": {"Documents": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": BUCKET}}}
}
COMPREHEND = "arn:aws:states:::aws-sdk:comprehend:"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws(TEMPLATE, stack_name="Emulator") as local:
        yield local


def start_request(prefix: str = "in/", **fields: Any) -> dict[str, Any]:
    """A StartKeyPhrasesDetectionJob request inside Comprehend's model."""
    return {
        "InputDataConfig": {"S3Uri": f"s3://{BUCKET}/{prefix}"},
        "OutputDataConfig": {"S3Uri": f"s3://{BUCKET}/out/"},
        "DataAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/comprehend",
        "LanguageCode": "en",
        **fields,
    }


def task(resource: str, parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Task state."""
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, **fields}


def machine(*states: tuple[str, dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A definition of ``states`` in order, starting at the first; a state without ``Next``
    or ``End`` (and not a Choice, Succeed or Fail) goes on to the next, the last ends."""
    named = dict(states)
    names = list(named)
    for index, (name, state) in enumerate(states):
        if state["Type"] in ("Choice", "Succeed", "Fail") or "Next" in state or "End" in state:
            continue
        if index + 1 < len(names):
            named[name] = {**state, "Next": names[index + 1]}
        else:
            named[name] = {**state, "End": True}
    return {"StartAt": names[0], "States": named, **fields}


def run(
    aws: LocalAws,
    definition: dict[str, Any],
    execution_input: dict[str, Any] | None = None,
    script: ComprehendScript | None = None,
    **options: Any,
) -> Execution:
    """Reset the emulator, make ``definition`` executable and run it to its end."""
    aws.reset(script)
    aws.create_executable(definition)
    return aws.run(execution_input or {}, **options)
