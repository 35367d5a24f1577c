"""KeyPhrasesBatch: one execution fans a corpus out over many key phrase jobs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_kp.contract import (
    DEFAULT_MAX_CONCURRENCY,
    JOB_NAME,
    MANIFEST,
    MAP_RUN_ARN,
    MAX_BATCH_CONCURRENCY,
    RESOLVE_BATCH_STATE,
    RESULTS_BUCKET,
    RESULTS_MANIFEST,
)
from cdk_kp.infra._batch_cleanup import give_up
from cdk_kp.infra._batch_shards import (
    MANIFEST_PATH,
    RESULTS_FOLDER,
    SHARD_TAG_PREFIX,
    executions_of,
    run_shard,
    shard_executions,
    shards_map,
)
from cdk_kp.infra._endpoints import via_service
from cdk_kp.infra._job import key_phrases_job_arn
from cdk_kp.infra._setup import distinct_keys
from cdk_kp.infra._state_machine import StateMachineMethods, logged_state_machine
from cdk_kp.infra._states import (
    check_language_and_format,
    escapes_its_root,
    invalid_field,
)
from cdk_kp.infra._validation import raise_problems
from cdk_kp.infra.compliance import (
    BATCH_NO_RESOURCE_LEVEL,
    BATCH_OBJECTS,
    DEFAULT_POLICY,
    JOB_ARNS,
    MAP_RUN_EXECUTIONS,
    PIPELINE_EXECUTIONS,
    acknowledge,
    acknowledge_regulatory,
    acknowledge_wildcard,
)

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

#: The CDK feature flag under which DistributedMap renders ``result_writer_v2``.
RESULT_WRITER_V2_FLAG = "@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2"


@runtime_checkable
class BatchablePipeline(Protocol):
    """What a batch needs of the pipeline it runs: the state machine each shard is an execution
    of, where its jobs read and write, the defaults of their request, and its key.
    :class:`~cdk_kp.infra.pipeline.KeyPhrasesPipeline` is one."""

    @property
    def state_machine(self) -> sfn.StateMachine: ...

    @property
    def input_bucket(self) -> s3.IBucket: ...

    @property
    def input_prefix(self) -> str: ...

    @property
    def output_bucket(self) -> s3.IBucket: ...

    @property
    def output_prefix(self) -> str: ...

    @property
    def language_code(self) -> str: ...

    @property
    def input_format(self) -> str: ...

    @property
    def job_name_prefix(self) -> str: ...

    @property
    def encryption_key(self) -> kms.IKey | None: ...


def _pipeline_attributes() -> list[str]:
    """The attributes :class:`BatchablePipeline` asks for, in its order."""
    return [name for name in BatchablePipeline.__dict__ if not name.startswith("_")]


def batch_problems(
    *,
    pipeline: object,
    max_concurrency: object,
    tolerated_failure_percentage: object,
    tolerated_failure_count: object,
) -> list[str]:
    """Everything wrong with a batch's props, each naming the field and the value."""
    problems = []
    missing = [name for name in _pipeline_attributes() if not hasattr(pipeline, name)]
    if missing:
        problems.append(
            "pipeline must be a KeyPhrasesPipeline (the batch runs its state machine, reads its "
            f"buckets and prefixes); got a {type(pipeline).__name__}, which has no "
            f"{', '.join(missing)}"
        )
    if (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or not 1 <= max_concurrency <= MAX_BATCH_CONCURRENCY
    ):
        problems.append(
            f"max_concurrency must be an integer from 1 to {MAX_BATCH_CONCURRENCY}; "
            f"got {max_concurrency!r}"
        )
    percentage = tolerated_failure_percentage
    if (
        isinstance(percentage, bool)
        or not isinstance(percentage, int | float)
        or not math.isfinite(percentage)
        or not 0 <= percentage <= 100
    ):
        problems.append(
            f"tolerated_failure_percentage must be a number from 0 to 100; got {percentage!r}"
        )
    count = tolerated_failure_count
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        problems.append(
            f"tolerated_failure_count must be a non-negative integer or None; got {count!r}"
        )
    return problems


