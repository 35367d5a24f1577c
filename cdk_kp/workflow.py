"""The key phrase workflow: validate the request, start the job, poll it to the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp._endpoints import warn_unless_comprehend_offered
from cdk_kp._validation import (
    INPUT_FORMATS,
    INPUT_PREFIX_MAX_LENGTH,
    LANGUAGE_CODES,
    OUTPUT_PREFIX_MAX_LENGTH,
    bucket_problems,
    choice_problems,
    job_name_prefix_problems,
    key_prefix_problems,
    key_problems,
    raise_problems,
    role_problems,
    tags_problems,
)
from cdk_kp.compliance import JOB_ARNS, acknowledge_wildcard
from cdk_kp.contract import (  # the error names a caller can catch
    INVALID_INPUT,
    JOB_FAILED,
    JOB_STOPPED,
    JOB_TIMED_OUT,
    POLLING_FAILED,
)
from cdk_kp.data_access_role import COMPREHEND_PRINCIPAL, key_phrases_job_arn
from cdk_kp.schedule import PollSchedule

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

    from cdk_kp.network import JobNetwork


#: Errors worth another try, per Comprehend operation: throttling and internal errors, as far
#: as the operation can raise them (botocore's model lists no throttling for Stop).
THROTTLED = "Comprehend.TooManyRequestsException"
INTERNAL_ERROR = "Comprehend.InternalServerException"
RETRYABLE_ERRORS: dict[str, tuple[str, ...]] = {
    "startKeyPhrasesDetectionJob": (THROTTLED, INTERNAL_ERROR),
    "describeKeyPhrasesDetectionJob": (THROTTLED, INTERNAL_ERROR),
    "stopKeyPhrasesDetectionJob": (INTERNAL_ERROR,),
    "listKeyPhrasesDetectionJobs": (THROTTLED, INTERNAL_ERROR),
}
#: The retry settings of every Comprehend call, and the longest a call can spend retrying.
RETRY_INTERVAL_SECONDS = 2
RETRY_BACKOFF_RATE = 2.0
RETRY_MAX_ATTEMPTS = 6
RETRY_MAX_DELAY_SECONDS = 60
MAX_RETRY_SECONDS = sum(
    min(RETRY_MAX_DELAY_SECONDS, RETRY_INTERVAL_SECONDS * RETRY_BACKOFF_RATE**attempt)
    for attempt in range(RETRY_MAX_ATTEMPTS)
)

#: Workflow variables the fragment owns. They are assigned by the start task before they are
#: read, so running the fragment twice in one scope is safe; do not assign them yourself. A Map
#: or Parallel branch cannot assign a variable of its enclosing scope, so the fragment cannot run
#: both inside such a branch and outside it in one state machine.
VAR_SCHEDULE = "keyPhrasesSchedule"
VAR_POLLS = "keyPhrasesPolls"
VAR_WAIT = "keyPhrasesWait"

#: Job statuses of the API.
FINAL_OK = "COMPLETED"
FINAL_FAILED = "FAILED"
FINAL_STOPPED = "STOPPED"


class _ConditionedCallAwsService(tasks.CallAwsService):
    """A CallAwsService whose own IAM statement carries conditions (CallAwsService has no prop
    for them; its statement is the first of its protected ``taskPolicies``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        conditions: Mapping[str, Mapping[str, Any]],
        **props: Any,
    ) -> None:
        super().__init__(scope, construct_id, **props)
        assert self._task_policies, "CallAwsService always has its own statement"
        own_statement = self._task_policies[0]
        for operator, condition in conditions.items():
            own_statement.add_condition(operator, dict(condition))


def comprehend_call(
    scope: Construct,
    state_id: str,
    action: str,
    *,
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
    **props: Any,
) -> tasks.CallAwsService:
    """A Comprehend SDK task that retries its retryable errors with exponential backoff (2 s
    doubling, at most 60 s, six retries) and full jitter; ``conditions`` go on its own IAM
    statement."""
    state = _ConditionedCallAwsService(
        scope,
        state_id,
        conditions=conditions or {},
        service="comprehend",
        action=action,
        iam_action="comprehend:" + action[0].upper() + action[1:],
        **props,
    )
    state.add_retry(
        errors=list(RETRYABLE_ERRORS[action]),
        interval=Duration.seconds(RETRY_INTERVAL_SECONDS),
        backoff_rate=RETRY_BACKOFF_RATE,
        max_attempts=RETRY_MAX_ATTEMPTS,
        max_delay=Duration.seconds(RETRY_MAX_DELAY_SECONDS),
        jitter_strategy=sfn.JitterType.FULL,
    )
    return state


