"""Every stack variant the suite synthesizes, by name: static checks run over all of them."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn

from cdk_kp import (
    KeyPhrasesBatch,
    KeyPhrasesPipeline,
    KeyPhrasesStack,
    KeyPhrasesWorkflow,
    PollSchedule,
)

from .conftest import ByoStack, new_app


def own_state_machine() -> cdk.Stack:
    """The composition example of docs/constructs-and-props.md: the fragment between two
    states of one's own."""
    stack = cdk.Stack(new_app(), "Composed")
    docs = s3.Bucket(stack, "Docs")
    results = s3.Bucket(stack, "Results")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    key_phrases = KeyPhrasesWorkflow(
        stack,
        "KeyPhrases",
        input_bucket=docs,
        output_bucket=results,
        data_access_role=role,
        input_prefix="inbox/",
        language_code="es",
    )
    prepare = sfn.Pass(stack, "Prepare", parameters={"inputPrefix.$": "$.batch"})
    notify = sfn.Pass(
        stack, "Notify", parameters={"done.$": "$.jobId", "results.$": "$.outputS3Uri"}
    )
    machine = sfn.StateMachine(
        stack,
        "Mine",
        definition_body=sfn.DefinitionBody.from_chainable(prepare.next(key_phrases).next(notify)),
    )
    cdk.CfnOutput(stack, "Arn", value=machine.state_machine_arn)
    return stack


def jsonata_state_machine(*, top_level: sfn.QueryLanguage = sfn.QueryLanguage.JSONATA) -> cdk.Stack:
    """The fragment's JSONata rendition between two states of one's own, in a JSONata state
    machine (or, with ``top_level`` JSONPath, in a JSONPath one)."""
    stack = cdk.Stack(new_app(), "JsonataComposed")
    docs = s3.Bucket(stack, "Docs")
    results = s3.Bucket(stack, "Results")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    key_phrases = KeyPhrasesWorkflow(
        stack,
        "KeyPhrases",
        input_bucket=docs,
        output_bucket=results,
        data_access_role=role,
        input_prefix="inbox/",
        language_code="es",
        query_language=sfn.QueryLanguage.JSONATA,
    )
    prepare = sfn.Pass.jsonata(
        stack, "Prepare", outputs={"inputPrefix": "{% $states.input.batch %}"}
    )
    notify = sfn.Pass.jsonata(
        stack,
        "Notify",
        outputs={"done": "{% $states.input.jobId %}", "results": "{% $states.input.outputS3Uri %}"},
    )
    machine = sfn.StateMachine(
        stack,
        "Mine",
        query_language=top_level,
        definition_body=sfn.DefinitionBody.from_chainable(prepare.next(key_phrases).next(notify)),
    )
    cdk.CfnOutput(stack, "Arn", value=machine.state_machine_arn)
    return stack


def two_fragments() -> cdk.Stack:
    """The fragment twice in one state machine, on two prefixes of one bucket."""
    stack = cdk.Stack(new_app(), "TwoJobs")
    bucket = s3.Bucket(stack, "Docs")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    first, second = (
        KeyPhrasesWorkflow(
            stack,
            name,
            input_bucket=bucket,
            output_bucket=bucket,
            data_access_role=role,
            input_prefix=prefix,
            output_prefix="out/",
        ).prefix_states(f"{name}-")
        for name, prefix in (("First", "a/"), ("Second", "b/"))
    )
    machine = sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(
            sfn.Chain.start(first).next(sfn.Pass(stack, "Between", parameters={})).next(second)
        ),
    )
    cdk.CfnOutput(stack, "Arn", value=machine.state_machine_arn)
    return stack


def short_schedule() -> cdk.Stack:
    """A pipeline with every prop set away from its default."""
    stack = cdk.Stack(new_app(), "Tuned")
    KeyPhrasesPipeline(
        stack,
        "Pipeline",
        input_prefix="docs/",
        output_prefix="results/",
        language_code="zh-TW",
        input_format="ONE_DOC_PER_FILE",
        job_name_prefix="nightly run",
        poll_schedule=PollSchedule(
            initial_interval=Duration.seconds(30),
            backoff_rate=1.5,
            max_interval=Duration.minutes(5),
            timeout=Duration.hours(1),
        ),
        execution_timeout=Duration.hours(2),
        state_machine_name="tuned-key-phrases",
    )
    return stack


JOB_TAGS = {"cost-center": "nlp-42", "data-class": "confidential"}


def customer_managed_key() -> cdk.Stack:
    """One customer-managed key for buckets, job output and volume, logs and state machine."""
    stack = cdk.Stack(new_app(), "Cmk")
    key = kms.Key(stack, "Key", enable_key_rotation=True, description="key phrase data")
    KeyPhrasesPipeline(stack, "Pipeline", encryption_key=key, job_tags=JOB_TAGS)
    return stack


def existing_vpc(stack: cdk.Stack) -> ec2.IVpc:
    """A VPC the user already has (imported: its own resources are not the library's)."""
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Network",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    )


def in_vpc() -> cdk.Stack:
    """Jobs in an existing VPC's private subnets, with a created security group."""
    stack = cdk.Stack(new_app(), "InVpc")
    KeyPhrasesPipeline(stack, "Pipeline", vpc=existing_vpc(stack))
    return stack


def hardened() -> cdk.Stack:
    """Everything at once: a key, a separate volume key, a VPC with the user's security group,
    job tags, expiring noncurrent versions, prefixes, and a batch over the pipeline."""
    stack = cdk.Stack(new_app(), "Hardened")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    volume_key = kms.Key(stack, "VolumeKey", enable_key_rotation=True)
    vpc = existing_vpc(stack)
    group = ec2.SecurityGroup.from_security_group_id(stack, "Group", "sg-0123456789abcdef0")
    pipeline = KeyPhrasesPipeline(
        stack,
        "Pipeline",
        encryption_key=key,
        volume_encryption_key=volume_key,
        vpc=vpc,
        security_groups=[group],
        job_tags=JOB_TAGS,
        noncurrent_version_expiration=Duration.days(90),
        input_prefix="incoming/",
        output_prefix="key-phrases/",
    )
    KeyPhrasesBatch(
        stack, "Batch", pipeline=pipeline, max_concurrency=4, tolerated_failure_percentage=10
    )
    cdk.CfnOutput(stack, "StateMachineArn", value=pipeline.state_machine.state_machine_arn)
    return stack


#: Name -> builder. ``bundled`` and ``bring-your-own`` come from the session fixtures.
BUILDERS: dict[str, Callable[[], cdk.Stack]] = {
    "bundled": lambda: KeyPhrasesStack(new_app(), "KeyPhrasesStack"),
    "bring-your-own": lambda: ByoStack(new_app(), "ByoStack"),
    "own-state-machine": own_state_machine,
    "own-jsonata-state-machine": jsonata_state_machine,
    "jsonata-fragment-in-jsonpath": lambda: jsonata_state_machine(
        top_level=sfn.QueryLanguage.JSON_PATH
    ),
    "two-fragments": two_fragments,
    "short-schedule": short_schedule,
    "without-feature-flags": lambda: KeyPhrasesStack(new_app(context={}), "Legacy"),
    "customer-managed-key": customer_managed_key,
    "vpc": in_vpc,
    "hardened": hardened,
}
