"""The fragment in a parent of either query language.

Its JSONata rendition runs in a JSONata state machine and in a JSONPath one, and behaves as its
JSONPath rendition does: the same request to Comprehend (the same idempotency token for the same
execution and request), the same output, the same errors with the same causes, the same waits.
Each scenario runs both renditions in the emulator (JSONata through its bridge,
``tests/emulator/jsonata_eval.py``) and compares them. Where the fragment cannot run, the synth
says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesWorkflow, PollSchedule

from .conftest import new_app
from .emulator import ComprehendScript, Execution, LocalAws, local_aws

START = "startKeyPhrasesDetectionJob"
STOP = "stopKeyPhrasesDetectionJob"


#: One hour of polling: the budget-spent runs stay short.
SCHEDULE = PollSchedule(timeout=Duration.hours(1))


def fragment_first(language: sfn.QueryLanguage, top_level: sfn.QueryLanguage) -> cdk.Stack:
    """The fragment as a state machine's first state, so the execution input is its request."""
    stack = cdk.Stack(new_app(), "FragmentFirst")
    key_phrases = KeyPhrasesWorkflow(
        stack,
        "KeyPhrases",
        input_bucket=s3.Bucket(stack, "Docs"),
        output_bucket=s3.Bucket(stack, "Results"),
        data_access_role=iam.Role(
            stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com")
        ),
        input_prefix="inbox/",
        language_code="es",
        poll_schedule=SCHEDULE,
        query_language=language,
    )
    machine = sfn.StateMachine(
        stack,
        "Machine",
        query_language=top_level,
        definition_body=sfn.DefinitionBody.from_chainable(key_phrases),
    )
    cdk.CfnOutput(stack, "Arn", value=machine.state_machine_arn)
    return stack


JSONPATH, JSONATA = sfn.QueryLanguage.JSON_PATH, sfn.QueryLanguage.JSONATA
#: Rendition -> the stack holding it (its state machine's ARN in the output ``Arn``).
RENDITIONS: dict[str, Callable[[], cdk.Stack]] = {
    "jsonpath": lambda: fragment_first(JSONPATH, JSONPATH),
    "jsonata": lambda: fragment_first(JSONATA, JSONATA),
    "jsonata-in-jsonpath": lambda: fragment_first(JSONATA, JSONPATH),
}


@pytest.fixture(scope="module", params=sorted(RENDITIONS))
def aws(request: pytest.FixtureRequest) -> Iterator[tuple[str, LocalAws]]:
    stack = RENDITIONS[request.param]()
    with local_aws(Template.from_stack(stack).to_json(), stack_name=stack.stack_name) as local:
        local.create_executable(local.resolved_definition(local.outputs["Arn"]))
        yield request.param, local


def run(
    aws: LocalAws,
    script: ComprehendScript,
    batch: Any = "2026-12/",
    name: str | None = None,
    **fields: Any,
) -> Execution:
    aws.reset(script)
    return aws.run({"inputPrefix": batch, **fields}, name=name)


def failing_at(seconds: float, status: str, message: str | None = None) -> ComprehendScript:
    def verdict(job: Any, elapsed: float) -> str | tuple[str, str]:
        if elapsed < seconds:
            return "IN_PROGRESS"
        return (status, message) if message else status

    return ComprehendScript(status=verdict)


