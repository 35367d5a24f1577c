"""The synthesized definition, executed: every path a production run can take.

The bundled stack's template is deployed into moto's CloudFormation, and its resolved definition
runs in moto's Step Functions interpreter; its SDK tasks call moto's Comprehend, which the test
plays through :class:`ComprehendScript`. See ``tests/emulator/`` for what is bridged and why.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdk_kp import PollSchedule

from .emulator import ComprehendScript, Execution, LocalAws, local_aws

TOKEN_PATTERN = re.compile(r"^[a-zA-Z0-9-]{1,64}$")
START = "startKeyPhrasesDetectionJob"
STOP = "stopKeyPhrasesDetectionJob"
TWO_HOURS = 2 * 3600


@pytest.fixture(scope="module")
def aws(bundled_template: Template) -> Iterator[LocalAws]:
    with local_aws(bundled_template.to_json()) as local:
        local.create_executable(local.resolved_definition(local.outputs["StateMachineArn"]))
        yield local


def run(
    aws: LocalAws, script: ComprehendScript, execution_input: Any = None, **kw: Any
) -> Execution:
    aws.reset(script)
    return aws.run({} if execution_input is None else execution_input, **kw)


def start_requests(execution: Execution) -> list[dict[str, Any]]:
    return execution.task_inputs(START)


# -- the success contract ----------------------------------------------------------------------


def test_completed_job_returns_the_documented_output(aws):
    execution = run(aws, ComprehendScript.completes_after(TWO_HOURS), name="contract-1")
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    out = execution.output
    assert out is not None
    (job_id,) = aws.script.jobs
    input_bucket, output_bucket = aws.outputs["InputBucketName"], aws.outputs["OutputBucketName"]
    assert out == {
        "jobId": job_id,
        "jobArn": f"arn:aws:comprehend:us-east-1:123456789012:key-phrases-detection-job/{job_id}",
        "jobStatus": "COMPLETED",
        "inputS3Uri": f"s3://{input_bucket}/",
        "outputS3Uri": f"s3://{output_bucket}/contract-1/",
        "languageCode": "en",
    }


def test_start_request_uses_the_stacks_role_buckets_prefixes_and_a_valid_token(aws):
    execution = run(
        aws,
        ComprehendScript.completes_after(600),
        {"inputPrefix": "batch-7/", "languageCode": "fr", "inputFormat": "ONE_DOC_PER_FILE"},
        name="prefixed-run",
    )
    assert execution.status == "SUCCEEDED"
    (request,) = start_requests(execution)
    assert request["DataAccessRoleArn"] == aws.outputs["DataAccessRoleArn"]
    assert request["InputDataConfig"] == {
        "S3Uri": f"s3://{aws.outputs['InputBucketName']}/batch-7/",
        "InputFormat": "ONE_DOC_PER_FILE",
    }
    assert request["OutputDataConfig"] == {
        "S3Uri": f"s3://{aws.outputs['OutputBucketName']}/prefixed-run/"
    }
    assert request["LanguageCode"] == "fr"
    assert request["JobName"] == "key-phrases-prefixed-run"
    assert TOKEN_PATTERN.match(request["ClientRequestToken"])
    # What Comprehend received is what the definition sent.
    (job,) = aws.script.jobs.values()
    assert job.request["ClientRequestToken"] == request["ClientRequestToken"]


def test_each_execution_writes_under_its_own_output_prefix(aws):
    uris = []
    for name in ("run-a", "run-b"):
        execution = run(aws, ComprehendScript.completes_after(60), name=name)
        (request,) = start_requests(execution)
        uris.append(request["OutputDataConfig"]["S3Uri"])
    assert uris[0] != uris[1]
    assert not uris[0].startswith(uris[1])
    assert not uris[1].startswith(uris[0])


def test_explicit_job_name_is_used(aws):
    execution = run(aws, ComprehendScript.completes_after(60), {"jobName": "quarterly report"})
    assert start_requests(execution)[0]["JobName"] == "quarterly report"


# -- terminal failures -------------------------------------------------------------------------


def test_failed_job_fails_with_comprehends_message(aws):
    script = ComprehendScript(
        status=lambda job, t: (
            ("FAILED", "NO_READ_ACCESS_TO_INPUT: cannot read s3://x") if t >= 300 else "IN_PROGRESS"
        )
    )
    execution = run(aws, script)
    assert execution.status == "FAILED"
    assert execution.error == "KeyPhrasesJobFailed"
    (job_id,) = aws.script.jobs
    assert execution.cause == (
        f"Comprehend job {job_id} failed: NO_READ_ACCESS_TO_INPUT: cannot read s3://x"
    )


def test_failed_job_without_a_message_still_fails_cleanly(aws):
    execution = run(aws, ComprehendScript(status=lambda job, t: "FAILED"))
    assert (execution.status, execution.error) == ("FAILED", "KeyPhrasesJobFailed")
    assert execution.cause is not None
    assert execution.cause.endswith("failed without a message")


def test_stopped_job_fails_with_job_stopped(aws):
    script = ComprehendScript(
        status=lambda job, t: (
            "STOPPED" if t > 120 else ("STOP_REQUESTED" if t > 60 else "SUBMITTED")
        )
    )
    execution = run(aws, script)
    assert (execution.status, execution.error) == ("FAILED", "KeyPhrasesJobStopped")
    # SUBMITTED and STOP_REQUESTED kept the loop going: three polls.
    assert next(iter(aws.script.jobs.values())).describe_calls == 3


# -- the budget --------------------------------------------------------------------------------


def test_budget_spent_stops_the_job_and_fails_timed_out(aws):
    execution = run(aws, ComprehendScript(status=lambda job, t: "IN_PROGRESS"))
    assert (execution.status, execution.error) == ("FAILED", "KeyPhrasesJobTimedOut")
    (job,) = aws.script.jobs.values()
    assert job.stop_calls == 1
    assert execution.task_inputs(STOP) == [{"JobId": job.job_id}]
    assert aws.clock.waits == list(PollSchedule().waits)
    assert sum(aws.clock.waits) == 24 * 3600
    assert job.describe_calls == len(PollSchedule().waits)


def test_budget_spent_and_stop_failing_for_good_still_times_out(aws):
    script = ComprehendScript(status=lambda job, t: "IN_PROGRESS")
    script.fail_stop = ["InternalServerException"] * 7  # the first try and six retries
    execution = run(aws, script)
    assert (execution.status, execution.error) == ("FAILED", "KeyPhrasesJobTimedOut")
    assert execution.cause is not None
    assert "a stop was requested" in execution.cause


def test_budget_spent_on_a_job_that_just_ended_still_times_out_cleanly(aws):
    script = ComprehendScript(
        status=lambda job, t: "IN_PROGRESS", fail_stop=["InvalidRequestException"]
    )
    execution = run(aws, script)
    assert (execution.status, execution.error) == ("FAILED", "KeyPhrasesJobTimedOut")


# -- retries and errors ------------------------------------------------------------------------


def test_start_throttled_twice_then_accepted_creates_exactly_one_job(aws):
    script = ComprehendScript.completes_after(60)
    script.fail_start = ["TooManyRequestsException", "TooManyRequestsException"]
    execution = run(aws, script)
    assert execution.status == "SUCCEEDED"
    assert aws.script.start_attempts == 3
    assert aws.jobs_started() == 1
    assert len(aws.clock.retry_delays) == 2
    # Full jitter: each delay at most the backoff interval (2 s, then 4 s).
    assert 0 <= aws.clock.retry_delays[0] <= 2
    assert 0 <= aws.clock.retry_delays[1] <= 4
    tokens = {r["ClientRequestToken"] for r in start_requests(execution)}
    assert len(start_requests(execution)) == 3
    assert len(tokens) == 1


def test_throttling_that_outlasts_the_retries_fails_cleanly_and_starts_nothing(aws):
    script = ComprehendScript(fail_start=["TooManyRequestsException"] * 10)
    execution = run(aws, script)
    assert execution.status == "FAILED"
    assert execution.error == "Comprehend.TooManyRequestsException"
    assert aws.script.start_attempts == 7  # the first try and six retries
    assert aws.jobs_started() == 0
    assert all(d <= 60 for d in aws.clock.retry_delays)  # MaxDelaySeconds


def test_describe_internal_error_once_is_retried_and_the_run_completes(aws):
    script = ComprehendScript.completes_after(60)
    script.fail_describe = ["InternalServerException"]
    execution = run(aws, script)
    assert execution.status == "SUCCEEDED"
    assert len(aws.clock.retry_delays) == 1


def test_describe_failing_for_good_stops_the_job(aws):
    script = ComprehendScript(fail_describe=["JobNotFoundException"])
    execution = run(aws, script)
    assert (execution.status, execution.error) == ("FAILED", "KeyPhrasesPollingFailed")
    assert execution.cause is not None
    assert "Comprehend.JobNotFoundException" in execution.cause
    (job,) = aws.script.jobs.values()
    assert job.stop_calls == 1


# -- invalid input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("execution_input", "cause"),
    [
        (
            {"languageCode": "xx"},
            "languageCode must be one of en, es, fr, de, it, pt, ar, hi, ja, "
            'ko, zh, zh-TW; got "xx"',
        ),
        (
            {"languageCode": 7},
            "languageCode must be one of en, es, fr, de, it, pt, ar, hi, ja, ko, zh, zh-TW; got 7",
        ),
        (
            {"inputFormat": "CSV"},
            'inputFormat must be one of ONE_DOC_PER_FILE, ONE_DOC_PER_LINE; got "CSV"',
        ),
        (
            {"inputPrefix": "/abs/"},
            "inputPrefix must be a key prefix relative to the configured "
            'input prefix, with no leading slash and no .. segment; got "/abs/"',
        ),
        ({"inputPrefix": "a/../b/"}, None),
        ({"inputPrefix": ".."}, None),
        ({"inputPrefix": ["a"]}, None),
        ({"jobName": ""}, 'jobName must be a non-empty string; got ""'),
        ({"jobName": None}, "jobName must be a non-empty string; got null"),
    ],
    ids=[
        "language",
        "language-number",
        "format",
        "prefix-slash",
        "prefix-dotdot",
        "prefix-only-dotdot",
        "prefix-list",
        "job-name-empty",
        "job-name-null",
    ],
)
def test_invalid_input_fails_before_any_job_starts(aws, execution_input, cause):
    execution = run(aws, ComprehendScript.completes_after(60), execution_input)
    assert (execution.status, execution.error) == ("FAILED", "InvalidExecutionInput")
    if cause is not None:
        assert execution.cause == cause
    assert aws.script.start_attempts == 0
    assert "StartJob" not in execution.states_entered()


def test_unrelated_input_fields_are_ignored(aws):
    """Even a large one: the token hashes the request, not the input (States.Hash takes at
    most 10,000 characters)."""
    execution = run(
        aws, ComprehendScript.completes_after(60), {"requestedBy": "nightly", "notes": "x" * 20_000}
    )
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    token = start_requests(execution)[0]["ClientRequestToken"]
    again = run(aws, ComprehendScript.completes_after(60), {"requestedBy": "someone else"})
    assert again.status == "SUCCEEDED"
    assert token != start_requests(again)[0]["ClientRequestToken"]  # another execution


# -- idempotency -------------------------------------------------------------------------------


def expected_token(execution: Execution) -> str:
    """The token recomputed outside Step Functions from the execution ARN and the request
    StartJob was given, as the definition says: SHA-256 of the execution ID, the input and output
    roots and the four request fields, joined by ``|``."""
    (entered,) = [
        e
        for e in execution.history
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "StartJob"
    ]
    state = json.loads(entered["stateEnteredEventDetails"]["input"])
    request, target = state["request"], state["target"]
    text = "|".join(
        [
            execution.arn,
            target["inputRoot"],
            target["outputRoot"],
            request["inputPrefix"],
            request["inputFormat"],
            request["languageCode"],
            request["jobName"],
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_token_is_a_pure_function_of_the_execution_and_its_request(aws):
    """A redrive keeps the execution's ARN and re-runs StartJob with the state input it had
    (moto 5.2.5 has no RedriveExecution). So a token computed from exactly those two things is
    the same on a redrive, and Comprehend returns the first job instead of starting another."""
    execution = run(aws, ComprehendScript.completes_after(60), {"inputPrefix": "x/"})
    (request,) = start_requests(execution)
    assert request["ClientRequestToken"] == expected_token(execution)
    assert len(request["ClientRequestToken"]) == 64


def test_token_differs_between_executions_with_the_same_input(aws):
    tokens = set()
    for _ in range(3):
        execution = run(aws, ComprehendScript.completes_after(60), {"inputPrefix": "same/"})
        tokens.add(start_requests(execution)[0]["ClientRequestToken"])
    assert len(tokens) == 3


# -- the emulator ------------------------------------------------------------------------------


def test_a_stop_that_lands_while_the_start_is_evaluated_makes_no_call(aws, monkeypatch):
    """The emulator's bridge for moto's pruning (``emulator/stopped_task_calls.py``): the stop
    lands exactly while StartJob's ClientRequestToken (``States.Hash(...)``) is evaluated, so
    that part is pruned. moto alone would call Comprehend with the rest; AWS makes no call for a
    stopped execution."""
    from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.hash_calculations.hash_func import (  # noqa: E501
        HashFunc,
    )

    original_eval = HashFunc.eval
    stopped: list[str] = []

    def stop_then_evaluate(self: Any, env: Any) -> None:
        if not stopped:
            arn = env.states.context_object.context_object_data["Execution"]["Id"]
            aws.sfn.stop_execution(executionArn=arn)
            stopped.append(arn)
        original_eval(self, env)

    monkeypatch.setattr(HashFunc, "eval", stop_then_evaluate)
    execution = run(aws, ComprehendScript.completes_after(60))
    assert stopped == [execution.arn]
    assert execution.status == "ABORTED"
    assert aws.script.start_attempts == 0
    assert aws.script.jobs == {}
