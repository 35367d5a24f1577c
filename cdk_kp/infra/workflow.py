"""The key phrase workflow: validate the request, start the job, poll it to the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp.infra._endpoints import warn_unless_comprehend_offered
from cdk_kp.infra._job import Rendition, job_spec, key_phrases_job_arn
from cdk_kp.infra._placement import check_where_it_runs
from cdk_kp.infra._setup import (
    DEFAULT_INPUT_FORMAT,
    DEFAULT_JOB_NAME_PREFIX,
    DEFAULT_LANGUAGE,
    JobSetup,
)
from cdk_kp.infra._validation import choice_problems, field_problems, raise_problems
from cdk_kp.infra._workflow_jsonata import build_jsonata
from cdk_kp.infra._workflow_jsonpath import build_jsonpath
from cdk_kp.infra.compliance import JOB_ARNS, acknowledge_wildcard
from cdk_kp.infra.schedule import PollSchedule

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

    from cdk_kp.infra.network import JobNetwork


class KeyPhrasesWorkflow(sfn.StateMachineFragment):
    """Start an asynchronous key phrase detection job and poll it until it ends.

    A chainable fragment, so it can run inside a state machine of one's own, of either query
    language (``query_language``; see :mod:`cdk_kp.infra._placement` for where it cannot run, which
    the synth refuses). It reads its request from the state input (every field optional,
    defaults from the props)::

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
        language_code: str = DEFAULT_LANGUAGE,
        input_format: str = DEFAULT_INPUT_FORMAT,
        job_name_prefix: str = DEFAULT_JOB_NAME_PREFIX,
        poll_schedule: PollSchedule | None = None,
        output_encryption_key: kms.IKey | None = None,
        volume_encryption_key: kms.IKey | None = None,
        network: JobNetwork | None = None,
        job_tags: Mapping[str, str] | None = None,
        query_language: sfn.QueryLanguage = sfn.QueryLanguage.JSON_PATH,
    ) -> None:
        """
        :param query_language: the language the fragment's states are written in. Default:
            JSONPath. With ``QueryLanguage.JSONATA`` every state declares JSONata itself, so the
            fragment runs in a state machine of either language; a JSONPath fragment cannot run
            in a state machine whose top-level language is JSONata, and is refused there at
            synth.
        """
        setup = JobSetup.of(locals(), encryption_key="output_encryption_key")
        _check(scope, setup, data_access_role, query_language)
        super().__init__(scope, construct_id)
        warn_unless_comprehend_offered(self)
        self._job_setup = setup
        #: How the fragment polls its job, and for how long.
        self.poll_schedule = poll_schedule or PollSchedule()
        #: The query language of the fragment's states.
        self.query_language = query_language
        rendition = self._render(data_access_role)
        self._start_state: sfn.State = rendition.start
        self._end_states: list[sfn.INextable] = [rendition.end]
        #: The StartKeyPhrasesDetectionJob task, for adding catches or reading its role policy.
        self.start_task: tasks.CallAwsService = rendition.start_task
        #: The DescribeKeyPhrasesDetectionJob task.
        self.describe_task: tasks.CallAwsService = rendition.describe_task
        check_where_it_runs(self)

    def _render(self, role: iam.IRole) -> Rendition:
        """The fragment's states, in its query language."""
        spec = job_spec(
            self._job_setup,
            role_arn=role.role_arn,
            schedule=self.poll_schedule,
            job_arn=key_phrases_job_arn(self),
        )
        jsonata = self.query_language == sfn.QueryLanguage.JSONATA
        return (build_jsonata if jsonata else build_jsonpath)(self, spec)

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


def _check(
    scope: Construct, setup: JobSetup, role: iam.IRole, query_language: sfn.QueryLanguage
) -> None:
    """Refuse, in one error, every prop of a workflow that cannot work."""
    raise_problems(
        [
            *field_problems(
                scope,
                {
                    **setup.named_fields(encryption_key="output_encryption_key"),
                    "data_access_role": role,
                },
            ),
            *choice_problems(
                "query_language",
                getattr(query_language, "name", query_language),
                ("JSON_PATH", "JSONATA"),
            ),
        ]
    )