def test_a_completed_job(aws):
    name, local = aws
    execution = run(local, ComprehendScript.completes_after(900), name="same-name")
    assert execution.status == "SUCCEEDED", (name, execution.error, execution.cause)
    (job_id,) = local.script.jobs
    (request,) = execution.task_inputs(START)
    docs = request["InputDataConfig"]["S3Uri"].split("/")[2]
    results = request["OutputDataConfig"]["S3Uri"].split("/")[2]
    assert execution.output == {
        "jobId": job_id,
        "jobArn": f"arn:aws:comprehend:us-east-1:123456789012:key-phrases-detection-job/{job_id}",
        "jobStatus": "COMPLETED",
        "inputS3Uri": f"s3://{docs}/inbox/2026-12/",
        "outputS3Uri": f"s3://{results}/same-name/",
        "languageCode": "es",
    }
    assert request["InputDataConfig"] == {
        "S3Uri": f"s3://{docs}/inbox/2026-12/",
        "InputFormat": "ONE_DOC_PER_LINE",
    }
    assert request["OutputDataConfig"] == {"S3Uri": f"s3://{results}/same-name/"}
    assert request["LanguageCode"] == "es"
    assert request["JobName"] == "key-phrases-same-name"
    # The documented token: SHA-256 of the execution and exactly what the job is asked to do.
    fields = [
        execution.arn,
        f"s3://{docs}/inbox/",
        f"s3://{results}/",
        "2026-12/",
        "ONE_DOC_PER_LINE",
        "es",
        "key-phrases-same-name",
    ]
    assert request["ClientRequestToken"] == hashlib.sha256("|".join(fields).encode()).hexdigest()
    # The schedule's waits, in order, until the job was seen completed.
    assert local.clock.waits == list(SCHEDULE.waits[: len(local.clock.waits)])


@pytest.mark.parametrize(
    ("script", "error", "cause"),
    [
        (
            lambda: failing_at(300, "FAILED", "NO_READ_ACCESS_TO_INPUT: cannot read"),
            "KeyPhrasesJobFailed",
            "Comprehend job {job} failed: NO_READ_ACCESS_TO_INPUT: cannot read",
        ),
        (
            lambda: failing_at(300, "FAILED"),
            "KeyPhrasesJobFailed",
            "Comprehend job {job} failed without a message",
        ),
        (
            lambda: failing_at(300, "STOPPED"),
            "KeyPhrasesJobStopped",
            "Comprehend job {job} was stopped",
        ),
        (
            ComprehendScript,
            "KeyPhrasesJobTimedOut",
            "Comprehend job {job} was still running after the 3600 s budget; a stop was requested",
        ),
    ],
    ids=["failed", "failed-without-message", "stopped", "budget-spent"],
)
def test_a_job_that_does_not_complete(aws, script, error, cause):
    """Each run gets a fresh script (``script`` builds one): scripts record their jobs."""
    name, local = aws
    execution = run(local, script())
    assert execution.status == "FAILED", name
    (job_id,) = local.script.jobs
    assert (execution.error, execution.cause) == (error, cause.format(job=job_id))
    stops = execution.task_inputs(STOP)
    assert len(stops) == (1 if error == "KeyPhrasesJobTimedOut" else 0)


def test_polling_that_keeps_failing_stops_the_job(aws):
    name, local = aws
    script = ComprehendScript.completes_after(3600)
    script.fail_describe = ["InternalServerException"] * 7  # the first Describe and its retries
    execution = run(local, script)
    (job_id,) = local.script.jobs
    assert execution.error == "KeyPhrasesPollingFailed", name
    assert (execution.cause or "").startswith(
        f"Polling Comprehend job {job_id} failed with Comprehend.InternalServerException: "
    )
    assert (execution.cause or "").endswith("; a stop was requested")
    assert local.script.jobs[job_id].stop_calls == 1


@pytest.mark.parametrize(
    ("fields", "cause"),
    [
        (
            {"languageCode": "xx"},
            "languageCode must be one of en, es, fr, de, it, pt, ar, hi, ja, ko, zh, zh-TW; "
            'got "xx"',
        ),
        (
            {"inputFormat": 7},
            "inputFormat must be one of ONE_DOC_PER_FILE, ONE_DOC_PER_LINE; got 7",
        ),
        ({"jobName": ""}, 'jobName must be a non-empty string; got ""'),
    ],
    ids=["language", "format", "job-name"],
)
def test_invalid_requests_fail_alike_before_any_job(aws, fields, cause):
    name, local = aws
    execution = run(local, ComprehendScript(), **fields)
    assert (execution.error, execution.cause) == ("InvalidExecutionInput", cause), name
    assert local.jobs_started() == 0


