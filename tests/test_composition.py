"""The workflow fragment inside state machines of one's own, executed in moto."""

from __future__ import annotations

from aws_cdk.assertions import Template

from .harness import ComprehendScript, local_aws
from .variants import own_state_machine, two_fragments

START = "startKeyPhrasesDetectionJob"


def test_fragment_inside_a_users_state_machine_runs():
    """The README's composition example: the fragment between two states of one's own."""
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
