"""The workflow fragment inside state machines of one's own, executed in moto."""

from __future__ import annotations

from aws_cdk.assertions import Template

from .emulator import ComprehendScript, local_aws
from .variants import JOB_TAGS, hardened, own_state_machine, two_fragments

START = "startKeyPhrasesDetectionJob"


def test_fragment_inside_a_users_state_machine_runs():
    """The composition example of docs/constructs-and-props.md: the fragment between two
    states of one's own."""
    stack = own_state_machine()
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
    stack = two_fragments()
    with local_aws(Template.from_stack(stack).to_json(), stack_name="TwoJobs") as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["Arn"]))
        aws.reset(ComprehendScript.completes_after(60))
        execution = aws.run({})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    requests = execution.task_inputs(START)
    assert [r["InputDataConfig"]["S3Uri"].rsplit("/", 2)[-2] for r in requests] == ["a", "b"]
    assert requests[0]["ClientRequestToken"] != requests[1]["ClientRequestToken"]


def test_hardened_pipeline_runs_with_keys_network_and_tags():
    """Customer-managed keys, a VPC and job tags, executed: the request Comprehend receives
    carries all of them (and passes botocore's model, which the harness checks)."""
    stack = hardened()
    template = Template.from_stack(stack).to_json()
    with local_aws(template, stack_name="Hardened") as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["StateMachineArn"]))
        aws.reset(ComprehendScript.completes_after(3600))
        execution = aws.run({"inputPrefix": "secret/"})
        keys = {k["KeyId"]: k["KeyArn"] for k in aws.session.client("kms").list_keys()["Keys"]}
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    (request,) = execution.task_inputs(START)
    assert request["OutputDataConfig"]["KmsKeyId"] in keys.values()
    assert request["VolumeKmsKeyId"] in keys.values()
    assert request["VolumeKmsKeyId"] != request["OutputDataConfig"]["KmsKeyId"]
    assert request["VpcConfig"] == {
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "Subnets": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
    }
    assert request["Tags"] == [{"Key": k, "Value": v} for k, v in sorted(JOB_TAGS.items())]
