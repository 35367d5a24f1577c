"""The workflow's structure, asserted on the resolved definition the bundled stack ships."""

from __future__ import annotations

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
from .definitions import definitions_in

SDK = "arn:aws:states:::aws-sdk:comprehend:"
BACKOFF = {
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}
THROTTLED_OR_INTERNAL = [
    "Comprehend.TooManyRequestsException",
    "Comprehend.InternalServerException",
]
# StopKeyPhrasesDetectionJob cannot raise TooManyRequestsException (botocore's model).
INTERNAL_ONLY = ["Comprehend.InternalServerException"]


@pytest.fixture(scope="module")
def states(bundled_template) -> dict[str, Any]:
    (definition,) = [
        d for k, d in definitions_in(bundled_template).items() if k.startswith("Pipeline")
    ]
    assert definition["StartAt"] == "ApplyDefaults"
    found: dict[str, Any] = definition["States"]
    return found


@pytest.fixture(scope="module")
def byo_states(byo_template) -> dict[str, Any]:
    (definition,) = definitions_in(byo_template).values()
    found: dict[str, Any] = definition["States"]
    return found


def test_state_names_and_types(states):
    assert {name: state["Type"] for name, state in states.items()} == {
        "ApplyDefaults": "Pass",
        "ResolveRequest": "Pass",
        "ValidateRequest": "Choice",
        "InvalidLanguageCode": "Fail",
        "InvalidInputFormat": "Fail",
        "InvalidInputPrefix": "Fail",
        "InvalidJobName": "Fail",
        "StartJob": "Task",
        "WaitForJob": "Wait",
        "DescribeJob": "Task",
        "CheckJobStatus": "Choice",
        "JobCompleted": "Pass",
        "JobFailed": "Fail",
        "JobFailedWithoutMessage": "Fail",
        "JobStopped": "Fail",
        "StopTimedOutJob": "Task",
        "JobTimedOut": "Fail",
        "StopJobAfterError": "Task",
        "PollingFailed": "Fail",
    }


def test_the_happy_path_edges(states):
    assert states["ApplyDefaults"]["Next"] == "ResolveRequest"
    assert states["ResolveRequest"]["Next"] == "ValidateRequest"
    assert states["ValidateRequest"]["Default"] == "StartJob"
    assert states["StartJob"]["Next"] == "WaitForJob"
    assert states["WaitForJob"]["Next"] == "DescribeJob"
    assert states["DescribeJob"]["Next"] == "CheckJobStatus"
    assert states["JobCompleted"]["End"] is True


def test_the_poll_loop_is_wait_describe_choice(states):
    check = states["CheckJobStatus"]
    assert check["Default"] == "WaitForJob"
    assert check["Assign"] == {
        "keyPhrasesWait.$": "States.ArrayGetItem($keyPhrasesSchedule, $keyPhrasesPolls)"
    }
    assert states["WaitForJob"]["SecondsPath"] == "$keyPhrasesWait"
    assert states["DescribeJob"]["Assign"] == {
        "keyPhrasesPolls.$": "States.MathAdd($keyPhrasesPolls, 1)"
    }


def test_the_schedule_is_the_poll_schedules_waits_and_the_budget_ends_the_loop(states):
    waits = list(PollSchedule().waits)
    assert states["StartJob"]["Assign"] == {
        "keyPhrasesSchedule": waits,
        "keyPhrasesPolls": 0,
        "keyPhrasesWait": waits[0],
    }
    budget_rule = states["CheckJobStatus"]["Choices"][-1]
    assert budget_rule == {
        "Variable": "$keyPhrasesPolls",
        "NumericGreaterThanEquals": len(waits),
        "Next": "StopTimedOutJob",
    }