class KeyPhrasesBatch(StateMachineMethods, Construct):
    """Run a :class:`~cdk_kp.infra.pipeline.KeyPhrasesPipeline` over many input prefixes in one
    execution, through a Distributed Map whose items are the pipeline's own executions.

    An execution reads a manifest, a JSON array in the pipeline's input bucket, one object per
    shard (at most one job's worth of documents: 5 GB, 1,000,000 documents)::

        {"manifest": "batches/b1/manifest.json", "languageCode": "en",
         "inputFormat": "ONE_DOC_PER_LINE"}

        [{"inputPrefix": "batches/b1/shard-00000/"}, {"inputPrefix": "batches/b1/shard-00001/"}]

    ``manifest`` and each ``inputPrefix`` are relative to the pipeline's ``input_prefix``;
    ``languageCode`` and ``inputFormat`` are optional (the pipeline's defaults) and apply to
    every shard. Each shard runs as an execution of the pipeline's state machine (started with
    ``StartExecution.sync:2``, so each has the pipeline's idempotent start, polling budget and
    stop-on-timeout), at most ``max_concurrency`` at once. Every shard's job is named
    ``<job_name_prefix>-batch-<SHA-256 of the batch execution ARN>``, which is how the client
    finds a batch's jobs and how the batch finds them to stop.

    The Map Run's results (one record per shard: ``SUCCEEDED`` with the shard's ``jobId``,
    ``outputS3Uri`` and ``inputS3Uri``; ``FAILED`` with the error and cause) are written by the
    Map's result writer under ``<output_prefix>batch-results/<map run id>/`` in the output
    bucket, whatever the number of shards. The execution outputs::

        {"jobName", "mapRunArn", "resultsBucket", "resultsManifest"}

    Failed shards are tolerated up to ``tolerated_failure_percentage`` and
    ``tolerated_failure_count`` (Step Functions' Map Run semantics: the run fails as soon as
    failures exceed either). When they are exceeded, or the Map fails for any other reason
    (the manifest is missing or is not a JSON array), Step Functions stops the shards still
    running; the batch then stops every job of the batch still ``SUBMITTED`` or
    ``IN_PROGRESS`` and fails with ``KeyPhrasesBatchFailed``. Invalid input fails with
    ``InvalidExecutionInput`` before the manifest is read.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: BatchablePipeline,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        tolerated_failure_percentage: float = 0,
        tolerated_failure_count: int | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        state_machine_name: str | None = None,
    ) -> None:
        """
        :param pipeline: the pipeline whose state machine runs each shard.
        :param max_concurrency: shards (so jobs) running at once, 1 to 100. Default: 10, the
            default Comprehend quota of concurrent key phrase jobs per account and Region.
            Above the account's quota, starts are throttled and retried by the pipeline
            (six retries, at most 122 s) before a shard fails.
        :param tolerated_failure_percentage: failed shards tolerated, as a percentage of all
            shards (0 to 100). Default: 0, any failed shard fails the batch.
        :param tolerated_failure_count: failed shards tolerated, as a number. Default: no
            count threshold (only the percentage applies).
        :param log_retention: how long execution logs are kept. Default: one year.
        :param state_machine_name: the batch state machine's name. Default: generated.
        """
        raise_problems(
            batch_problems(
                pipeline=pipeline,
                max_concurrency=max_concurrency,
                tolerated_failure_percentage=tolerated_failure_percentage,
                tolerated_failure_count=tolerated_failure_count,
            )
        )
        super().__init__(scope, construct_id)
        # CDK renders ResultWriterV2 only under this feature flag (on in new apps' cdk.json);
        # without it the Map would write no results and its output would not be the pointer
        # the batch reads. The flag is set for this construct's subtree only.
        self.node.set_context(RESULT_WRITER_V2_FLAG, True)
        self.pipeline = pipeline
        self.max_concurrency = max_concurrency
        self.tolerated_failure_percentage = tolerated_failure_percentage
        self.tolerated_failure_count = tolerated_failure_count
        #: Key prefix, in the output bucket, of the Map Run result files.
        self.results_prefix = f"{pipeline.output_prefix}{RESULTS_FOLDER}"
        job_arn = key_phrases_job_arn(self)
        apply_defaults, validate = self._request_states()
        shard = run_shard(self, pipeline.state_machine)
        shards = shards_map(
            self,
            input_bucket=pipeline.input_bucket,
            input_prefix=pipeline.input_prefix,
            output_bucket=pipeline.output_bucket,
            results_prefix=self.results_prefix,
            max_concurrency=max_concurrency,
            tolerated_failure_percentage=tolerated_failure_percentage,
            tolerated_failure_count=tolerated_failure_count,
        )
        shards.item_processor(shard)
        validate.otherwise(shards)
        shards.next(self._succeeded())
        # The give-up path: stop the batch's running shard executions and its active jobs,
        # round after round, until a round finds neither; then fail.
        shards.add_catch(
            give_up(self, pipeline.state_machine, job_arn),
            errors=["States.ALL"],
            result_path="$.failure",
        )
        #: The log group of the batch's executions, and the Standard state machine running the
        #: batch. It has no timeout of its own: every shard is bounded by the pipeline's, and a
        #: batch timeout would stop shards without stopping their jobs.
        self.log_group, self.state_machine = logged_state_machine(
            self,
            definition=apply_defaults,
            encryption_key=pipeline.encryption_key,
            log_retention=log_retention,
            state_machine_name=state_machine_name,
            timeout=None,
        )
        self._grant_shards_and_results()
        self._acknowledge(job_arn)

    def _request_states(self) -> tuple[sfn.Pass, sfn.Choice]:
        """Apply the pipeline's defaults, resolve the batch's job name and shard tag, and
        validate the request: the first state, and the Choice that goes on to the shards."""
        apply_defaults = sfn.Pass(
            self,
            "ApplyDefaults",
            comment="The pipeline's defaults; the input overrides them field by field.",
            parameters={
                "defaults": {
                    "languageCode": self.pipeline.language_code,
                    "inputFormat": self.pipeline.input_format,
                },
                "input": sfn.JsonPath.entire_payload,
            },
        )
        execution_id = sfn.JsonPath.string_at("$$.Execution.Id")
        resolve = sfn.Pass(
            self,
            RESOLVE_BATCH_STATE,
            parameters={
                "request": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$.input")
                ),
                # One name for every job of this batch, and no other job: how the batch finds
                # its active jobs to stop them, and how the client follows its shards.
                JOB_NAME: sfn.JsonPath.format(
                    f"{self.pipeline.job_name_prefix}-batch-{{}}",
                    sfn.JsonPath.hash(execution_id, "SHA-256"),
                ),
                # Every shard's pipeline execution is named <shardTag>-<UUID>: how the give-up
                # path finds the batch's own running executions to stop them.
                "shardTag": sfn.JsonPath.format(
                    f"{SHARD_TAG_PREFIX}{{}}", sfn.JsonPath.hash(execution_id, "MD5")
                ),
            },
        )
        validate = check_language_and_format(
            self,
            sfn.Choice(self, "ValidateBatch").when(
                sfn.Condition.or_(
                    sfn.Condition.not_(sfn.Condition.is_present(MANIFEST_PATH)),
                    sfn.Condition.not_(sfn.Condition.is_string(MANIFEST_PATH)),
                    sfn.Condition.string_equals(MANIFEST_PATH, ""),
                    *escapes_its_root(MANIFEST_PATH),
                ),
                invalid_field(
                    self,
                    "InvalidManifest",
                    MANIFEST,
                    "must be the key of a JSON array of shards, relative to the input prefix, "
                    "with no leading slash and no .. segment",
                ),
            ),
        )
        apply_defaults.next(resolve).next(validate)
        return apply_defaults, validate

    def _succeeded(self) -> sfn.Pass:
        """The batch's output: its job name and where the Map Run's results are."""
        return sfn.Pass(
            self,
            "BatchSucceeded",
            parameters={
                JOB_NAME: sfn.JsonPath.string_at(f"$.{JOB_NAME}"),
                **{
                    field: sfn.JsonPath.string_at(f"$.results.{field}")
                    for field in (MAP_RUN_ARN, RESULTS_BUCKET, RESULTS_MANIFEST)
                },
            },
        )

    def _grant_shards_and_results(self) -> None:
        """What the batch's role needs besides the tasks' own statements: the Map Run's result
        files, the data keys, and starting and following the shards' executions."""
        role = self.state_machine.role
        for statement in (
            # The result writer's objects (Step Functions guide, "IAM policies for
            # ResultWriter"): only under the results prefix.
            iam.PolicyStatement(
                sid="WriteMapRunResults",
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                ],
                resources=[self.pipeline.output_bucket.arn_for_objects(f"{self.results_prefix}/*")],
            ),
            *self._data_key_statements(),
            *self._shard_statements(),
        ):
            role.add_to_principal_policy(statement)

    def _data_key_statements(self) -> list[iam.PolicyStatement]:
        """Reading an SSE-KMS manifest, writing SSE-KMS results, and starting and describing
        executions of a state machine encrypted with the key: through S3 and Step Functions
        only."""
        keys = distinct_keys(
            self.pipeline.encryption_key,
            self.pipeline.input_bucket.encryption_key,
            self.pipeline.output_bucket.encryption_key,
        )
        if not keys:
            return []
        return [
            iam.PolicyStatement(
                sid="UseDataKeysThroughS3AndStepFunctions",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn for key in keys],
                conditions={
                    "StringEquals": {"kms:ViaService": [via_service("s3"), via_service("states")]}
                },
            )
        ]

    def _shard_statements(self) -> list[iam.PolicyStatement]:
        """Start executions of the pipeline, follow (describe, stop) them, and the events rule
        through which ``.sync`` learns that an execution ended (Step Functions guide, "IAM
        policies for Step Functions": StartExecution .sync)."""
        pipeline = self.pipeline.state_machine
        return [
            iam.PolicyStatement(
                sid="StartShardExecutions",
                actions=["states:StartExecution"],
                resources=[pipeline.state_machine_arn],
            ),
            iam.PolicyStatement(
                sid="FollowShardExecutions",
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[shard_executions(self, pipeline)],
            ),
            iam.PolicyStatement(
                sid="ShardExecutionEvents",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    Stack.of(self).format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule",
                    )
                ],
            ),
        ]

    def _acknowledge(self, job_arn: str) -> None:
        """The findings the batch's wildcards raise, each with its reason."""
        role = self.state_machine.role
        pipeline = self.pipeline
        acknowledge_wildcard(
            role, shard_executions(self, pipeline.state_machine), PIPELINE_EXECUTIONS
        )
        acknowledge_wildcard(
            role, pipeline.input_bucket.arn_for_objects(f"{pipeline.input_prefix}*"), BATCH_OBJECTS
        )
        acknowledge_wildcard(
            role, pipeline.output_bucket.arn_for_objects(f"{self.results_prefix}/*"), BATCH_OBJECTS
        )
        # CDK's own policy for the Distributed Map: start, follow and redrive the Map Run's
        # child executions, which are executions of this state machine.
        map_policy = self.state_machine.node.find_child("DistributedMapPolicy")
        for suffix in (":*", "/Shards:*"):
            own_executions = executions_of(self.state_machine, suffix)
            acknowledge_wildcard(map_policy, own_executions, MAP_RUN_EXECUTIONS, rendered_in=role)
        acknowledge_regulatory(map_policy, "IAMNoInlinePolicy", DEFAULT_POLICY)
        acknowledge_wildcard(role, job_arn, JOB_ARNS)
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", BATCH_NO_RESOURCE_LEVEL)
        acknowledge_regulatory(role, "IAMNoInlinePolicy", DEFAULT_POLICY)