@pytest.mark.parametrize("batch", ["/etc/", "../other/", "a/../b", "a/..", ".."])
def test_prefixes_that_escape_their_root_are_refused_alike(aws, batch):
    name, local = aws
    execution = run(local, ComprehendScript(), batch=batch)
    assert execution.error == "InvalidExecutionInput", name
    assert (execution.cause or "").endswith(f'got "{batch}"')
    assert local.jobs_started() == 0


# -- where the fragment cannot run ---------------------------------------------------------------


def fragment(
    stack: cdk.Stack, construct_id: str, language: sfn.QueryLanguage
) -> sfn.StateMachineFragment:
    bucket = s3.Bucket.from_bucket_name(stack, f"{construct_id}Bucket", "docs")
    role = iam.Role.from_role_arn(stack, f"{construct_id}Role", "arn:aws:iam::123456789012:role/r")
    return KeyPhrasesWorkflow(
        stack,
        construct_id,
        input_bucket=bucket,
        output_bucket=bucket,
        output_prefix="out/",
        data_access_role=role,
        query_language=language,
    ).prefix_states(f"{construct_id}-")


def synth_errors(build: Callable[[cdk.Stack], sfn.IChainable], **machine: Any) -> str:
    stack = cdk.Stack(new_app(), "Placed")
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(build(stack)), **machine
    )
    with pytest.raises(RuntimeError, match="ValidationFailedWithErrors") as raised:
        Template.from_stack(stack)
    return str(raised.value)


def test_a_jsonpath_fragment_in_a_jsonata_state_machine_is_refused():
    message = synth_errors(
        lambda stack: fragment(stack, "KP", sfn.QueryLanguage.JSON_PATH),
        query_language=sfn.QueryLanguage.JSONATA,
    )
    assert (
        "is written in JSONPath and cannot run in Placed/Machine/Resource, whose top-level "
        "QueryLanguage is JSONata" in message
    )
    assert "query_language=QueryLanguage.JSONATA" in message


@pytest.mark.parametrize("language", [sfn.QueryLanguage.JSON_PATH, sfn.QueryLanguage.JSONATA])
def test_an_express_state_machine_is_refused(language):
    message = synth_errors(
        lambda stack: fragment(stack, "KP", language),
        state_machine_type=sfn.StateMachineType.EXPRESS,
        query_language=language,
    )
    assert "cannot run in the Express state machine Placed/Machine/Resource" in message
    assert "an Express execution ends after five minutes" in message


def test_the_fragment_inside_and_outside_one_parallel_is_refused():
    def build(stack: cdk.Stack) -> sfn.IChainable:
        inside = sfn.Parallel(stack, "Both").branch(
            fragment(stack, "Inner", sfn.QueryLanguage.JSON_PATH)
        )
        return sfn.Chain.start(fragment(stack, "Outer", sfn.QueryLanguage.JSON_PATH)).next(inside)

    message = synth_errors(build)
    assert "runs the fragment both at its top level and inside Both[0]" in message
    assert "cannot assign a variable of its enclosing scope" in message


def test_twice_in_one_scope_or_in_two_branches_is_accepted():
    stack = cdk.Stack(new_app(), "Placed")
    both = sfn.Parallel(stack, "Both")
    for name in ("Left", "Right"):
        both.branch(fragment(stack, name, sfn.QueryLanguage.JSON_PATH))
    sequential = sfn.Chain.start(fragment(stack, "First", sfn.QueryLanguage.JSONATA)).next(
        fragment(stack, "Second", sfn.QueryLanguage.JSONATA)
    )
    sfn.StateMachine(stack, "Branches", definition_body=sfn.DefinitionBody.from_chainable(both))
    sfn.StateMachine(
        stack,
        "Sequence",
        query_language=sfn.QueryLanguage.JSONATA,
        definition_body=sfn.DefinitionBody.from_chainable(sequential),
    )
    assert len(Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")) == 2
