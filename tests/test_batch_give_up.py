"""KeyPhrasesBatch in moto, giving up: a Map Run that fails beyond the tolerance, and the
clean-up that stops every shard and job still running, whatever the interleaving.
See :mod:`tests.batch_stack` for how the runs are paced."""

from __future__ import annotations

import hashlib
import json
import threading

from moto.comprehend.models import comprehend_backends

from cdk_kp.contract import BATCH_FAILED
from cdk_kp.infra._batch_cleanup import MAX_CLEANUP_ROUNDS

from .batch_stack import (
    IGNORE_DEAD_SYNC_LISTENER,
    SHARDS,
    batch_jobs_of,
    jobs_named,
    run_batch,
    script,
    shard_prefix,
)
from .batch_stack import aws as aws  # fixtures: see tests/batch_stack.py
from .batch_stack import template as template
from .emulator import ACCOUNT, ACTIVE_STATUSES, REGION, ComprehendScript, LocalAws, ScriptedJob

pytestmark = IGNORE_DEAD_SYNC_LISTENER


def test_failures_beyond_the_tolerance_fail_the_batch_and_stop_every_active_job(aws):
    """Shards 0 to 5 fail quickly (the sixth failure is 24 % of 25, over 20 %) while 6 to 9 are
    still running: the Map Run fails, Step Functions stops the running shards' executions
    (which leaves their jobs running), and the batch stops those jobs before it fails."""
    aws.reset(script(aws, set()))
    foreign = aws.session.client("comprehend").start_key_phrases_detection_job(
        InputDataConfig={"S3Uri": f"s3://{aws.outputs['InputBucket']}/other/"},
        OutputDataConfig={"S3Uri": f"s3://{aws.outputs['InputBucket']}/other-out/"},
        DataAccessRoleArn=f"arn:aws:iam::{ACCOUNT}:role/other",
        LanguageCode="en",
        JobName="someone-elses-job",
    )["JobId"]
    execution = run_batch(
        aws, "Tolerant", failing={0, 1, 2, 3, 4, 5}, slow={6, 7, 8, 9}, keep_jobs=True
    )
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "States.ExceedToleratedFailureThreshold" in (execution.cause or "")
    assert "6 of 25 items failed" in (execution.cause or "")
    assert execution.output is None
    aws.wait_for_child_executions()
    name = "key-phrases-batch-" + hashlib.sha256(execution.arn.encode()).hexdigest()
    jobs = {job.input_s3_config["S3Uri"].rsplit("/", 2)[-2]: job for job in jobs_named(name)}
    shard_executions = {
        json.loads(aws.sfn.describe_execution(executionArn=arn)["input"])["inputPrefix"]: arn
        for arn in aws.child_executions
    }
    for index in (6, 7, 8, 9):
        # Aborted with the Map Run: the pipeline could not stop its own job.
        described = aws.sfn.describe_execution(executionArn=shard_executions[shard_prefix(index)])
        assert described["status"] == "ABORTED", index
        job = jobs[f"shard-{index:05d}"]
        assert job.job_status == "STOP_REQUESTED", index  # the batch stopped it
        assert aws.script.jobs[job.job_id].stop_calls == 1
    still_active = [job.job_id for job in jobs.values() if job.job_status in ACTIVE_STATUSES]
    assert still_active == []
    # Another job, active in the same account, is not the batch's to stop.
    backend = comprehend_backends[ACCOUNT][REGION]
    assert backend.jobs[foreign].job_status == "SUBMITTED"
    assert aws.script.jobs[foreign].stop_calls == 0
    assert execution.states_entered().count("StopActiveJob") >= 4


