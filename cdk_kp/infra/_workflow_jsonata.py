"""The workflow's JSONata rendition: the same states, fields and errors as the JSONPath one, each
state declaring ``"QueryLanguage": "JSONata"`` itself, so that the fragment runs in a state
machine of either language (a JSONPath state machine may hold JSONata states; a JSONata one may
not hold JSONPath states)."""

from __future__ import annotations

import json

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp import contract
from cdk_kp.contract import INPUT_FORMAT, INPUT_PREFIX, JOB_NAME, LANGUAGE_CODE, JobStatus
from cdk_kp.infra._job import JobSpec, Rendition
from cdk_kp.infra._states import VAR_POLLS, VAR_SCHEDULE, VAR_WAIT, comprehend_call, start_job

JSONATA = sfn.QueryLanguage.JSONATA
#: The request, once ApplyDefaults has merged the defaults into the input.
REQUEST = "$states.input"
#: The job, as StartJob and DescribeJob leave it in the state.
JOB = "$states.input.job"


def _expr(text: str) -> str:
    return "{% " + text + " %}"


def _literal(value: object) -> str:
    """``value`` as a JSONata literal (JSON is one)."""
    return json.dumps(value)


def _json_of(path: str) -> str:
    """The value at ``path`` as JSON text, as ``States.JsonToString`` writes it in the JSONPath
    rendition (``"xx"`` for a string, ``7`` for a number)."""
    return f"$substring($string([{path}]), 1, $length($string([{path}])) - 2)"


def build_jsonata(scope: Construct, spec: JobSpec) -> Rendition:
    """Apply defaults, validate the request, start the job, poll it on the schedule, and end on
    its final status (stopping it when the budget is spent or polling fails)."""
    apply_defaults = sfn.Pass.jsonata(
        scope,
        "ApplyDefaults",
        comment="Defaults from the construct's props; the input overrides them field by field.",
        outputs=_expr(
            "$merge([{"
            f'"inputPrefix": "", "languageCode": {_literal(spec.language_code)}, '
            f'"inputFormat": {_literal(spec.input_format)}, '
            f'"jobName": {_literal(spec.job_name_prefix + "-")} & $states.context.Execution.Name'
            "}, $states.input])"
        ),
    )
    start = _start_job(scope, spec)
    wait = sfn.Wait.jsonata(scope, "WaitForJob", time=sfn.WaitTime.seconds(_expr(f"${VAR_WAIT}")))
    describe = comprehend_call(
        scope,
        "DescribeJob",
        "describeKeyPhrasesDetectionJob",
        query_language=JSONATA,
        iam_resources=spec.job_arns,
        parameters={"JobId": _expr(f"{JOB}.JobId")},
        outputs=_expr('{"job": $states.result.KeyPhrasesDetectionJobProperties}'),
        assign={VAR_POLLS: _expr(f"${VAR_POLLS} + 1")},
    )
    describe.add_catch(
        _stop_then_fail(
            scope,
            spec,
            "StopJobAfterError",
            contract.POLLING_FAILED,
            "PollingFailed",
            f"'Polling Comprehend job ' & {JOB}.JobId & ' failed with ' & "
            "$states.input.error.Error & ': ' & $states.input.error.Cause & "
            "'; a stop was requested'",
        ),
        errors=["States.ALL"],
        outputs=_expr('$merge([$states.input, {"error": $states.errorOutput}])'),
    )
    completed = sfn.Pass.jsonata(
        scope,
        "JobCompleted",
        outputs=_expr(
            f'{{"jobId": {JOB}.JobId, "jobArn": {JOB}.JobArn, "jobStatus": {JOB}.JobStatus, '
            f'"inputS3Uri": {JOB}.InputDataConfig.S3Uri, '
            f'"outputS3Uri": {JOB}.OutputDataConfig.S3Uri, "languageCode": {JOB}.LanguageCode}}'
        ),
    )
    job_status = _check_job_status(scope, spec, completed, wait)
    apply_defaults.next(_validate(scope, start))
    start.next(wait).next(describe).next(job_status)
    return Rendition(start=apply_defaults, end=completed, start_task=start, describe_task=describe)


def _validate(scope: Construct, start: sfn.IChainable) -> sfn.Choice:
    """The request's checks, each failing with ``InvalidExecutionInput`` naming the field."""
    prefix, name = f"{REQUEST}.inputPrefix", f"{REQUEST}.jobName"
    escapes = (
        f"$substring({prefix}, 0, 1) = '/' or {prefix} = '..' or "
        f"$substring({prefix}, 0, 3) = '../' or $contains({prefix}, '/../') or "
        f"$substring({prefix}, -3) = '/..'"
    )
    checks = [
        (
            "InvalidLanguageCode",
            "languageCode",
            f"must be one of {', '.join(contract.LANGUAGE_CODES)}",
            f"$not({REQUEST}.languageCode in {_literal(list(contract.LANGUAGE_CODES))})",
        ),
        (
            "InvalidInputFormat",
            "inputFormat",
            f"must be one of {', '.join(contract.INPUT_FORMATS)}",
            f"$not({REQUEST}.inputFormat in {_literal(list(contract.INPUT_FORMATS))})",
        ),
        (
            "InvalidInputPrefix",
            "inputPrefix",
            "must be a key prefix relative to the configured input prefix, "
            "with no leading slash and no .. segment",
            f"$type({prefix}) != 'string' ? true : ({escapes})",
        ),
        (
            "InvalidJobName",
            "jobName",
            "must be a non-empty string",
            f"$type({name}) != 'string' ? true : {name} = ''",
        ),
    ]
    choice = sfn.Choice.jsonata(scope, "ValidateRequest")
    for state_id, field, expectation, condition in checks:
        choice.when(
            sfn.Condition.jsonata(_expr(condition)),
            sfn.Fail.jsonata(
                scope,
                state_id,
                error=contract.INVALID_INPUT,
                cause=_expr(f"'{field} {expectation}; got ' & {_json_of(f'{REQUEST}.{field}')}"),
            ),
        )
    return choice.otherwise(start)


