"""The batch's give-up path: when the Map Run of the shards fails, stop the batch's running shard
executions and its active jobs, round after round, until a round finds neither; then fail.

Each round waits SETTLE_SECONDS, stops every running execution of the pipeline that is a shard of
this batch (named ``<shardTag>-…``), waits SETTLE_SECONDS more, and stops every job of the batch
still ``SUBMITTED`` or ``IN_PROGRESS``. Only running shard executions start jobs, so a round that
finds neither a running shard nor an active job ends the clean-up (the wait between the two looks
lets a Start call in flight when a shard ended land first); otherwise another round runs, at most
MAX_CLEANUP_ROUNDS.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from cdk_kp.contract import ACTIVE_JOB_STATUSES, BATCH_FAILED, JOB_NAME, LIST_PAGE_SIZE
from cdk_kp.infra._batch_shards import shard_executions
from cdk_kp.infra._states import comprehend_call

#: How long the give-up path waits before each look at the shards' executions and before each
#: look at the batch's jobs: Step Functions stops the Map Run's children asynchronously when it
#: fails, and an API call in flight when an execution ends (a StartExecution of a shard, a
#: StartKeyPhrasesDetectionJob of a job) can still land after that.
SETTLE_SECONDS = 30
#: The most rounds of the give-up path: it ends as soon as a round finds neither a running
#: shard nor an active job, and reports that some may still run if the last round still found
#: some.
MAX_CLEANUP_ROUNDS = 10
#: Executions read per ListExecutions page (a page of 100 stays well within the 256 KiB state
#: payload).
EXECUTIONS_PAGE_SIZE = 100
#: What a stop Map's items answer: one of the batch's was found (and asked to stop), or not.
_OURS = "ours"
_OTHER = "other"


def give_up(scope: Construct, pipeline: sfn.StateMachine, job_arn: str) -> sfn.IChainable:
    """The give-up path, entered with the Map's failure in ``$.failure``."""
    cleanup_failed = _batch_failed(
        scope,
        "BatchFailedJobsMayRun",
        "finding or stopping the running shards and active jobs of the batch failed with {}, "
        "so some may still run",
        "$.cleanupError.Error",
    )
    first_round = sfn.Pass(
        scope,
        "PrepareCleanup",
        result=sfn.Result.from_object({"round": 0}),
        result_path="$.cleanup",
    )
    next_round = sfn.Pass(
        scope,
        "NextCleanupRound",
        parameters={
            "round": sfn.JsonPath.math_add(sfn.JsonPath.number_at("$.cleanup.round"), 1),
            "shardsFound": False,
        },
        result_path="$.cleanup",
    )
    settle = _settle(scope, "SettleBeforeCleanup")
    stop_jobs = _stop_active_jobs(scope, job_arn)
    settle_jobs = _settle(scope, "SettleBeforeStoppingJobs")
    list_first, list_more, stop_page = _stop_running_shards(scope, pipeline)
    more_pages = (
        sfn.Choice(scope, "MoreShardPages")
        .when(sfn.Condition.is_present("$.page.NextToken"), list_more)
        .otherwise(settle_jobs)
    )
    found_on_page = _mark_shards_found(scope, more_pages)
    round_done = _round_done(scope, next_round)
    for state in (list_first, list_more, stop_page, stop_jobs):
        state.add_catch(cleanup_failed, errors=["States.ALL"], result_path="$.cleanupError")
    statuses = sfn.Pass(
        scope,
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


def _batch_failed(scope: Construct, state_id: str, cause: str, *paths: str) -> sfn.Fail:
    """A Fail with ``KeyPhrasesBatchFailed``, its cause the Map Run's failure and ``cause``
    (with the values at ``paths``)."""
    return sfn.Fail(
        scope,
        state_id,
        error=BATCH_FAILED,
        cause_path=sfn.JsonPath.format(
            "the Map Run of the shards failed with {}: {}; " + cause,
            sfn.JsonPath.string_at("$.failure.Error"),
            sfn.JsonPath.string_at("$.failure.Cause"),
            *(sfn.JsonPath.string_at(path) for path in paths),
        ),
    )


def _settle(scope: Construct, state_id: str) -> sfn.Wait:
    return sfn.Wait(scope, state_id, time=sfn.WaitTime.duration(Duration.seconds(SETTLE_SECONDS)))


def _mark_shards_found(scope: Construct, more_pages: sfn.Choice) -> sfn.Choice:
    """After a page: remember whether a shard of the batch was on it, then look for more."""
    return (
        sfn.Choice(scope, "AnyShardOnPage")
        .when(
            sfn.Condition.boolean_equals("$.page.stopped.found", True),
            sfn.Pass(
                scope,
                "MarkShardsFound",
                result=sfn.Result.from_boolean(True),
                result_path="$.cleanup.shardsFound",
            ).next(more_pages),
        )
        .otherwise(more_pages)
    )


def _round_done(scope: Construct, next_round: sfn.IChainable) -> sfn.Choice:
    """After a round: fail if it found nothing left to stop, or the rounds are spent; else
    another round."""
    batch_failed = _batch_failed(
        scope,
        "BatchFailed",
        "every shard still running and every job of the batch still active was asked to stop",
    )
    still_found = _batch_failed(
        scope,
        "BatchFailedStillRunning",
        f"after {MAX_CLEANUP_ROUNDS} rounds of stopping them, shards or jobs of the batch were "
        "still found running, so some may still run",
    )
    return (
        sfn.Choice(scope, "CleanupRoundDone")
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


def _list_executions(
    scope: Construct, state_id: str, pipeline: sfn.StateMachine, extra: dict[str, Any]
) -> tasks.CallAwsService:
    """A page of the pipeline's RUNNING executions."""
    state = tasks.CallAwsService(
        scope,
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
        errors=["States.ALL"], interval=Duration.seconds(2), backoff_rate=2.0, max_attempts=3
    )
    return state


def _best_effort_stop(scope: Construct, stop: tasks.CallAwsService, state_id: str) -> sfn.Pass:
    """What a stop answers, whether it worked or not (one that ended meanwhile cannot be
    stopped, and that is fine): that it was one of the batch's."""
    ours = sfn.Pass(scope, state_id, result=sfn.Result.from_string(_OURS))
    stop.add_catch(ours, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
    stop.next(ours)
    return ours


def _found_map(
    scope: Construct,
    state_id: str,
    items_path: str,
    item_selector: dict[str, Any],
    **props: Any,
) -> sfn.Map:
    """A Map whose items each answer whether they stopped one of the batch's (``ours``): its
    result is ``{"found": <any of them did>}``."""
    return sfn.Map(
        scope,
        state_id,
        items_path=items_path,
        item_selector=item_selector,
        result_selector={"found.$": f"States.ArrayContains($, '{_OURS}')"},
        **props,
    )


def _stop_running_shards(
    scope: Construct, pipeline: sfn.StateMachine
) -> tuple[tasks.CallAwsService, tasks.CallAwsService, sfn.Map]:
    """ListExecutions of the pipeline (RUNNING, first page and next pages) and a Map that
    stops those named with this batch's tag; its result ``$.page.stopped.found`` says whether
    any was."""
    list_first = _list_executions(scope, "ListRunningShards", pipeline, {})
    list_more = _list_executions(
        scope,
        "ListMoreRunningShards",
        pipeline,
        {"NextToken": sfn.JsonPath.string_at("$.page.NextToken")},
    )
    stop = tasks.CallAwsService(
        scope,
        "StopShardExecution",
        service="sfn",
        action="stopExecution",
        iam_action="states:StopExecution",
        iam_resources=[shard_executions(scope, pipeline)],
        parameters={"ExecutionArn": sfn.JsonPath.string_at("$.executionArn")},
        result_path=sfn.JsonPath.DISCARD,
    )
    _best_effort_stop(scope, stop, "ShardStopRequested")
    stop_page = _found_map(
        scope,
        "StopShardsOnPage",
        "$.page.Executions",
        {
            "executionArn": sfn.JsonPath.string_at("$$.Map.Item.Value.ExecutionArn"),
            "tag": sfn.JsonPath.array_get_item(
                sfn.JsonPath.string_split(sfn.JsonPath.string_at("$$.Map.Item.Value.Name"), "-"),
                0,
            ),
            "shardTag": sfn.JsonPath.string_at("$.shardTag"),
        },
        max_concurrency=10,
        result_path="$.page.stopped",
    )
    stop_page.item_processor(
        sfn.Choice(scope, "IsBatchShard")
        .when(sfn.Condition.string_equals_json_path("$.tag", "$.shardTag"), stop)
        .otherwise(sfn.Pass(scope, "NotBatchShard", result=sfn.Result.from_string(_OTHER)))
    )
    return list_first, list_more, stop_page


def _stop_jobs_on_page(scope: Construct, job_arn: str) -> tasks.CallAwsService:
    """One page of ListKeyPhrasesDetectionJobs in ``$.status``, and a stop for each job carrying
    the batch's name; the Map's output says whether any was. Returns the chain's start."""
    list_jobs = comprehend_call(
        scope,
        "ListActiveJobs",
        "listKeyPhrasesDetectionJobs",
        iam_resources=["*"],
        parameters={
            "Filter": {"JobStatus": sfn.JsonPath.string_at("$.status")},
            "MaxResults": LIST_PAGE_SIZE,
        },
        result_selector={"jobs": sfn.JsonPath.list_at("$.KeyPhrasesDetectionJobPropertiesList")},
        result_path="$.listed",
    )
    stop_job = comprehend_call(
        scope,
        "StopActiveJob",
        "stopKeyPhrasesDetectionJob",
        iam_resources=[job_arn],
        parameters={"JobId": sfn.JsonPath.string_at("$.jobId")},
        result_path=sfn.JsonPath.DISCARD,
    )
    _best_effort_stop(scope, stop_job, "JobStopRequested")
    ours = (
        sfn.Choice(scope, "IsBatchJob")
        .when(sfn.Condition.string_equals_json_path("$.jobName", "$.batchJobName"), stop_job)
        .otherwise(sfn.Pass(scope, "NotBatchJob", result=sfn.Result.from_string(_OTHER)))
    )
    # The item's whole output: whether a job of the batch was found in this status.
    stop_each = _found_map(
        scope,
        "StopEachJob",
        "$.listed.jobs",
        {
            "jobId": sfn.JsonPath.string_at("$$.Map.Item.Value.JobId"),
            "jobName": sfn.JsonPath.string_at("$$.Map.Item.Value.JobName"),
            "batchJobName": sfn.JsonPath.string_at(f"$.{JOB_NAME}"),
        },
        max_concurrency=5,
        output_path="$.found",
    )
    stop_each.item_processor(ours)
    list_jobs.next(stop_each)
    return list_jobs


def _stop_active_jobs(scope: Construct, job_arn: str) -> sfn.Map:
    """For each active status, one page of ListKeyPhrasesDetectionJobs (it takes one filter at
    a time) and a stop for each job of the batch; the Map's result ``$.cleanup.jobs.found``
    says whether any was."""
    stop_jobs_on_page = _stop_jobs_on_page(scope, job_arn)
    stop_by_status = sfn.Map(
        scope,
        "StopActiveJobs",
        items_path="$.activeStatuses",
        item_selector={
            "status": sfn.JsonPath.string_at("$$.Map.Item.Value"),
            JOB_NAME: sfn.JsonPath.string_at(f"$.{JOB_NAME}"),
        },
        max_concurrency=1,
        result_selector={"found.$": "States.ArrayContains($, true)"},
        result_path="$.cleanup.jobs",
    )
    stop_by_status.item_processor(stop_jobs_on_page)
    return stop_by_status
