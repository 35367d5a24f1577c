"""How an execution ended, as ``cdk-kp`` says it, and the exit code each ending has. An execution
stopped from outside its definition may leave jobs running: they are named, each with the command
that stops it."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from cdk_kp import contract
from cdk_kp.runtime.cli.display import Display
from cdk_kp.runtime.cli.exit_codes import INVALID_INPUT, JOB_FAILED, OK, TIMED_OUT

if TYPE_CHECKING:
    from cdk_kp.runtime.client import ExecutionJobs, JobState, KeyPhrasesClient, Outcome


def is_batch(outcome: Outcome) -> bool:
    """Whether ``outcome`` is a succeeded KeyPhrasesBatch execution (its output names the Map
    Run's results)."""
    return outcome.succeeded and contract.RESULTS_MANIFEST in (outcome.output or {})


def stop_job_command(job_id: str, region: str) -> str:
    """The AWS CLI command that stops key phrase job ``job_id``."""
    return (
        f"aws comprehend stop-key-phrases-detection-job --job-id {shlex.quote(job_id)} "
        f"--region {shlex.quote(region)}"
    )


def report_ending(client: KeyPhrasesClient, outcome: Outcome, display: Display) -> int:
    """Say how ``outcome``'s execution ended (or that it succeeded, and where its results are);
    the exit code of that ending."""
    output = outcome.output or {}
    if is_batch(outcome):
        display.say(
            f"SUCCEEDED: every shard's result listed in "
            f"s3://{output.get(contract.RESULTS_BUCKET)}/{output.get(contract.RESULTS_MANIFEST)}"
        )
        return OK
    if outcome.succeeded:
        display.say(
            f"COMPLETED: job {output.get(contract.JOB_ID)}, results at "
            f"{output.get(contract.OUTPUT_S3_URI)}"
        )
        return OK
    if outcome.status in ("ABORTED", "TIMED_OUT"):
        return _report_ended_from_outside(client, outcome, display)
    display.say(f"{outcome.status}: {outcome.error}: {outcome.cause}")
    if outcome.error == contract.INVALID_INPUT:
        return INVALID_INPUT
    if outcome.error == contract.JOB_TIMED_OUT:
        return TIMED_OUT
    return JOB_FAILED


def _report_ended_from_outside(client: KeyPhrasesClient, outcome: Outcome, display: Display) -> int:
    """Step Functions ended the execution from outside its definition (StopExecution, or the
    state machine's timeout): nothing in the workflow stopped its jobs."""
    stopped = outcome.status == "ABORTED"
    how = "was stopped" if stopped else "ran past its state machine's timeout"
    reason = ": ".join(str(part) for part in (outcome.error, outcome.cause) if part)
    display.say(
        f"{outcome.status}: execution {outcome.execution_arn} {how}"
        + (f" ({reason})" if reason else "")
    )
    _report_jobs(client, outcome, display)
    return TIMED_OUT if outcome.status == "TIMED_OUT" else JOB_FAILED


def _report_jobs(client: KeyPhrasesClient, outcome: Outcome, display: Display) -> None:
    """Name the jobs a stopped execution started that may still run, each with the command
    that stops it; say so when it started none, or when they have all ended."""
    import botocore.exceptions

    from cdk_kp.runtime.client import region_of

    region = region_of(outcome.execution_arn)
    try:
        found = client.execution_jobs(outcome.execution_arn)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        display.say(
            f"its Comprehend jobs could not be looked up ({error}) and may still be running; "
            f"list them with:\n  aws comprehend list-key-phrases-detection-jobs --region {region}"
        )
        return
    if not found.jobs:
        what = "the batch" if found.batch_job_name else "the execution"
        display.say(f"{what} started no Comprehend job: nothing to stop")
        return
    for job in _jobs_to_name(found, display):
        display.say(_job_line(job, found.region))


def _jobs_to_name(found: ExecutionJobs, display: Display) -> list[JobState]:
    """The jobs worth a line: a pipeline execution's job, or a batch's jobs that may still run
    (after a line on them all)."""
    if found.batch_job_name is None:
        return found.jobs
    jobs = [job for job in found.jobs if job.may_be_running]
    display.say(
        f"the batch started {len(found.jobs)} Comprehend job(s), named "
        f"{found.batch_job_name}; {len(jobs)} may still be running"
        + ("" if jobs else ": nothing to stop")
    )
    return jobs


def _job_line(job: JobState, region: str) -> str:
    """What became of ``job``: ended, being stopped, or how to stop it."""
    if not job.may_be_running:
        stopping = job.status == contract.JobStatus.STOP_REQUESTED
        how = "is being stopped" if stopping else "has ended"
        return f"Comprehend job {job.job_id} {how} ({job.status}): nothing to stop"
    status = job.status or f"its status could not be read: {job.problem}"
    return (
        f"Comprehend job {job.job_id} may still be running ({status}); stopping an "
        f"execution does not stop its job. Stop it with:\n"
        f"  {stop_job_command(job.job_id, region)}"
    )
