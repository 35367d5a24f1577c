"""Shared fixtures: each template is synthesized once per test session and reused."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesPipeline, KeyPhrasesStack

from . import APP_TAKES_VALIDATION

# moto and boto3 need credentials and a region; these are fake and never leave the process.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)

ROOT = Path(__file__).resolve().parent.parent
#: The context `cdk synth` uses (feature flags of a new app), so tests see what users deploy.
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]

BYO_INPUT_BUCKET = "corp-documents"
BYO_OUTPUT_BUCKET = "corp-key-phrases"
BYO_ROLE_ARN = "arn:aws:iam::111122223333:role/corp-comprehend-access"


def new_app(
    *,
    validation: bool = False,
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
) -> cdk.App:
    """An app with cdk.json's context. CDK's built-in CloudFormation validation (about 2.4 s a
    synth) is on only where a test asks for it; the bundled stack's fixture keeps it on. (Before
    aws-cdk-lib 2.275.0 it is off for every app: see APP_TAKES_VALIDATION.)"""
    options: dict[str, Any] = {"context": CDK_CONTEXT if context is None else context}
    if outdir is not None:
        options["outdir"] = outdir
    if APP_TAKES_VALIDATION:
        options["builtin_cloud_formation_validation"] = validation
    return cdk.App(**options)


class ByoStack(cdk.Stack):
    """A user's stack: their own buckets and role, prefixes inside them."""

    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.input_bucket = s3.Bucket.from_bucket_name(self, "Documents", BYO_INPUT_BUCKET)
        self.output_bucket = s3.Bucket.from_bucket_name(self, "Results", BYO_OUTPUT_BUCKET)
        self.role = iam.Role.from_role_arn(self, "AccessRole", BYO_ROLE_ARN)
        self.pipeline = KeyPhrasesPipeline(
            self,
            "Pipeline",
            input_bucket=self.input_bucket,
            input_prefix="incoming/",
            output_bucket=self.output_bucket,
            output_prefix="key-phrases/",
            data_access_role=self.role,
            language_code="de",
            input_format="ONE_DOC_PER_FILE",
        )


@pytest.fixture(scope="session")
def bundled_stack() -> KeyPhrasesStack:
    """The bundled app's stack, synthesized with CDK's built-in validation on (as `cdk synth`)."""
    app = new_app(validation=True)
    stack = KeyPhrasesStack(app, "KeyPhrasesStack")
    app.synth()
    return stack


@pytest.fixture(scope="session")
def bundled_template(bundled_stack: KeyPhrasesStack) -> Template:
    return Template.from_stack(bundled_stack)


@pytest.fixture(scope="session")
def byo_stack() -> ByoStack:
    return ByoStack(new_app(), "ByoStack")


@pytest.fixture(scope="session")
def byo_template(byo_stack: ByoStack) -> Template:
    return Template.from_stack(byo_stack)


def resources_of(template: Template, resource_type: str) -> Mapping[str, Mapping[str, Any]]:
    found: Mapping[str, Mapping[str, Any]] = template.find_resources(resource_type)
    return found


def only_resource(template: Template, resource_type: str) -> tuple[str, Mapping[str, Any]]:
    found = resources_of(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def pipeline_resource(template: Template, resource_type: str) -> tuple[str, Mapping[str, Any]]:
    """The one resource of ``resource_type`` that the construct with ID ``Pipeline`` created
    (the bundled stack also holds a batch)."""
    found = {
        k: v for k, v in resources_of(template, resource_type).items() if k.startswith("Pipeline")
    }
    assert len(found) == 1, f"expected one pipeline {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


@pytest.fixture(scope="session")
def variant_templates() -> dict[str, Template]:
    """Every stack variant of tests/variants.py, synthesized once per session."""
    from .variants import BUILDERS

    return {name: Template.from_stack(build()) for name, build in BUILDERS.items()}
