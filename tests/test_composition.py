"""The workflow fragment inside state machines of one's own, executed in moto."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesWorkflow

from .conftest import new_app
from .harness import ComprehendScript, local_aws

START = "startKeyPhrasesDetectionJob"


def test_fragment_inside_a_users_state_machine_runs():
    """The README's composition example: the fragment between two states of one's own."""
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
    with local_aws(Template.from_stack(stack).to_json(), stack_name="Composed") as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["Arn"]))
        aws.reset(ComprehendScript.completes_after(900))
        execution = aws.run({"batch": "2026-11/"})
        (job_id,) = aws.script.jobs
        (request,) = execution.task_inputs(START)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    assert execution.output["done"] == job_id
    assert request["InputDataConfig"]["S3Uri"].endswith("/inbox/2026-11/")
    assert request["LanguageCode"] == "es"


def test_token_differs_between_requests_in_the_same_execution():
    """The fragment twice in one state machine, on two prefixes: two distinct tokens."""
    stack = cdk.Stack(new_app(), "TwoJobs")
    bucket = s3.Bucket(stack, "Docs")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    first = KeyPhrasesWorkflow(
        stack,
        "First",
        input_bucket=bucket,
        output_bucket=bucket,
        data_access_role=role,
        input_prefix="a/",
        output_prefix="out/",
    ).prefix_states("First-")
    second = KeyPhrasesWorkflow(
        stack,
        "Second",
        input_bucket=bucket,
        output_bucket=bucket,
        data_access_role=role,
        input_prefix="b/",
        output_prefix="out/",
    ).prefix_states("Second-")
    machine = sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(
            sfn.Chain.start(first).next(sfn.Pass(stack, "Between", parameters={})).next(second)
        ),
    )
    cdk.CfnOutput(stack, "Arn", value=machine.state_machine_arn)
    with local_aws(Template.from_stack(stack).to_json(), stack_name="TwoJobs") as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["Arn"]))
        aws.reset(ComprehendScript.completes_after(60))
        execution = aws.run({})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    requests = execution.task_inputs(START)
    assert [r["InputDataConfig"]["S3Uri"].rsplit("/", 2)[-2] for r in requests] == ["a", "b"]
    assert requests[0]["ClientRequestToken"] != requests[1]["ClientRequestToken"]
