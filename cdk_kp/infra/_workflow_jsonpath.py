"""The workflow's JSONPath rendition: the states a KeyPhrasesWorkflow runs in a JSONPath state
machine (the default, and what KeyPhrasesPipeline runs)."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp.contract import (
    INPUT_FORMAT,
    INPUT_PREFIX,
    INPUT_S3_URI,
    JOB_ARN,
    JOB_FAILED,
    JOB_ID,
    JOB_NAME,
    JOB_STATUS,
    JOB_STOPPED,
    JOB_TIMED_OUT,
    LANGUAGE_CODE,
    OUTPUT_S3_URI,
    POLLING_FAILED,
    JobStatus,
)
from cdk_kp.infra._job import JobSpec, Rendition
from cdk_kp.infra._states import (
    VAR_POLLS,
    VAR_SCHEDULE,
    VAR_WAIT,
    check_language_and_format,
    comprehend_call,
    escapes_its_root,
    invalid_field,
    start_job,
)

#: The request, once ResolveRequest has merged the defaults into the input.
REQUEST = "$.request"
#: The job, as StartJob and DescribeJob leave it in the state.
JOB = "$.job"


def build_jsonpath(scope: Construct, spec: JobSpec) -> Rendition:
    """Apply defaults, validate the request, start the job, poll it on the schedule, and end on
    its final status (stopping it when the budget is spent or polling fails)."""
    apply_defaults = _apply_defaults(scope, spec)
    resolve_request = sfn.Pass(
        scope,
        "ResolveRequest",
        parameters={
            "request": sfn.JsonPath.json_merge(
                sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$.input")
            ),
            "target": sfn.JsonPath.object_at("$.target"),
        },
    )
    validate = _validate(scope)
    start = _start_job(scope, spec)
    wait = sfn.Wait(scope, "WaitForJob", time=sfn.WaitTime.seconds_path(f"${VAR_WAIT}"))
    describe = comprehend_call(
        scope,
        "DescribeJob",
        "describeKeyPhrasesDetectionJob",
        iam_resources=spec.job_arns,
        parameters={"JobId": sfn.JsonPath.string_at(f"{JOB}.JobId")},
        result_selector={"job": sfn.JsonPath.object_at("$.KeyPhrasesDetectionJobProperties")},
        assign={f"{VAR_POLLS}.$": f"States.MathAdd(${VAR_POLLS}, 1)"},
    )
    stop_timed_out = _stop_then_fail(
        scope,
        spec,
        "StopTimedOutJob",
        sfn.Fail(
            scope,
            "JobTimedOut",
            error=JOB_TIMED_OUT,
            cause_path=sfn.JsonPath.format(
                f"Comprehend job {{}} was still running after the {spec.budget} s budget; "
                "a stop was requested",
                sfn.JsonPath.string_at(f"{JOB}.JobId"),
            ),
        ),
    )
    describe.add_catch(
        _after_polling_error(scope, spec), errors=["States.ALL"], result_path="$.error"
    )
    completed = _completed(scope)
    job_status = _check_job_status(scope, spec, completed, stop_timed_out, wait)
    apply_defaults.next(resolve_request).next(validate)
    validate.otherwise(start)
    start.next(wait).next(describe).next(job_status)
    return Rendition(start=apply_defaults, end=completed, start_task=start, describe_task=describe)


def _apply_defaults(scope: Construct, spec: JobSpec) -> sfn.Pass:
    """The props' defaults, the input and the job's S3 roots, side by side for the merge."""
    return sfn.Pass(
        scope,
        "ApplyDefaults",
        comment="Defaults from the construct's props; the input overrides them field by field.",
        parameters={
            "defaults": {
                INPUT_PREFIX: "",
                LANGUAGE_CODE: spec.language_code,
                INPUT_FORMAT: spec.input_format,
                JOB_NAME: sfn.JsonPath.format(
                    f"{spec.job_name_prefix}-{{}}", sfn.JsonPath.string_at("$$.Execution.Name")
                ),
            },
            "input": sfn.JsonPath.entire_payload,
            "target": {
                "inputRoot": spec.input_root,
                "outputRoot": spec.output_root,
            },
        },
    )


def _validate(scope: Construct) -> sfn.Choice:
    """The request's checks, each failing with ``InvalidExecutionInput`` naming the field."""
    prefix = f"{REQUEST}.{INPUT_PREFIX}"
    name = f"{REQUEST}.{JOB_NAME}"
    return (
        check_language_and_format(scope, sfn.Choice(scope, "ValidateRequest"))
        .when(
            sfn.Condition.or_(
                sfn.Condition.not_(sfn.Condition.is_string(prefix)), *escapes_its_root(prefix)
            ),
            invalid_field(
                scope,
                "InvalidInputPrefix",
                INPUT_PREFIX,
                "must be a key prefix relative to the configured input prefix, "
                "with no leading slash and no .. segment",
            ),
        )
        .when(
            sfn.Condition.or_(
                sfn.Condition.not_(sfn.Condition.is_string(name)),
                sfn.Condition.string_equals(name, ""),
            ),
            invalid_field(scope, "InvalidJobName", JOB_NAME, "must be a non-empty string"),
        )
    )


