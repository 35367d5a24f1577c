"""KeyPhrasesBatch: one execution fans a corpus out over many key phrase jobs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from aws_cdk import Arn, ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct, IConstruct

from cdk_kp.contract import (
    BATCH_FAILED,
    DEFAULT_MAX_CONCURRENCY,
    LIST_PAGE_SIZE,
    MAX_BATCH_CONCURRENCY,
)
from cdk_kp.infra._endpoints import via_service
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
from cdk_kp.infra.data_access_role import key_phrases_job_arn
from cdk_kp.infra.pipeline import ExecutionMetrics, logged_state_machine
from cdk_kp.infra.workflow import (
    check_language_and_format,
    comprehend_call,
    escapes_its_root,
    invalid_field,
)

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

    from cdk_kp.infra.pipeline import KeyPhrasesPipeline

#: Job statuses a give-up stops (the others have ended).
ACTIVE_JOB_STATUSES = ("SUBMITTED", "IN_PROGRESS")
#: How long the give-up path waits before each look at the shards' executions and before each
#: look at the batch's jobs: Step Functions stops the Map Run's children asynchronously when it
#: fails, and an API call in flight when an execution ends (a StartExecution of a shard, a
#: StartKeyPhrasesDetectionJob of a job) can still land after that.
SETTLE_SECONDS = 30
#: The most rounds of the give-up path (each looks for running shard executions of the batch
#: and, SETTLE_SECONDS later, for its active jobs, and stops them): it ends as soon as a round
#: finds neither, and reports that some may still run if the last round still found some.
MAX_CLEANUP_ROUNDS = 10
#: Shard executions are named ``kpb<MD5 of the batch execution ID>-<UUID>`` (72 characters, within
#: the 80 an execution name may have); the tag holds no ``-``.
SHARD_TAG_PREFIX = "kpb"
#: Executions read per ListExecutions page by the give-up path (a page of 100 stays well within
#: the 256 KiB state payload).
EXECUTIONS_PAGE_SIZE = 100
#: The CDK feature flag under which DistributedMap renders ``result_writer_v2``.
RESULT_WRITER_V2_FLAG = "@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2"
#: Key, under the pipeline's output prefix, of the Map Run result files.
RESULTS_FOLDER = "batch-results"


class _PrefixedJsonItemReader(sfn.S3JsonItemReader):
    """CDK's JSON item reader, its s3:GetObject grant narrowed from the whole bucket to the
    pipeline's input prefix."""

    def __init__(self, *, prefix: str, bucket: s3.IBucket, key: str) -> None:
        super().__init__(bucket=bucket, key=key)
        self._grant_bucket = bucket
        self._grant_prefix = prefix

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self._grant_bucket.arn_for_objects(f"{self._grant_prefix}*")],
            )
        ]


class _ResultWriter(sfn.ResultWriterV2):
    """CDK's result writer without its grant (on the whole bucket, and only under some feature
    flags): the batch grants the results prefix itself, whatever the flags."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return []


def _executions_of(state_machine: sfn.IStateMachine, suffix: str) -> str:
    """ARN pattern ``arn:…:execution:<state machine name><suffix>``, the name split from the
    ARN as CDK's own Distributed Map policy renders it (for the batch's own executions)."""
    name = Arn.split(state_machine.state_machine_arn, ArnFormat.COLON_RESOURCE_NAME).resource_name
    assert name is not None, "a state machine ARN has a name"
    return _execution_arn(state_machine, name + suffix)


def _shard_executions(scope: Construct, pipeline: sfn.StateMachine) -> str:
    """``arn:…:execution:<pipeline state machine name>:*``: every execution of the pipeline,
    from its name attribute. When the pipeline is in another stack, the name arrives as that
    stack's output (an import, or ``Fn::GetStackOutput``), which the ARN must not be split
    from: CloudFormation's ``Fn::Split`` does not take ``Fn::GetStackOutput`` (cfn-lint E1022)."""
    return _execution_arn(scope, f"{pipeline.state_machine_name}:*")