def test_terminal_statuses_route_to_their_states(states):
    choices = states["CheckJobStatus"]["Choices"][:-1]
    assert choices == [
        {"Variable": "$.job.JobStatus", "StringEquals": "COMPLETED", "Next": "JobCompleted"},
        {
            "And": [
                {"Variable": "$.job.JobStatus", "StringEquals": "FAILED"},
                {"Variable": "$.job.Message", "IsPresent": True},
            ],
            "Next": "JobFailed",
        },
        {
            "Variable": "$.job.JobStatus",
            "StringEquals": "FAILED",
            "Next": "JobFailedWithoutMessage",
        },
        {"Variable": "$.job.JobStatus", "StringEquals": "STOPPED", "Next": "JobStopped"},
    ]


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ("JobFailed", "KeyPhrasesJobFailed"),
        ("JobFailedWithoutMessage", "KeyPhrasesJobFailed"),
        ("JobStopped", "KeyPhrasesJobStopped"),
        ("JobTimedOut", "KeyPhrasesJobTimedOut"),
        ("PollingFailed", "KeyPhrasesPollingFailed"),
        ("InvalidLanguageCode", "InvalidExecutionInput"),
        ("InvalidInputFormat", "InvalidExecutionInput"),
        ("InvalidInputPrefix", "InvalidExecutionInput"),
        ("InvalidJobName", "InvalidExecutionInput"),
    ],
)
def test_fail_states_raise_the_documented_errors(states, state, error):
    assert states[state]["Error"] == error
    assert states[state]["CausePath"].startswith("States.Format(")


def test_failed_job_cause_carries_comprehends_message(states):
    assert states["JobFailed"]["CausePath"] == (
        "States.Format('Comprehend job {} failed: {}', $.job.JobId, $.job.Message)"
    )


@pytest.mark.parametrize(
    ("state", "action", "retried"),
    [
        ("StartJob", "startKeyPhrasesDetectionJob", THROTTLED_OR_INTERNAL),
        ("DescribeJob", "describeKeyPhrasesDetectionJob", THROTTLED_OR_INTERNAL),
        ("StopTimedOutJob", "stopKeyPhrasesDetectionJob", INTERNAL_ONLY),
        ("StopJobAfterError", "stopKeyPhrasesDetectionJob", INTERNAL_ONLY),
    ],
)
def test_every_comprehend_call_uses_the_sdk_integration_and_retries(states, state, action, retried):
    assert states[state]["Resource"] == SDK + action
    assert states[state]["Retry"] == [{"ErrorEquals": retried, **BACKOFF}]


def test_a_describe_that_keeps_failing_stops_the_job(states):
    assert states["DescribeJob"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StopJobAfterError"}
    ]
    assert states["StopJobAfterError"]["Next"] == "PollingFailed"


@pytest.mark.parametrize(
    ("stop", "then"), [("StopTimedOutJob", "JobTimedOut"), ("StopJobAfterError", "PollingFailed")]
)
def test_stopping_is_best_effort_and_always_ends_the_workflow(states, stop, then):
    assert states[stop]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": then}
    ]
    assert states[stop]["Parameters"] == {"JobId.$": "$.job.JobId"}


def test_start_parameters(states):
    assert states["StartJob"]["Parameters"] == {
        "InputDataConfig": {
            "S3Uri.$": "States.Format('{}{}', $.target.inputRoot, $.request.inputPrefix)",
            "InputFormat.$": "$.request.inputFormat",
        },
        "OutputDataConfig": {
            "S3Uri.$": "States.Format('{}{}/', $.target.outputRoot, $$.Execution.Name)",
        },
        "DataAccessRoleArn": "arn:aws:iam::123456789012:role/PipelineDataAccessRoleFE2C4842",
        "LanguageCode.$": "$.request.languageCode",
        "JobName.$": "$.request.jobName",
        "ClientRequestToken.$": (
            "States.Hash(States.Format('{}|{}|{}|{}|{}|{}|{}', $$.Execution.Id, "
            "$.target.inputRoot, $.target.outputRoot, $.request.inputPrefix, "
            "$.request.inputFormat, $.request.languageCode, $.request.jobName), 'SHA-256')"
        ),
    }