def one_of(path: str, values: tuple[str, ...]) -> sfn.Condition:
    """The string at ``path`` is one of ``values``."""
    return sfn.Condition.or_(*(sfn.Condition.string_equals(path, v) for v in values))


def invalid_field(scope: Construct, state_id: str, field: str, expectation: str) -> sfn.Fail:
    """A Fail with ``InvalidExecutionInput`` whose cause names ``$.request.<field>``, what it
    must be, and the value it has."""
    # JsonToString shows the value as JSON whatever its type (string, number, object, null).
    cause = sfn.JsonPath.format(
        f"{field} {expectation}; got {{}}",
        sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(f"$.request.{field}")),
    )
    return sfn.Fail(scope, state_id, error=INVALID_INPUT, cause_path=cause)


def escapes_its_root(path: str) -> list[sfn.Condition]:
    """The key at ``path`` is absolute or has a ``..`` segment (it is a string)."""
    return [
        sfn.Condition.string_matches(path, "/*"),
        sfn.Condition.string_equals(path, ".."),
        sfn.Condition.string_matches(path, "../*"),
        sfn.Condition.string_matches(path, "*/../*"),
        sfn.Condition.string_matches(path, "*/.."),
    ]


def check_language_and_format(scope: Construct, choice: sfn.Choice) -> sfn.Choice:
    """Add to ``choice`` the checks of ``$.request.languageCode`` and ``$.request.inputFormat``,
    each failing with ``InvalidExecutionInput`` (states ``InvalidLanguageCode`` and
    ``InvalidInputFormat`` in ``scope``)."""
    return choice.when(
        sfn.Condition.not_(one_of("$.request.languageCode", LANGUAGE_CODES)),
        invalid_field(
            scope,
            "InvalidLanguageCode",
            "languageCode",
            f"must be one of {', '.join(LANGUAGE_CODES)}",
        ),
    ).when(
        sfn.Condition.not_(one_of("$.request.inputFormat", INPUT_FORMATS)),
        invalid_field(
            scope,
            "InvalidInputFormat",
            "inputFormat",
            f"must be one of {', '.join(INPUT_FORMATS)}",
        ),
    )