def _execution_arn(scope: IConstruct, resource_name: str) -> str:
    return Stack.of(scope).format_arn(
        service="states",
        resource="execution",
        resource_name=resource_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


#: What the batch reads of the pipeline it runs.
PIPELINE_ATTRIBUTES = (
    "state_machine",
    "input_bucket",
    "input_prefix",
    "output_bucket",
    "output_prefix",
    "language_code",
    "input_format",
    "job_name_prefix",
    "encryption_key",
)


def batch_problems(
    *,
    pipeline: object,
    max_concurrency: object,
    tolerated_failure_percentage: object,
    tolerated_failure_count: object,
) -> list[str]:
    """Everything wrong with a batch's props, each naming the field and the value."""
    problems = []
    missing = [name for name in PIPELINE_ATTRIBUTES if not hasattr(pipeline, name)]
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


class KeyPhrasesBatch(ExecutionMetrics, Construct):
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
        pipeline: KeyPhrasesPipeline,
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
        input_bucket = pipeline.input_bucket
        output_bucket = pipeline.output_bucket
        job_arn = key_phrases_job_arn(self)

        apply_defaults = sfn.Pass(
            self,
            "ApplyDefaults",
            comment="The pipeline's defaults; the input overrides them field by field.",
            parameters={
                "defaults": {
                    "languageCode": pipeline.language_code,
                    "inputFormat": pipeline.input_format,
                },
                "input": sfn.JsonPath.entire_payload,
            },
        )
        resolve = sfn.Pass(
            self,
            "ResolveBatch",
            parameters={
                "request": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.defaults"), sfn.JsonPath.object_at("$.input")
                ),
                # One name for every job of this batch, and no other job: how the batch finds
                # its active jobs to stop them, and how the client follows its shards.
                "jobName": sfn.JsonPath.format(
                    f"{pipeline.job_name_prefix}-batch-{{}}",
                    sfn.JsonPath.hash(sfn.JsonPath.string_at("$$.Execution.Id"), "SHA-256"),
                ),
                # Every shard's pipeline execution is named <shardTag>-<UUID>: how the give-up
                # path finds the batch's own running executions to stop them.
                "shardTag": sfn.JsonPath.format(
                    f"{SHARD_TAG_PREFIX}{{}}",
                    sfn.JsonPath.hash(sfn.JsonPath.string_at("$$.Execution.Id"), "MD5"),
                ),
            },
        )
        manifest = "$.request.manifest"
        validate = check_language_and_format(
            self,
            sfn.Choice(self, "ValidateBatch").when(
                sfn.Condition.or_(
                    sfn.Condition.not_(sfn.Condition.is_present(manifest)),
                    sfn.Condition.not_(sfn.Condition.is_string(manifest)),
                    sfn.Condition.string_equals(manifest, ""),
                    *escapes_its_root(manifest),
                ),
                invalid_field(
                    self,
                    "InvalidManifest",
                    "manifest",
                    "must be the key of a JSON array of shards, relative to the input prefix, "
                    "with no leading slash and no .. segment",
                ),
            ),
        )

        # A CustomState, not CDK's StepFunctionsStartExecution: CDK grants Describe and Stop on
        # "execution:<name>*", which also matches every state machine whose name starts with the
        # pipeline's; the statements below grant them on this state machine's executions only.
        run_shard = sfn.CustomState(
            self,
            "RunShard",
            state_json={
                "Type": "Task",
                "Comment": "One shard: an execution of the pipeline, waited for to its end.",
                "Resource": Stack.of(self).format_arn(
                    service="states",
                    account="",
                    region="",
                    resource="states",
                    resource_name="startExecution.sync:2",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
                "Parameters": {
                    "StateMachineArn": pipeline.state_machine.state_machine_arn,
                    # A new name for every start, so a redriven shard starts a new execution.
                    "Name.$": "States.Format('{}-{}', $.shardTag, States.UUID())",
                    "Input": {
                        "inputPrefix.$": "$.inputPrefix",
                        "languageCode.$": "$.languageCode",
                        "inputFormat.$": "$.inputFormat",
                        "jobName.$": "$.jobName",
                        # Links the pipeline execution to the Map child execution that started
                        # it, in the console and in DescribeExecution.
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                    },
                },
                "ResultSelector": {
                    "status.$": "$.Status",
                    "executionArn.$": "$.ExecutionArn",
                    "jobId.$": "$.Output.jobId",
                    "inputS3Uri.$": "$.Output.inputS3Uri",
                    "outputS3Uri.$": "$.Output.outputS3Uri",
                },
            },
        )

        shards = sfn.DistributedMap(
            self,
            "RunShards",
            comment="Each shard is one pipeline execution; at most max_concurrency at once.",
            label="Shards",
            max_concurrency=max_concurrency,
            # A count of 0 fails the run at the first failed shard, whatever the percentage;
            # CDK drops a 0 count, so 0 is written as neither threshold, which means the same.
            tolerated_failure_percentage=0
            if tolerated_failure_count == 0
            else tolerated_failure_percentage,
            tolerated_failure_count=tolerated_failure_count,
            item_reader=_PrefixedJsonItemReader(
                prefix=pipeline.input_prefix,
                bucket=input_bucket,
                key=sfn.JsonPath.format(
                    f"{pipeline.input_prefix}{{}}", sfn.JsonPath.string_at(manifest)
                ),
            ),
            item_selector={
                "inputPrefix": sfn.JsonPath.string_at("$$.Map.Item.Value.inputPrefix"),
                "languageCode": sfn.JsonPath.string_at("$.request.languageCode"),
                "inputFormat": sfn.JsonPath.string_at("$.request.inputFormat"),
                "jobName": sfn.JsonPath.string_at("$.jobName"),
                "shardTag": sfn.JsonPath.string_at("$.shardTag"),
            },
            result_writer_v2=_ResultWriter(bucket=output_bucket, prefix=self.results_prefix),
            result_selector={
                "mapRunArn": sfn.JsonPath.string_at("$.MapRunArn"),
                "resultsBucket": sfn.JsonPath.string_at("$.ResultWriterDetails.Bucket"),
                "resultsManifest": sfn.JsonPath.string_at("$.ResultWriterDetails.Key"),
            },
            result_path="$.results",
        )
        shards.item_processor(run_shard)

        succeeded = sfn.Pass(
            self,
            "BatchSucceeded",
            parameters={
                "jobName": sfn.JsonPath.string_at("$.jobName"),
                "mapRunArn": sfn.JsonPath.string_at("$.results.mapRunArn"),
                "resultsBucket": sfn.JsonPath.string_at("$.results.resultsBucket"),
                "resultsManifest": sfn.JsonPath.string_at("$.results.resultsManifest"),
            },
        )

        # The give-up path: stop the batch's running shard executions and its active jobs,
        # round after round, until a round finds neither; then fail.
        shards.add_catch(
            self._cleanup(pipeline.state_machine, job_arn),
            errors=["States.ALL"],
            result_path="$.failure",
        )

        apply_defaults.next(resolve).next(validate)
        validate.otherwise(shards)
        shards.next(succeeded)

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
        role = self.state_machine.role
        # The result writer's objects (Step Functions guide, "IAM policies for ResultWriter"):
        # only under the results prefix.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteMapRunResults",
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                ],
                resources=[output_bucket.arn_for_objects(f"{self.results_prefix}/*")],
            )
        )
        keys = {
            id(key): key
            for key in (
                pipeline.encryption_key,
                getattr(input_bucket, "encryption_key", None),
                getattr(output_bucket, "encryption_key", None),
            )
            if key is not None
        }
        if keys:
            # Reading an SSE-KMS manifest, writing SSE-KMS results, and starting and describing
            # executions of a state machine encrypted with the key: through S3 and Step
            # Functions only.
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="UseDataKeysThroughS3AndStepFunctions",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn for key in keys.values()],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": [
                                via_service("s3"),
                                via_service("states"),
                            ]
                        }
                    },
                )
            )
        shard_executions = _shard_executions(self, pipeline.state_machine)
        for statement in (
            iam.PolicyStatement(
                sid="StartShardExecutions",
                actions=["states:StartExecution"],
                resources=[pipeline.state_machine.state_machine_arn],
            ),
            iam.PolicyStatement(
                sid="FollowShardExecutions",
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[shard_executions],
            ),
            # How .sync learns that an execution ended (Step Functions guide, "IAM policies
            # for Step Functions": StartExecution .sync).
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
        ):
            role.add_to_principal_policy(statement)
        acknowledge_wildcard(role, shard_executions, PIPELINE_EXECUTIONS)
        acknowledge_wildcard(
            role, input_bucket.arn_for_objects(f"{pipeline.input_prefix}*"), BATCH_OBJECTS
        )
        acknowledge_wildcard(
            role, output_bucket.arn_for_objects(f"{self.results_prefix}/*"), BATCH_OBJECTS
        )
        # CDK's own policy for the Distributed Map: start, follow and redrive the Map Run's
        # child executions, which are executions of this state machine.
        map_policy = self.state_machine.node.find_child("DistributedMapPolicy")
        for suffix in (":*", "/Shards:*"):
            own_executions = _executions_of(self.state_machine, suffix)
            acknowledge_wildcard(map_policy, own_executions, MAP_RUN_EXECUTIONS, rendered_in=role)
        acknowledge_regulatory(map_policy, "IAMNoInlinePolicy", DEFAULT_POLICY)
        acknowledge_wildcard(role, job_arn, JOB_ARNS)
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", BATCH_NO_RESOURCE_LEVEL)
        acknowledge_regulatory(role, "IAMNoInlinePolicy", DEFAULT_POLICY)

    def _cleanup(self, pipeline: sfn.StateMachine, job_arn: str) -> sfn.IChainable:
        """The give-up path, entered with the Map's failure in ``$.failure``.

        Each round waits SETTLE_SECONDS, stops every running execution of the pipeline that is a
        shard of this batch (named ``<shardTag>-…``), waits SETTLE_SECONDS more, and stops every
        job of the batch still ``SUBMITTED`` or ``IN_PROGRESS``. Only running shard executions
        start jobs, so a round that finds neither a running shard nor an active job ends the
        clean-up (the wait between the two looks lets a Start call in flight when a shard ended
        land first); otherwise another round runs, at most MAX_CLEANUP_ROUNDS.
        """
        cleanup_failed = sfn.Fail(
            self,
            "BatchFailedJobsMayRun",
            error=BATCH_FAILED,
            cause_path=sfn.JsonPath.format(
                "the Map Run of the shards failed with {}: {}; finding or stopping the running "
                "shards and active jobs of the batch failed with {}, so some may still run",
                sfn.JsonPath.string_at("$.failure.Error"),
                sfn.JsonPath.string_at("$.failure.Cause"),
                sfn.JsonPath.string_at("$.cleanupError.Error"),
            ),
        )
        first_round = sfn.Pass(
            self,
            "PrepareCleanup",
            result=sfn.Result.from_object({"round": 0}),
            result_path="$.cleanup",
        )
        next_round = sfn.Pass(
            self,
            "NextCleanupRound",
            parameters={
                "round": sfn.JsonPath.math_add(sfn.JsonPath.number_at("$.cleanup.round"), 1),
                "shardsFound": False,
            },
            result_path="$.cleanup",
        )
        settle = sfn.Wait(
            self,
            "SettleBeforeCleanup",
            time=sfn.WaitTime.duration(Duration.seconds(SETTLE_SECONDS)),
        )
        stop_jobs = self._stop_active_jobs(job_arn)
        settle_jobs = sfn.Wait(
            self,
            "SettleBeforeStoppingJobs",
            time=sfn.WaitTime.duration(Duration.seconds(SETTLE_SECONDS)),
        )
        list_first, list_more, stop_page = self._stop_running_shards(pipeline)
        more_pages = (
            sfn.Choice(self, "MoreShardPages")
            .when(sfn.Condition.is_present("$.page.NextToken"), list_more)
            .otherwise(settle_jobs)
        )
        found_on_page = (
            sfn.Choice(self, "AnyShardOnPage")
            .when(
                sfn.Condition.boolean_equals("$.page.stopped.found", True),
                sfn.Pass(
                    self,
                    "MarkShardsFound",
                    result=sfn.Result.from_boolean(True),
                    result_path="$.cleanup.shardsFound",
                ).next(more_pages),
            )
            .otherwise(more_pages)
        )
        batch_failed = sfn.Fail(
            self,
            "BatchFailed",
            error=BATCH_FAILED,
            cause_path=sfn.JsonPath.format(
                "the Map Run of the shards failed with {}: {}; every shard still running and "
                "every job of the batch still active was asked to stop",
                sfn.JsonPath.string_at("$.failure.Error"),
                sfn.JsonPath.string_at("$.failure.Cause"),
            ),
        )
        still_found = sfn.Fail(
            self,
            "BatchFailedStillRunning",
            error=BATCH_FAILED,
            cause_path=sfn.JsonPath.format(
                "the Map Run of the shards failed with {}: {}; after "
                f"{MAX_CLEANUP_ROUNDS} rounds of stopping them, shards or jobs of the batch "
                "were still found running, so some may still run",
                sfn.JsonPath.string_at("$.failure.Error"),
                sfn.JsonPath.string_at("$.failure.Cause"),
            ),
        )
        round_done = (
            sfn.Choice(self, "CleanupRoundDone")
            .when(
                sfn.Condition.and_(
                    sfn.Condition.boolean_equals("$.cleanup.shardsFound", False),
                    sfn.Condition.boolean_equals("$.cleanup.jobs.found", False),
                ),
                batch_failed,
            )
            .when(
                sfn.Condition.number_greater_than_equals("$.cleanup.round", MAX_CLEANUP_ROUNDS),
                still_found,
            )
            .otherwise(next_round)
        )
        for state in (list_first, list_more, stop_page, stop_jobs):
            state.add_catch(cleanup_failed, errors=["States.ALL"], result_path="$.cleanupError")
        statuses = sfn.Pass(
            self,
            "ListActiveStatuses",
            result=sfn.Result.from_array(list(ACTIVE_JOB_STATUSES)),
            result_path="$.activeStatuses",
        )
        first_round.next(statuses).next(next_round).next(settle).next(list_first)
        list_first.next(stop_page)
        list_more.next(stop_page)
        stop_page.next(found_on_page)
        settle_jobs.next(stop_jobs).next(round_done)
        return first_round

    def _stop_running_shards(
        self, pipeline: sfn.StateMachine
    ) -> tuple[tasks.CallAwsService, tasks.CallAwsService, sfn.Map]:
        """ListExecutions of the pipeline (RUNNING, first page and next pages) and a Map that
        stops those named with this batch's tag; its result ``$.page.stopped.found`` says whether
        any was."""

        def list_page(state_id: str, extra: dict[str, Any]) -> tasks.CallAwsService:
            state = tasks.CallAwsService(
                self,
                state_id,
                service="sfn",
                action="listExecutions",
                iam_action="states:ListExecutions",
                iam_resources=[pipeline.state_machine_arn],
                parameters={
                    "StateMachineArn": pipeline.state_machine_arn,
                    "StatusFilter": "RUNNING",
                    "MaxResults": EXECUTIONS_PAGE_SIZE,
                    **extra,
                },
                result_path="$.page",
            )
            state.add_retry(
                errors=["States.ALL"],
                interval=Duration.seconds(2),
                backoff_rate=2.0,
                max_attempts=3,
            )
            return state

        list_first = list_page("ListRunningShards", {})
        list_more = list_page(
            "ListMoreRunningShards", {"NextToken": sfn.JsonPath.string_at("$.page.NextToken")}
        )
        stop = tasks.CallAwsService(
            self,
            "StopShardExecution",
            service="sfn",
            action="stopExecution",
            iam_action="states:StopExecution",
            iam_resources=[_shard_executions(self, pipeline)],
            parameters={"ExecutionArn": sfn.JsonPath.string_at("$.executionArn")},
            result_path=sfn.JsonPath.DISCARD,
        )
        ours = sfn.Pass(self, "ShardStopRequested", result=sfn.Result.from_string("ours"))
        # Best effort: a shard that ended meanwhile cannot be stopped, and that is fine.
        stop.add_catch(ours, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
        stop.next(ours)
        stop_page = sfn.Map(
            self,
            "StopShardsOnPage",
            items_path="$.page.Executions",
            item_selector={
                "executionArn": sfn.JsonPath.string_at("$$.Map.Item.Value.ExecutionArn"),
                "tag": sfn.JsonPath.array_get_item(
                    sfn.JsonPath.string_split(
                        sfn.JsonPath.string_at("$$.Map.Item.Value.Name"), "-"
                    ),
                    0,
                ),
                "shardTag": sfn.JsonPath.string_at("$.shardTag"),
            },
            max_concurrency=10,
            result_selector={"found.$": "States.ArrayContains($, 'ours')"},
            result_path="$.page.stopped",
        )
        stop_page.item_processor(
            sfn.Choice(self, "IsBatchShard")
            .when(sfn.Condition.string_equals_json_path("$.tag", "$.shardTag"), stop)
            .otherwise(sfn.Pass(self, "NotBatchShard", result=sfn.Result.from_string("other")))
        )
        return list_first, list_more, stop_page

    def _stop_active_jobs(self, job_arn: str) -> sfn.Map:
        """For each active status, one page of ListKeyPhrasesDetectionJobs (it takes one filter
        at a time), and a stop for each job carrying the batch's name; the Map's result
        ``$.cleanup.jobs.found`` says whether any was."""
        list_jobs = comprehend_call(
            self,
            "ListActiveJobs",
            "listKeyPhrasesDetectionJobs",
            iam_resources=["*"],
            parameters={
                "Filter": {"JobStatus": sfn.JsonPath.string_at("$.status")},
                "MaxResults": LIST_PAGE_SIZE,
            },
            result_selector={
                "jobs": sfn.JsonPath.list_at("$.KeyPhrasesDetectionJobPropertiesList")
            },
            result_path="$.listed",
        )
        stop_job = comprehend_call(
            self,
            "StopActiveJob",
            "stopKeyPhrasesDetectionJob",
            iam_resources=[job_arn],
            parameters={"JobId": sfn.JsonPath.string_at("$.jobId")},
            result_path=sfn.JsonPath.DISCARD,
        )
        stopped = sfn.Pass(self, "JobStopRequested", result=sfn.Result.from_string("ours"))
        # Best effort: a job that ended meanwhile cannot be stopped, and that is fine.
        stop_job.add_catch(stopped, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
        stop_job.next(stopped)
        ours = (
            sfn.Choice(self, "IsBatchJob")
            .when(sfn.Condition.string_equals_json_path("$.jobName", "$.batchJobName"), stop_job)
            .otherwise(sfn.Pass(self, "NotBatchJob", result=sfn.Result.from_string("other")))
        )
        stop_each = sfn.Map(
            self,
            "StopEachJob",
            items_path="$.listed.jobs",
            item_selector={
                "jobId": sfn.JsonPath.string_at("$$.Map.Item.Value.JobId"),
                "jobName": sfn.JsonPath.string_at("$$.Map.Item.Value.JobName"),
                "batchJobName": sfn.JsonPath.string_at("$.jobName"),
            },
            max_concurrency=5,
            # The item's whole output: whether a job of the batch was found in this status.
            result_selector={"found.$": "States.ArrayContains($, 'ours')"},
            output_path="$.found",
        )
        stop_each.item_processor(ours)
        list_jobs.next(stop_each)
        stop_by_status = sfn.Map(
            self,
            "StopActiveJobs",
            items_path="$.activeStatuses",
            item_selector={
                "status": sfn.JsonPath.string_at("$$.Map.Item.Value"),
                "jobName": sfn.JsonPath.string_at("$.jobName"),
            },
            max_concurrency=1,
            result_selector={"found.$": "States.ArrayContains($, true)"},
            result_path="$.cleanup.jobs",
        )
        stop_by_status.item_processor(list_jobs)
        return stop_by_status

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to start batch executions."""
        return self.state_machine.grant_start_execution(grantee)