def test_defaults_come_from_the_props(states, byo_states):
    assert states["ApplyDefaults"]["Parameters"]["defaults"] == {
        "inputPrefix": "",
        "languageCode": "en",
        "inputFormat": "ONE_DOC_PER_LINE",
        "jobName.$": "States.Format('key-phrases-{}', $$.Execution.Name)",
    }
    assert byo_states["ApplyDefaults"]["Parameters"]["defaults"]["languageCode"] == "de"
    assert byo_states["ApplyDefaults"]["Parameters"]["defaults"]["inputFormat"] == (
        "ONE_DOC_PER_FILE"
    )


def test_targets_are_the_configured_buckets_and_prefixes(byo_states):
    assert byo_states["ApplyDefaults"]["Parameters"]["target"] == {
        "inputRoot": "s3://corp-documents/incoming/",
        "outputRoot": "s3://corp-key-phrases/key-phrases/",
    }


def test_input_overrides_defaults_field_by_field(states):
    assert states["ResolveRequest"]["Parameters"] == {
        "request.$": "States.JsonMerge($.defaults, $.input, false)",
        "target.$": "$.target",
    }


def test_success_output_is_the_documented_contract(states):
    assert states["JobCompleted"]["Parameters"] == {
        "jobId.$": "$.job.JobId",
        "jobArn.$": "$.job.JobArn",
        "jobStatus.$": "$.job.JobStatus",
        "inputS3Uri.$": "$.job.InputDataConfig.S3Uri",
        "outputS3Uri.$": "$.job.OutputDataConfig.S3Uri",
        "languageCode.$": "$.job.LanguageCode",
    }


def test_validation_rejects_every_unknown_language_and_format(states):
    language_rule, format_rule = states["ValidateRequest"]["Choices"][:2]
    assert [r["StringEquals"] for r in language_rule["Not"]["Or"]] == [
        "en",
        "es",
        "fr",
        "de",
        "it",
        "pt",
        "ar",
        "hi",
        "ja",
        "ko",
        "zh",
        "zh-TW",
    ]
    assert [r["StringEquals"] for r in format_rule["Not"]["Or"]] == [
        "ONE_DOC_PER_FILE",
        "ONE_DOC_PER_LINE",
    ]


def test_a_custom_schedule_is_what_the_definition_follows():
    stack = cdk.Stack(new_app(), "S")
    bucket = s3.Bucket(stack, "B")
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    schedule = PollSchedule(
        initial_interval=Duration.seconds(30),
        backoff_rate=2.0,
        max_interval=Duration.minutes(5),
        timeout=Duration.minutes(20),
    )
    workflow = KeyPhrasesWorkflow(
        stack,
        "W",
        input_bucket=bucket,
        output_bucket=bucket,
        data_access_role=role,
        poll_schedule=schedule,
    )
    start = stack.resolve(workflow.start_task.to_state_json())
    assert start["Assign"]["keyPhrasesSchedule"] == [30, 30, 60, 120, 240, 300, 300, 120]
    assert sum(schedule.waits) == 20 * 60


def test_fragment_chains_into_a_larger_state_machine():
    stack = cdk.Stack(new_app(), "S")
    bucket = s3.Bucket(stack, "B")
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    workflow = KeyPhrasesWorkflow(
        stack,
        "W",
        input_bucket=bucket,
        output_bucket=bucket,
        data_access_role=role,
        output_prefix="out/",
    )
    after = sfn.Pass(stack, "AfterKeyPhrases")
    sfn.StateMachine(
        stack,
        "Mine",
        definition_body=sfn.DefinitionBody.from_chainable(
            sfn.Pass(stack, "Before").next(workflow).next(after)
        ),
    )
    (definition,) = definitions_in(Template.from_stack(stack)).values()
    assert definition["StartAt"] == "Before"
    assert definition["States"]["Before"]["Next"] == "ApplyDefaults"
    assert definition["States"]["JobCompleted"]["Next"] == "AfterKeyPhrases"
