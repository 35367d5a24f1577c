"""The constructs composed as platform teams compose them: resources from other stacks, strong
and weak cross-stack references (with and without the cdk.json feature flags), nested stacks,
Stages, imported resources, the China and GovCloud partitions, and the fragment in a JSONata
state machine of one's own. Each app is synthesized for real with the five cdk-nag packs as
validation plugins (the acknowledgements must match the findings as the final templates render
them), and every template it writes is linted with cfn-lint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from cfnlint.api import ManualArgs, lint
from constructs import Construct

from cdk_kp import (
    KeyPhrasesBatch,
    KeyPhrasesDataAccessRole,
    KeyPhrasesPipeline,
    KeyPhrasesWorkflow,
)

from .conftest import CDK_CONTEXT, new_app
from .definitions import resolve, resource_types
from .nag import synth


def secure_bucket(scope: Construct, construct_id: str, key: kms.IKey) -> s3.Bucket:
    """A user's bucket: SSE-KMS, SSL only, versioned, no public access. (Its own findings, such
    as access logging, are the user's and are not looked at here.)"""
    return s3.Bucket(
        scope,
        construct_id,
        encryption_key=key,
        enforce_ssl=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    )


class DataStack(cdk.Stack):
    """The team's data: a key and two buckets."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "Key", enable_key_rotation=True)
        self.documents = secure_bucket(self, "Documents", self.key)
        self.results = secure_bucket(self, "Results", self.key)


class NetworkStack(cdk.Stack):
    """A VPC whose isolated subnets reach S3 through a gateway endpoint."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="Jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)


class AccessStack(cdk.Stack):
    """The role Comprehend assumes, owned by a security team."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "ComprehendAccess",
            assumed_by=iam.ServicePrincipal(
                "comprehend.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            ),
        )


def across_stacks(scope: Construct) -> list[str]:
    """Data, network and role in three stacks, the pipeline in a fourth, its batch in a fifth.
    The library's construct paths."""
    data = DataStack(scope, "DataStack")
    network = NetworkStack(scope, "NetworkStack")
    access = AccessStack(scope, "AccessStack")
    pipelines = cdk.Stack(scope, "PipelineStack")
    pipeline = KeyPhrasesPipeline(
        pipelines,
        "Pipeline",
        input_bucket=data.documents,
        input_prefix="incoming/",
        output_bucket=data.results,
        output_prefix="phrases/",
        encryption_key=data.key,
        vpc=network.vpc,
        data_access_role=access.role,
    )
    batches = cdk.Stack(scope, "BatchStack")
    KeyPhrasesBatch(batches, "Batch", pipeline=pipeline)
    return [pipeline.node.path, f"{batches.node.path}/Batch"]


def in_a_nested_stack(scope: Construct) -> list[str]:
    """The buckets and key in the parent stack, the pipeline and its batch in a nested stack
    (the parent's values reach it as parameters)."""
    parent = DataStack(scope, "Parent")
    nested = cdk.NestedStack(parent, "KeyPhrases")
    pipeline = KeyPhrasesPipeline(
        nested,
        "Pipeline",
        input_bucket=parent.documents,
        output_bucket=parent.results,
        encryption_key=parent.key,
    )
    KeyPhrasesBatch(nested, "Batch", pipeline=pipeline)
    return [nested.node.path]


def in_a_stage(scope: Construct) -> list[str]:
    """The five-stack composition inside a Stage (as a CDK Pipelines deployment has it)."""
    return across_stacks(cdk.Stage(scope, "Prod"))