class KeyPhrasesWorkflow(sfn.StateMachineFragment):
    """Start an asynchronous key phrase detection job and poll it until it ends.

    A chainable fragment, so it can run inside any JSONPath state machine. It reads its request
    from the state input (every field optional, defaults from the props)::

        {"inputPrefix": "batch-1/", "languageCode": "en",
         "inputFormat": "ONE_DOC_PER_LINE", "jobName": "my-job"}

    and on success outputs::

        {"jobId", "jobArn", "jobStatus": "COMPLETED", "inputS3Uri", "outputS3Uri", "languageCode"}

    It fails with ``InvalidExecutionInput`` before any job starts when the request is invalid,
    ``KeyPhrasesJobFailed`` (Comprehend's message in the cause), ``KeyPhrasesJobStopped``,
    or ``KeyPhrasesJobTimedOut`` once ``poll_schedule.timeout`` is spent (the job is stopped
    first). If polling fails for any other reason (Describe still failing after its retries)
    the job is stopped and the fragment fails with ``KeyPhrasesPollingFailed``, the original
    error and cause in its cause.

    The state machine that runs it needs no extra permissions: the fragment's tasks add them
    (Start, Describe and Stop on key phrase jobs only; ``iam:PassRole`` on the data-access role,
    only to Comprehend).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        input_bucket: s3.IBucket,
        output_bucket: s3.IBucket,
        data_access_role: iam.IRole,
        input_prefix: str = "",
        output_prefix: str = "",
        language_code: str = "en",
        input_format: str = "ONE_DOC_PER_LINE",
        job_name_prefix: str = "key-phrases",
        poll_schedule: PollSchedule | None = None,
        output_encryption_key: kms.IKey | None = None,
        volume_encryption_key: kms.IKey | None = None,
        network: JobNetwork | None = None,
        job_tags: Mapping[str, str] | None = None,
    ) -> None:
        job_tags = dict(sorted((job_tags or {}).items()))
        raise_problems(
            [
                *bucket_problems("input_bucket", input_bucket, scope),
                *bucket_problems("output_bucket", output_bucket, scope),
                *role_problems("data_access_role", data_access_role, scope),
                *key_prefix_problems("input_prefix", input_prefix, INPUT_PREFIX_MAX_LENGTH),
                *key_prefix_problems("output_prefix", output_prefix, OUTPUT_PREFIX_MAX_LENGTH),
                *choice_problems("language_code", language_code, LANGUAGE_CODES),
                *choice_problems("input_format", input_format, INPUT_FORMATS),
                *job_name_prefix_problems("job_name_prefix", job_name_prefix),
                *tags_problems("job_tags", job_tags),
                *key_problems("output_encryption_key", output_encryption_key, scope),
                *key_problems("volume_encryption_key", volume_encryption_key, scope),
            ]
        )
        super().__init__(scope, construct_id)
        warn_unless_comprehend_offered(self)

        self.poll_schedule = poll_schedule or PollSchedule()
        waits = list(self.poll_schedule.waits)
        budget = self.poll_schedule.timeout_seconds
        job_arns = [key_phrases_job_arn(self)]

        apply_defaults = sfn.Pass(
            self,
            "ApplyDefaults",
            comment="Defaults from the construct's props; the input overrides them field by field.",
            parameters={
                "defaults": {
                    "inputPrefix": "",
                    "languageCode": language_code,
                    "inputFormat": input_format,
                    "jobName": sfn.JsonPath.format(
                        f"{job_name_prefix}-{{}}", sfn.JsonPath.string_at("$$.Execution.Name")
                    ),
                },
                "input": sfn.JsonPath.entire_payload,
                "target": {
                    "inputRoot": f"s3://{input_bucket.bucket_name}/{input_prefix}",
                    "outputRoot": f"s3://{output_bucket.bucket_name}/{output_prefix}",
                },
            },
        )
        resolve_request = sfn.Pass(
            self,
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
            check_language_and_format(self, sfn.Choice(self, "ValidateRequest"))
            .when(
                sfn.Condition.or_(
                    sfn.Condition.not_(sfn.Condition.is_string(prefix)), *escapes_its_root(prefix)
                ),
                invalid_field(
                    self,
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
                invalid_field(self, "InvalidJobName", "jobName", "must be a non-empty string"),
            )
        )

        # What the request must carry, as the Start permission's conditions require it.
        output_config: dict[str, Any] = {
            "S3Uri": sfn.JsonPath.format(
                "{}{}/",
                sfn.JsonPath.string_at("$.target.outputRoot"),
                sfn.JsonPath.string_at("$$.Execution.Name"),
            ),
        }
        extra_parameters: dict[str, Any] = {}
        start_conditions: dict[str, dict[str, Any]] = {}
        extra_statements: list[iam.PolicyStatement] = []
        # comprehend:OutputKmsKey and comprehend:VolumeKmsKey are ARN-typed condition keys; the
        # request passes the keys by ARN so that they compare equal.
        if output_encryption_key is not None:
            output_config["KmsKeyId"] = output_encryption_key.key_arn
            start_conditions.setdefault("ArnEquals", {})["comprehend:OutputKmsKey"] = (
                output_encryption_key.key_arn
            )
        if volume_encryption_key is not None:
            extra_parameters["VolumeKmsKeyId"] = volume_encryption_key.key_arn
            start_conditions.setdefault("ArnEquals", {})["comprehend:VolumeKmsKey"] = (
                volume_encryption_key.key_arn
            )
        if network is not None:
            extra_parameters["VpcConfig"] = {
                "SecurityGroupIds": network.security_group_ids,
                "Subnets": network.subnet_ids,
            }
            # ArrayOfString keys holding IDs: every value must be one of ours.
            start_conditions.setdefault("ForAllValues:StringEquals", {}).update(
                {
                    "comprehend:VpcSubnets": network.subnet_ids,
                    "comprehend:VpcSecurityGroupIds": network.security_group_ids,
                }
            )
            # ForAllValues also holds for an absent key: require both to be present.
            start_conditions["Null"] = {
                "comprehend:VpcSubnets": "false",
                "comprehend:VpcSecurityGroupIds": "false",
            }
        if job_tags:
            # Start and TagResource both accept aws:RequestTag and aws:TagKeys: only these tags.
            extra_parameters["Tags"] = [{"Key": k, "Value": v} for k, v in job_tags.items()]
            request_tags = {f"aws:RequestTag/{k}": v for k, v in job_tags.items()}
            start_conditions.setdefault("StringEquals", {}).update(request_tags)
            start_conditions.setdefault("ForAllValues:StringEquals", {})["aws:TagKeys"] = list(
                job_tags
            )
            tag_conditions = {
                "StringEquals": request_tags,
                "ForAllValues:StringEquals": {"aws:TagKeys": list(job_tags)},
            }
            extra_statements.append(
                iam.PolicyStatement(
                    sid="TagKeyPhrasesJobsOnStart",
                    actions=["comprehend:TagResource"],
                    resources=job_arns,
                    conditions=tag_conditions,
                )
            )

        start = comprehend_call(
            self,
            "StartJob",
            "startKeyPhrasesDetectionJob",
            conditions=start_conditions,
            comment="The token is a hash of the execution and the request: a retried or "
            "redriven start returns the job the first attempt created.",
            iam_resources=job_arns,
            additional_iam_statements=[
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[data_access_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": COMPREHEND_PRINCIPAL}},
                ),
                *extra_statements,
            ],
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
                "DataAccessRoleArn": data_access_role.role_arn,
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
                **extra_parameters,
            },
            result_selector={
                "job": {
                    "JobId": sfn.JsonPath.string_at("$.JobId"),
                    "JobArn": sfn.JsonPath.string_at("$.JobArn"),
                    "JobStatus": sfn.JsonPath.string_at("$.JobStatus"),
                }
            },
            assign={VAR_SCHEDULE: waits, VAR_POLLS: 0, VAR_WAIT: waits[0]},
        )

        wait = sfn.Wait(self, "WaitForJob", time=sfn.WaitTime.seconds_path(f"${VAR_WAIT}"))
        describe = comprehend_call(
            self,
            "DescribeJob",
            "describeKeyPhrasesDetectionJob",
            iam_resources=job_arns,
            parameters={"JobId": sfn.JsonPath.string_at("$.job.JobId")},
            result_selector={"job": sfn.JsonPath.object_at("$.KeyPhrasesDetectionJobProperties")},
            assign={f"{VAR_POLLS}.$": f"States.MathAdd(${VAR_POLLS}, 1)"},
        )

        def stop_job(state_id: str) -> tasks.CallAwsService:
            return comprehend_call(
                self,
                state_id,
                "stopKeyPhrasesDetectionJob",
                iam_resources=job_arns,
                parameters={"JobId": sfn.JsonPath.string_at("$.job.JobId")},
                result_path=sfn.JsonPath.DISCARD,
            )

        timed_out = sfn.Fail(
            self,
            "JobTimedOut",
            error=JOB_TIMED_OUT,
            cause_path=sfn.JsonPath.format(
                f"Comprehend job {{}} was still running after the {budget} s budget; "
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
            self,
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
            self,
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
                self,
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
                    self,
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
                    self,
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
                    self,
                    "JobStopped",
                    error=JOB_STOPPED,
                    cause_path=sfn.JsonPath.format(
                        "Comprehend job {} was stopped", sfn.JsonPath.string_at("$.job.JobId")
                    ),
                ),
            )
            .when(
                sfn.Condition.number_greater_than_equals(f"${VAR_POLLS}", len(waits)),
                stop_timed_out,
            )
            .otherwise(wait)
        )

        apply_defaults.next(resolve_request).next(validate)
        validate.otherwise(start)
        start.next(wait).next(describe).next(job_status)

        self._start_state: sfn.State = apply_defaults
        self._end_states: list[sfn.INextable] = [completed]
        #: The StartKeyPhrasesDetectionJob task, for adding catches or reading its role policy.
        self.start_task = start
        #: The DescribeKeyPhrasesDetectionJob task.
        self.describe_task = describe

    def acknowledge_job_wildcard(self, role: iam.IRole) -> None:
        """Acknowledge, on ``role``, cdk-nag's AwsSolutions-IAM5 finding for the
        ``key-phrases-detection-job/*`` resource the fragment's tasks grant (job IDs exist only
        at run time). Call it with the role of the state machine that runs the fragment."""
        acknowledge_wildcard(role, key_phrases_job_arn(self), JOB_ARNS, rendered_in=role)

    @property
    def start_state(self) -> sfn.State:
        """The first state of the fragment (applies the defaults)."""
        return self._start_state

    @property
    def end_states(self) -> list[sfn.INextable]:
        """The state that ends the fragment on success, for chaining what comes next."""
        return self._end_states
