"""The workflow's JSONPath rendition: the states a KeyPhrasesWorkflow runs in a JSONPath state
machine (the default, and what KeyPhrasesPipeline runs)."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp.contract import JOB_FAILED, JOB_STOPPED, JOB_TIMED_OUT, POLLING_FAILED
from cdk_kp.infra._job import JobSpec, Rendition
from cdk_kp.infra._states import (
    FINAL_FAILED,
    FINAL_OK,
    FINAL_STOPPED,
    VAR_POLLS,
    VAR_SCHEDULE,
    VAR_WAIT,
    check_language_and_format,
    comprehend_call,
    escapes_its_root,
    invalid_field,
)


def build_jsonpath(scope: Construct, spec: JobSpec) -> Rendition:
    """Apply defaults, validate the request, start the job, poll it on the schedule, and end on
    its final status (stopping it when the budget is spent or polling fails)."""
    apply_defaults = sfn.Pass(
        scope,
        "ApplyDefaults",
        comment="Defaults from the construct's props; the input overrides them field by field.",
        parameters={
            "defaults": {
                "inputPrefix": "",
                "languageCode": spec.language_code,
                "inputFormat": spec.input_format,
                "jobName": sfn.JsonPath.format(
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

    prefix = "$.request.inputPrefix"
    validate = (
        check_language_and_format(scope, sfn.Choice(scope, "ValidateRequest"))
        .when(
            sfn.Condition.or_(
                sfn.Condition.not_(sfn.Condition.is_string(prefix)), *escapes_its_root(prefix)
            ),
            invalid_field(
                scope,
                "InvalidInputPrefix",
                "inputPrefix",
                "must be a key prefix relative to the configured input prefix, "
                "with no leading slash and no .. segment",
            ),
        )
        .when(
            sfn.Condition.or_(
                sfn.Condition.not_(sfn.Condition.is_string("$.request.jobName")),
                sfn.Condition.string_equals("$.request.jobName", ""),
            ),
            invalid_field(scope, "InvalidJobName", "jobName", "must be a non-empty string"),
        )
    )

    output_config: dict[str, Any] = {
        "S3Uri": sfn.JsonPath.format(
            "{}{}/",
            sfn.JsonPath.string_at("$.target.outputRoot"),
            sfn.JsonPath.string_at("$$.Execution.Name"),
        ),
    }
    if spec.output_key_arn is not None:
        output_config["KmsKeyId"] = spec.output_key_arn

    start = comprehend_call(
        scope,
        "StartJob",
        "startKeyPhrasesDetectionJob",
        conditions=spec.start_conditions,
        comment="The token is a hash of the execution and the request: a retried or "
        "redriven start returns the job the first attempt created.",
        iam_resources=spec.job_arns,
        additional_iam_statements=spec.start_statements,
        parameters={
            "InputDataConfig": {
                "S3Uri": sfn.JsonPath.format(
                    "{}{}",
                    sfn.JsonPath.string_at("$.target.inputRoot"),
                    sfn.JsonPath.string_at("$.request.inputPrefix"),
                ),
                "InputFormat": sfn.JsonPath.string_at("$.request.inputFormat"),
            },
            "OutputDataConfig": output_config,
            "DataAccessRoleArn": spec.role_arn,
            "LanguageCode": sfn.JsonPath.string_at("$.request.languageCode"),
            "JobName": sfn.JsonPath.string_at("$.request.jobName"),
            # The execution and exactly what the job is asked to do (not the rest of the
            # input, which could pass States.Hash's 10,000-character limit).
            "ClientRequestToken": sfn.JsonPath.hash(
                sfn.JsonPath.format(
                    "{}|{}|{}|{}|{}|{}|{}",
                    sfn.JsonPath.string_at("$$.Execution.Id"),
                    sfn.JsonPath.string_at("$.target.inputRoot"),
                    sfn.JsonPath.string_at("$.target.outputRoot"),
                    sfn.JsonPath.string_at("$.request.inputPrefix"),
                    sfn.JsonPath.string_at("$.request.inputFormat"),
                    sfn.JsonPath.string_at("$.request.languageCode"),
                    sfn.JsonPath.string_at("$.request.jobName"),
                ),
                "SHA-256",
            ),
            **spec.extra_parameters,
        },
        result_selector={
            "job": {
                "JobId": sfn.JsonPath.string_at("$.JobId"),
                "JobArn": sfn.JsonPath.string_at("$.JobArn"),
                "JobStatus": sfn.JsonPath.string_at("$.JobStatus"),
            }
        },
        assign={VAR_SCHEDULE: list(spec.waits), VAR_POLLS: 0, VAR_WAIT: spec.waits[0]},
    )

    wait = sfn.Wait(scope, "WaitForJob", time=sfn.WaitTime.seconds_path(f"${VAR_WAIT}"))
    describe = comprehend_call(
        scope,
        "DescribeJob",
        "describeKeyPhrasesDetectionJob",
        iam_resources=spec.job_arns,
        parameters={"JobId": sfn.JsonPath.string_at("$.job.JobId")},
        result_selector={"job": sfn.JsonPath.object_at("$.KeyPhrasesDetectionJobProperties")},
        assign={f"{VAR_POLLS}.$": f"States.MathAdd(${VAR_POLLS}, 1)"},
    )

    def stop_job(state_id: str) -> tasks.CallAwsService:
        return comprehend_call(
            scope,
            state_id,
            "stopKeyPhrasesDetectionJob",
            iam_resources=spec.job_arns,
            parameters={"JobId": sfn.JsonPath.string_at("$.job.JobId")},
            result_path=sfn.JsonPath.DISCARD,
        )

    timed_out = sfn.Fail(
        scope,
        "JobTimedOut",
        error=JOB_TIMED_OUT,
        cause_path=sfn.JsonPath.format(
            f"Comprehend job {{}} was still running after the {spec.budget} s budget; "
            "a stop was requested",
            sfn.JsonPath.string_at("$.job.JobId"),
        ),
    )
    stop_timed_out = stop_job("StopTimedOutJob")
    # Stopping is best effort: whatever Stop answers (the job already ended, or Stop itself
    # failed), the workflow fails with the error that sent it here.
    stop_timed_out.add_catch(timed_out, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
    stop_timed_out.next(timed_out)

    polling_error = sfn.Fail(
        scope,
        "PollingFailed",
        error=POLLING_FAILED,
        cause_path=sfn.JsonPath.format(
            "Polling Comprehend job {} failed with {}: {}; a stop was requested",
            sfn.JsonPath.string_at("$.job.JobId"),
            sfn.JsonPath.string_at("$.error.Error"),
            sfn.JsonPath.string_at("$.error.Cause"),
        ),
    )
    stop_after_error = stop_job("StopJobAfterError")
    stop_after_error.add_catch(
        polling_error, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD
    )
    stop_after_error.next(polling_error)
    describe.add_catch(stop_after_error, errors=["States.ALL"], result_path="$.error")

    completed = sfn.Pass(
        scope,
        "JobCompleted",
        parameters={
            "jobId": sfn.JsonPath.string_at("$.job.JobId"),
            "jobArn": sfn.JsonPath.string_at("$.job.JobArn"),
            "jobStatus": sfn.JsonPath.string_at("$.job.JobStatus"),
            "inputS3Uri": sfn.JsonPath.string_at("$.job.InputDataConfig.S3Uri"),
            "outputS3Uri": sfn.JsonPath.string_at("$.job.OutputDataConfig.S3Uri"),
            "languageCode": sfn.JsonPath.string_at("$.job.LanguageCode"),
        },
    )
    status = "$.job.JobStatus"
    job_status = (
        sfn.Choice(
            scope,
            "CheckJobStatus",
            comment="Still running (or a status this version does not know): wait the next "
            "interval of the schedule, unless the budget is spent.",
            # A Choice state's own Assign applies when it takes its Default branch.
            assign={f"{VAR_WAIT}.$": f"States.ArrayGetItem(${VAR_SCHEDULE}, ${VAR_POLLS})"},
        )
        .when(sfn.Condition.string_equals(status, FINAL_OK), completed)
        .when(
            sfn.Condition.and_(
                sfn.Condition.string_equals(status, FINAL_FAILED),
                sfn.Condition.is_present("$.job.Message"),
            ),
            sfn.Fail(
                scope,
                "JobFailed",
                error=JOB_FAILED,
                cause_path=sfn.JsonPath.format(
                    "Comprehend job {} failed: {}",
                    sfn.JsonPath.string_at("$.job.JobId"),
                    sfn.JsonPath.string_at("$.job.Message"),
                ),
            ),
        )
        .when(
            sfn.Condition.string_equals(status, FINAL_FAILED),
            sfn.Fail(
                scope,
                "JobFailedWithoutMessage",
                error=JOB_FAILED,
                cause_path=sfn.JsonPath.format(
                    "Comprehend job {} failed without a message",
                    sfn.JsonPath.string_at("$.job.JobId"),
                ),
            ),
        )
        .when(
            sfn.Condition.string_equals(status, FINAL_STOPPED),
            sfn.Fail(
                scope,
                "JobStopped",
                error=JOB_STOPPED,
                cause_path=sfn.JsonPath.format(
                    "Comprehend job {} was stopped", sfn.JsonPath.string_at("$.job.JobId")
                ),
            ),
        )
        .when(
            sfn.Condition.number_greater_than_equals(f"${VAR_POLLS}", len(spec.waits)),
            stop_timed_out,
        )
        .otherwise(wait)
    )

    apply_defaults.next(resolve_request).next(validate)
    validate.otherwise(start)
    start.next(wait).next(describe).next(job_status)

    return Rendition(start=apply_defaults, end=completed, start_task=start, describe_task=describe)