def _start_job(scope: Construct, spec: JobSpec) -> tasks.CallAwsService:
    """StartKeyPhrasesDetectionJob with an idempotency token, and the poll schedule assigned."""
    output_config: dict[str, Any] = {
        "S3Uri": sfn.JsonPath.format(
            "{}{}/",
            sfn.JsonPath.string_at("$.target.outputRoot"),
            sfn.JsonPath.string_at("$$.Execution.Name"),
        ),
    }
    if spec.output_key_arn is not None:
        output_config["KmsKeyId"] = spec.output_key_arn
    return start_job(
        scope,
        spec,
        {
            "InputDataConfig": {
                "S3Uri": sfn.JsonPath.format(
                    "{}{}",
                    sfn.JsonPath.string_at("$.target.inputRoot"),
                    sfn.JsonPath.string_at(f"{REQUEST}.{INPUT_PREFIX}"),
                ),
                "InputFormat": sfn.JsonPath.string_at(f"{REQUEST}.{INPUT_FORMAT}"),
            },
            "OutputDataConfig": output_config,
            "DataAccessRoleArn": spec.role_arn,
            "LanguageCode": sfn.JsonPath.string_at(f"{REQUEST}.{LANGUAGE_CODE}"),
            "JobName": sfn.JsonPath.string_at(f"{REQUEST}.{JOB_NAME}"),
            "ClientRequestToken": _request_token(),
        },
        result_selector={
            "job": {
                "JobId": sfn.JsonPath.string_at("$.JobId"),
                "JobArn": sfn.JsonPath.string_at("$.JobArn"),
                "JobStatus": sfn.JsonPath.string_at("$.JobStatus"),
            }
        },
    )


def _request_token() -> str:
    """A hash of the execution and exactly what the job is asked to do (not the rest of the
    input, which could pass States.Hash's 10,000-character limit)."""
    return sfn.JsonPath.hash(
        sfn.JsonPath.format(
            "{}|{}|{}|{}|{}|{}|{}",
            sfn.JsonPath.string_at("$$.Execution.Id"),
            sfn.JsonPath.string_at("$.target.inputRoot"),
            sfn.JsonPath.string_at("$.target.outputRoot"),
            *(
                sfn.JsonPath.string_at(f"{REQUEST}.{field}")
                for field in (INPUT_PREFIX, INPUT_FORMAT, LANGUAGE_CODE, JOB_NAME)
            ),
        ),
        "SHA-256",
    )