def imported(scope: Construct) -> list[str]:
    """Everything the pipeline uses imported by name or ARN: buckets (SSE-KMS), a key, a role,
    a VPC and its security group."""
    stack = cdk.Stack(scope, "Imports")
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        availability_zones=["us-east-1a", "us-east-1b"],
        isolated_subnet_ids=["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    )
    pipeline = KeyPhrasesPipeline(
        stack,
        "Pipeline",
        input_bucket=s3.Bucket.from_bucket_attributes(
            stack, "Documents", bucket_name="corp-documents", encryption_key=key
        ),
        output_bucket=s3.Bucket.from_bucket_attributes(
            stack, "Results", bucket_name="corp-results", encryption_key=key
        ),
        encryption_key=key,
        data_access_role=iam.Role.from_role_arn(
            stack, "Access", "arn:aws:iam::111122223333:role/comprehend-access"
        ),
        vpc=vpc,
        security_groups=[
            ec2.SecurityGroup.from_security_group_id(stack, "Group", "sg-0123456789abcdef0")
        ],
    )
    KeyPhrasesBatch(stack, "Batch", pipeline=pipeline)
    return [pipeline.node.path, f"{stack.node.path}/Batch"]


def in_a_region(region: str) -> Callable[[Construct], list[str]]:
    """A pipeline with a customer-managed key and a batch, in a stack of ``region``'s
    partition."""

    def build(scope: Construct) -> list[str]:
        stack = cdk.Stack(scope, "Regional", env=cdk.Environment(account=ACCOUNT, region=region))
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        pipeline = KeyPhrasesPipeline(stack, "Pipeline", encryption_key=key, input_prefix="in/")
        KeyPhrasesBatch(stack, "Batch", pipeline=pipeline)
        return [pipeline.node.path, f"{stack.node.path}/Batch"]

    return build


def in_a_jsonata_state_machine(scope: Construct) -> list[str]:
    """The fragment, in JSONata, in a JSONata state machine of one's own, with the library's
    data-access role."""
    stack = cdk.Stack(scope, "Jsonata")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    documents = secure_bucket(stack, "Documents", key)
    results = secure_bucket(stack, "Results", key)
    role = KeyPhrasesDataAccessRole(
        stack, "Access", input_bucket=documents, output_bucket=results, encryption_key=key
    )
    fragment = KeyPhrasesWorkflow(
        stack,
        "KeyPhrases",
        input_bucket=documents,
        output_bucket=results,
        data_access_role=role,
        output_encryption_key=key,
        query_language=sfn.QueryLanguage.JSONATA,
    )
    sfn.StateMachine(
        stack,
        "Machine",
        query_language=sfn.QueryLanguage.JSONATA,
        definition_body=sfn.DefinitionBody.from_chainable(fragment),
    )
    return [role.node.path, fragment.node.path]


ACCOUNT = "111122223333"
#: The Region each composition's templates are linted for (us-east-1 where not named).
REGIONS = {"china": "cn-north-1", "govcloud": "us-gov-west-1"}

COMPOSITIONS: dict[str, tuple[Callable[[Construct], list[str]], dict[str, Any]]] = {
    "across-stacks-weak": (across_stacks, CDK_CONTEXT),
    "across-stacks-strong": (across_stacks, {}),
    "nested-stack": (in_a_nested_stack, CDK_CONTEXT),
    "nested-stack-without-flags": (in_a_nested_stack, {}),
    "stage": (in_a_stage, CDK_CONTEXT),
    "imported": (imported, CDK_CONTEXT),
    "china": (in_a_region("cn-north-1"), CDK_CONTEXT),
    "govcloud": (in_a_region("us-gov-west-1"), CDK_CONTEXT),
    "jsonata-state-machine": (in_a_jsonata_state_machine, CDK_CONTEXT),
}


@pytest.fixture(scope="module", params=sorted(COMPOSITIONS))
def composed(request: pytest.FixtureRequest) -> tuple[str, list[str], list[tuple[str, str]], Path]:
    build, context = COMPOSITIONS[request.param]
    app = new_app(context=context)
    library = build(app)
    findings, directory = synth(app)
    return request.param, library, findings, directory


def test_no_unacknowledged_finding_on_the_librarys_constructs(composed):
    name, library, findings, _ = composed
    ours = [
        (rule, path) for rule, path in findings if any(path.startswith(f"{p}/") for p in library)
    ]
    assert ours == [], name


def test_the_composition_is_what_it_says(composed):
    """Each composition shows in its templates: references between stacks, the partition, the
    query language."""
    name, _, _, directory = composed
    text = "".join(p.read_text() for p in directory.rglob("*.template.json"))
    expected = {
        "across-stacks-weak": "Fn::GetStackOutput",
        "across-stacks-strong": "Fn::ImportValue",
        "stage": "Fn::GetStackOutput",
        "nested-stack": "AWS::CloudFormation::Stack",
        "nested-stack-without-flags": "AWS::CloudFormation::Stack",
        "imported": "corp-documents",
        "china": "arn:aws-cn:",
        "govcloud": "arn:aws-us-gov:",
        "jsonata-state-machine": '\\"QueryLanguage\\":\\"JSONata\\"',
    }[name]
    assert expected in text


#: cfn-lint checks ignored, each with its reason.
IGNORED_CFN_LINT = {
    "W3005": "redundant DependsOn that CDK adds to every state machine",
    # A nested stack's parameter that only the state machine definition uses looks unused once
    # the definition is inlined with sample values in place of its references.
    "W2001": "parameters used only in a definition, which inlining replaces with samples",
}


def inlined(template: dict[str, Any]) -> dict[str, Any]:
    types = resource_types(template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            props = resource["Properties"]
            props["Definition"] = resolve(props.pop("DefinitionString"), types)
    return template


def test_cfn_lint_finds_nothing_in_any_template(composed):
    name, _, _, directory = composed
    problems = []
    for path in sorted(directory.rglob("*.template.json")):
        template = inlined(json.loads(path.read_text()))
        matches = lint(
            json.dumps(template),
            config=ManualArgs(
                ignore_checks=sorted(IGNORED_CFN_LINT), regions=[REGIONS.get(name, "us-east-1")]
            ),
        )
        problems += [f"{path.name}: {m}" for m in matches if not commercial_only_pattern(m)]
    assert problems == [], name


def commercial_only_pattern(match: Any) -> bool:
    """cfn-lint's Step Functions schema (data/schemas/other/step_functions/statemachine.json)
    matches a Task's ``Resource`` against ``^arn:aws:…``, which no ARN of another partition can
    meet: Step Functions' own integrations there are ``arn:aws-cn:states:::…`` and
    ``arn:aws-us-gov:states:::…`` (CDK writes them so). Only that report is set aside, and only
    for an ARN of another partition."""
    text = str(match)
    return (
        match.rule.id == "E3601"
        and "'^arn:aws:([a-z]|-)+:" in text
        and any(f"'arn:{partition}:" in text for partition in ("aws-cn", "aws-us-gov"))
    )
