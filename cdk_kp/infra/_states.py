"""State-building helpers shared by the workflow's renditions and the batch: Comprehend calls
with their retries, request checks, and the names of the workflow's variables and job statuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp.contract import (
    INPUT_FORMATS,
    INVALID_INPUT,
    LANGUAGE_CODES,
    START_JOB_RESOURCE,
    START_JOB_STATE,
)
from cdk_kp.infra._job import JobSpec

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


def start_job(
    scope: Construct, spec: JobSpec, parameters: Mapping[str, Any], **props: Any
) -> tasks.CallAwsService:
    """The StartKeyPhrasesDetectionJob task of either rendition: ``parameters`` (the request as
    the rendition writes it) and the spec's extra parameters, held to the spec's permissions,
    assigning the poll schedule's variables; ``props`` add the rendition's own (its query
    language, how it keeps the result)."""
    return comprehend_call(
        scope,
        START_JOB_STATE,
        START_JOB_RESOURCE,
        conditions=spec.start_conditions,
        comment="The token is a hash of the execution and the request: a retried or "
        "redriven start returns the job the first attempt created.",
        iam_resources=spec.job_arns,
        additional_iam_statements=spec.start_statements,
        parameters={**parameters, **spec.extra_parameters},
        assign={VAR_SCHEDULE: list(spec.waits), VAR_POLLS: 0, VAR_WAIT: spec.waits[0]},
        **props,
    )