def _stop_then_fail(
    scope: Construct, spec: JobSpec, stop_id: str, failed: sfn.Fail
) -> tasks.CallAwsService:
    """Stop the job, then fail with ``failed``. Stopping is best effort: whatever Stop answers
    (the job already ended, or Stop itself failed), the workflow fails with the error that sent
    it here."""
    stop = comprehend_call(
        scope,
        stop_id,
        "stopKeyPhrasesDetectionJob",
        iam_resources=spec.job_arns,
        parameters={"JobId": sfn.JsonPath.string_at(f"{JOB}.JobId")},
        result_path=sfn.JsonPath.DISCARD,
    )
    stop.add_catch(failed, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
    stop.next(failed)
    return stop


def _after_polling_error(scope: Construct, spec: JobSpec) -> tasks.CallAwsService:
    """Where DescribeJob goes when it fails for good: stop the job, fail with
    ``KeyPhrasesPollingFailed``, the original error and cause in the cause."""
    polling_error = sfn.Fail(
        scope,
        "PollingFailed",
        error=POLLING_FAILED,
        cause_path=sfn.JsonPath.format(
            "Polling Comprehend job {} failed with {}: {}; a stop was requested",
            sfn.JsonPath.string_at(f"{JOB}.JobId"),
            sfn.JsonPath.string_at("$.error.Error"),
            sfn.JsonPath.string_at("$.error.Cause"),
        ),
    )
    return _stop_then_fail(scope, spec, "StopJobAfterError", polling_error)


def _completed(scope: Construct) -> sfn.Pass:
    """The documented output of a completed job."""
    return sfn.Pass(
        scope,
        "JobCompleted",
        parameters={
            JOB_ID: sfn.JsonPath.string_at(f"{JOB}.JobId"),
            JOB_ARN: sfn.JsonPath.string_at(f"{JOB}.JobArn"),
            JOB_STATUS: sfn.JsonPath.string_at(f"{JOB}.JobStatus"),
            INPUT_S3_URI: sfn.JsonPath.string_at(f"{JOB}.InputDataConfig.S3Uri"),
            OUTPUT_S3_URI: sfn.JsonPath.string_at(f"{JOB}.OutputDataConfig.S3Uri"),
            LANGUAGE_CODE: sfn.JsonPath.string_at(f"{JOB}.LanguageCode"),
        },
    )


def _job_fail(scope: Construct, state_id: str, error: str, cause: str, *paths: str) -> sfn.Fail:
    """A Fail whose cause is ``cause`` with the job's ID and the values at ``paths``."""
    return sfn.Fail(
        scope,
        state_id,
        error=error,
        cause_path=sfn.JsonPath.format(
            cause, *(sfn.JsonPath.string_at(p) for p in (f"{JOB}.JobId", *paths))
        ),
    )


def _check_job_status(
    scope: Construct,
    spec: JobSpec,
    completed: sfn.IChainable,
    stop_timed_out: sfn.IChainable,
    wait: sfn.IChainable,
) -> sfn.Choice:
    """On to the output, a failure, a stop when the budget is spent, or the next wait."""
    status = f"{JOB}.JobStatus"
    failed = sfn.Condition.string_equals(status, JobStatus.FAILED.value)
    return (
        sfn.Choice(
            scope,
            "CheckJobStatus",
            comment="Still running (or a status this version does not know): wait the next "
            "interval of the schedule, unless the budget is spent.",
            # A Choice state's own Assign applies when it takes its Default branch.
            assign={f"{VAR_WAIT}.$": f"States.ArrayGetItem(${VAR_SCHEDULE}, ${VAR_POLLS})"},
        )
        .when(sfn.Condition.string_equals(status, JobStatus.COMPLETED.value), completed)
        .when(
            sfn.Condition.and_(failed, sfn.Condition.is_present(f"{JOB}.Message")),
            _job_fail(
                scope, "JobFailed", JOB_FAILED, "Comprehend job {} failed: {}", f"{JOB}.Message"
            ),
        )
        .when(
            failed,
            _job_fail(
                scope,
                "JobFailedWithoutMessage",
                JOB_FAILED,
                "Comprehend job {} failed without a message",
            ),
        )
        .when(
            sfn.Condition.string_equals(status, JobStatus.STOPPED.value),
            _job_fail(scope, "JobStopped", JOB_STOPPED, "Comprehend job {} was stopped"),
        )
        .when(
            sfn.Condition.number_greater_than_equals(f"${VAR_POLLS}", len(spec.waits)),
            stop_timed_out,
        )
        .otherwise(wait)
    )