def _start_job(scope: Construct, spec: JobSpec) -> tasks.CallAwsService:
    output = {
        "S3Uri": _expr(f"{_literal(spec.output_root)} & $states.context.Execution.Name & '/'")
    }
    if spec.output_key_arn is not None:
        output["KmsKeyId"] = spec.output_key_arn
    token_parts = ", ".join(
        [
            "$states.context.Execution.Id",
            _literal(spec.input_root),
            _literal(spec.output_root),
            *(f"{REQUEST}.{f}" for f in (INPUT_PREFIX, INPUT_FORMAT, LANGUAGE_CODE, JOB_NAME)),
        ]
    )
    return start_job(
        scope,
        spec,
        {
            "InputDataConfig": {
                "S3Uri": _expr(f"{_literal(spec.input_root)} & {REQUEST}.{INPUT_PREFIX}"),
                "InputFormat": _expr(f"{REQUEST}.{INPUT_FORMAT}"),
            },
            "OutputDataConfig": output,
            "DataAccessRoleArn": spec.role_arn,
            "LanguageCode": _expr(f"{REQUEST}.{LANGUAGE_CODE}"),
            "JobName": _expr(f"{REQUEST}.{JOB_NAME}"),
            # The same string the JSONPath rendition hashes: the same token for the same request.
            "ClientRequestToken": _expr(f"$hash($join([{token_parts}], '|'), 'SHA-256')"),
        },
        query_language=JSONATA,
        outputs=_expr(
            '{"job": {"JobId": $states.result.JobId, "JobArn": $states.result.JobArn, '
            '"JobStatus": $states.result.JobStatus}}'
        ),
    )


def _stop_then_fail(
    scope: Construct, spec: JobSpec, stop_id: str, error: str, fail_id: str, cause: str
) -> tasks.CallAwsService:
    """Stop the job (best effort: whatever Stop answers), then fail with ``error``."""
    failed = sfn.Fail.jsonata(scope, fail_id, error=error, cause=_expr(cause))
    stop = comprehend_call(
        scope,
        stop_id,
        "stopKeyPhrasesDetectionJob",
        query_language=JSONATA,
        iam_resources=spec.job_arns,
        parameters={"JobId": _expr(f"{JOB}.JobId")},
        outputs=_expr("$states.input"),
    )
    stop.add_catch(failed, errors=["States.ALL"], outputs=_expr("$states.input"))
    stop.next(failed)
    return stop


def _check_job_status(
    scope: Construct, spec: JobSpec, completed: sfn.IChainable, wait: sfn.IChainable
) -> sfn.Choice:
    status = f"{JOB}.JobStatus"
    timed_out = _stop_then_fail(
        scope,
        spec,
        "StopTimedOutJob",
        contract.JOB_TIMED_OUT,
        "JobTimedOut",
        f"'Comprehend job ' & {JOB}.JobId & ' was still running after the {spec.budget} s "
        "budget; a stop was requested'",
    )

    def fail(state_id: str, error: str, cause: str) -> sfn.Fail:
        return sfn.Fail.jsonata(scope, state_id, error=error, cause=_expr(cause))

    return (
        sfn.Choice.jsonata(
            scope,
            "CheckJobStatus",
            comment="Still running (or a status this version does not know): wait the next "
            "interval of the schedule, unless the budget is spent.",
            # A Choice state's own Assign applies when it takes its Default branch.
            assign={VAR_WAIT: _expr(f"${VAR_SCHEDULE}[${VAR_POLLS}]")},
        )
        .when(sfn.Condition.jsonata(_expr(f"{status} = '{JobStatus.COMPLETED.value}'")), completed)
        .when(
            sfn.Condition.jsonata(
                _expr(f"{status} = '{JobStatus.FAILED.value}' and $exists({JOB}.Message)")
            ),
            fail(
                "JobFailed",
                contract.JOB_FAILED,
                f"'Comprehend job ' & {JOB}.JobId & ' failed: ' & {JOB}.Message",
            ),
        )
        .when(
            sfn.Condition.jsonata(_expr(f"{status} = '{JobStatus.FAILED.value}'")),
            fail(
                "JobFailedWithoutMessage",
                contract.JOB_FAILED,
                f"'Comprehend job ' & {JOB}.JobId & ' failed without a message'",
            ),
        )
        .when(
            sfn.Condition.jsonata(_expr(f"{status} = '{JobStatus.STOPPED.value}'")),
            fail(
                "JobStopped",
                contract.JOB_STOPPED,
                f"'Comprehend job ' & {JOB}.JobId & ' was stopped'",
            ),
        )
        .when(
            sfn.Condition.jsonata(_expr(f"${VAR_POLLS} >= {len(spec.waits)}")),
            timed_out,
        )
        .otherwise(wait)
    )