def give_up_script(failing: set[int]) -> ComprehendScript:
    """The shards in ``failing`` fail after three polls; every other job runs until stopped."""

    def status(job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        uri = job.request["InputDataConfig"]["S3Uri"]
        if job.describe_calls >= 3 and any(uri.endswith(shard_prefix(i)) for i in failing):
            return ("FAILED", "the documents are not UTF-8")
        return "IN_PROGRESS"

    return ComprehendScript(status=status)


def start_give_up(
    aws: LocalAws, *, propagate: bool, hold: int | None = None, release_at_listing: bool = False
) -> tuple[threading.Event, list[bool]]:
    """Prepare the tolerant batch's run into its give-up path: shards 0 to 5 fail, the rest run
    until stopped. With ``hold``, that shard's job start is held until ``released`` is set (by
    the first listing of active jobs, with ``release_at_listing``); the returned list records,
    at each listing, whether that shard had a job yet."""
    aws.reset(give_up_script(failing={0, 1, 2, 3, 4, 5}))
    aws.propagate_map_abort = propagate
    released = threading.Event()
    had_job_at_listing: list[bool] = []
    if hold is not None:
        aws.hold_start(shard_prefix(hold), released)

        def after_list() -> None:
            had_job_at_listing.append(
                any(
                    j.request["InputDataConfig"]["S3Uri"].endswith(shard_prefix(hold))
                    for j in aws.script.jobs.values()
                )
            )
            if release_at_listing:
                released.set()

        aws.after_list = after_list
    manifest = [{"inputPrefix": shard_prefix(i)} for i in range(SHARDS)]
    aws.session.client("s3").put_object(
        Bucket=aws.outputs["InputBucket"], Key="incoming/b/manifest.json", Body=json.dumps(manifest)
    )
    return released, had_job_at_listing


def test_a_job_that_starts_after_the_first_listing_is_stopped_by_a_later_round(aws):
    """The race the give-up path must not lose: shard 9's StartKeyPhrasesDetectionJob call is
    in flight when the Map Run fails, and lands only after the clean-up has listed the active
    jobs once (the emulator holds it until exactly then). Shard 9's execution was still running
    at the round's look at the shards, so the round goes on to another, which finds and stops
    the late job. (With a single round, this job would keep running.)"""
    _, had_job_at_listing = start_give_up(aws, propagate=True, hold=9, release_at_listing=True)
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs["TolerantArn"], timeout=60
    )
    aws.wait_for_child_executions()
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "every shard still running and every job of the batch" in (execution.cause or "")
    assert had_job_at_listing[0] is False  # the first listing could not see it
    jobs = batch_jobs_of(execution)
    late = jobs["shard-00009"]
    assert late.job_status == "STOP_REQUESTED"
    assert aws.script.jobs[late.job_id].stop_calls == 1
    assert [j.job_id for j in jobs.values() if j.job_status in ACTIVE_STATUSES] == []
    assert execution.states_entered().count("NextCleanupRound") >= 2


def test_shards_the_map_run_left_running_are_stopped_by_the_batch(aws):
    """AWS stops a .sync task's child execution only on a best-effort basis. When that fails,
    the shards' pipeline executions keep running after the Map Run failed; the batch stops them
    itself (by their names, tagged with the batch), then their jobs."""
    start_give_up(aws, propagate=False)
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs["TolerantArn"], timeout=60
    )
    aws.wait_for_child_executions()
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    stopped = [
        arn
        for arn in aws.child_executions
        if aws.sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    ]
    assert len(stopped) >= 4  # shards 6 to 9 at least, and any started before the Map failed
    assert execution.states_entered().count("StopShardExecution") == len(stopped)
    jobs = batch_jobs_of(execution)
    assert [j.job_id for j in jobs.values() if j.job_status in ACTIVE_STATUSES] == []
    for job in jobs.values():
        if job.job_status == "STOP_REQUESTED":
            assert aws.script.jobs[job.job_id].stop_calls == 1


def test_a_shard_that_never_stops_ends_the_clean_up_after_its_last_round(aws):
    """Shard 9's start is held for the whole run, so its execution is still running at every
    round: after the last round the batch fails saying that some may still run."""
    released, _ = start_give_up(aws, propagate=True, hold=9)
    try:
        execution = aws.run(
            {"manifest": "b/manifest.json"},
            state_machine_arn=aws.outputs["TolerantArn"],
            timeout=60,
        )
    finally:
        released.set()
        aws.wait_for_child_executions()
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert f"after {MAX_CLEANUP_ROUNDS} rounds of stopping them" in (execution.cause or "")
    assert "BatchFailedStillRunning" in execution.states_entered()
    assert execution.states_entered().count("NextCleanupRound") == MAX_CLEANUP_ROUNDS


def test_a_clean_up_that_fails_says_jobs_may_still_run(aws):
    aws.reset(script(aws, failing={0}))
    aws.script.fail_list = ["InternalServerException"] * 7  # the first List and its 6 retries
    manifest = [{"inputPrefix": shard_prefix(i)} for i in range(3)]
    aws.session.client("s3").put_object(
        Bucket=aws.outputs["InputBucket"], Key="incoming/b/manifest.json", Body=json.dumps(manifest)
    )
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs["StrictArn"], timeout=30
    )
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "States.ExceedToleratedFailureThreshold" in (execution.cause or "")
    assert "failed with Comprehend.InternalServerException, so some may still run" in (
        execution.cause or ""
    )
    assert "BatchFailedJobsMayRun" in execution.states_entered()
