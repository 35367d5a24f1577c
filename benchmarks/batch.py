"""A 25-shard batch in the local emulator: its concurrency trace, against jobs one at a time.

One stack holds a pipeline and two batches over it: the default (at most 10 jobs at once, the
Comprehend quota) with 20 % of failed shards tolerated, and a baseline that runs one shard at a
time (``max_concurrency=1``, how a user starting jobs by hand without overrunning the quota
would go). Both are synthesized by CDK, deployed into moto and executed by moto's Step Functions
interpreter through the test emulator (``tests/emulator/``; its docstring lists what it bridges).
Shards 3, 11 and 19 fail. Every job stays active for three Describe calls and until every shard
the Map is running has started its job, so what overlaps is what the Map allows.

It prints, for the default batch, the concurrency trace (active jobs after every job start and
end, in real time) and the most jobs active in each tenth of the run; then, for both batches,
the peak of active jobs, the jobs run, the shards failed, the rounds of jobs that makes, the
emulator's wall time, and the Step Functions state transitions the batch adds (its own and one
per shard for the Map's child executions; each shard's pipeline execution costs what the
polling benchmark measures), with ratios. The wall time is the emulator's, where a job lasts
milliseconds and ten concurrent executions share one Python process; on AWS a job takes
minutes, so the figure that carries over is the rounds of jobs: the batch's makespan is about
that many job durations.

    .venv/bin/python -m benchmarks.batch    # from the repository root
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline, PollSchedule
from tests.emulator import ComprehendScript, LocalAws, ScriptedJob, local_aws

ROOT = Path(__file__).resolve().parent.parent
# moto and boto3 need credentials and a region; these are fake and never leave the process.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
)

SHARDS = 25
FAILING = (3, 11, 19)


def batch_stack() -> cdk.Stack:
    app = cdk.App(context=json.loads((ROOT / "cdk.json").read_text())["context"])
    stack = cdk.Stack(app, "BatchBenchmark")
    # A flat five-minute schedule (288 polls): a job held until the Map has started its shards
    # never spends the polling budget while the emulator is busy.
    schedule = PollSchedule(
        initial_interval=Duration.minutes(5), backoff_rate=1.0, max_interval=Duration.minutes(5)
    )
    pipeline = KeyPhrasesPipeline(stack, "Pipeline", poll_schedule=schedule)
    default = KeyPhrasesBatch(stack, "Default", pipeline=pipeline, tolerated_failure_percentage=20)
    one_at_a_time = KeyPhrasesBatch(
        stack, "OneAtATime", pipeline=pipeline, max_concurrency=1, tolerated_failure_percentage=20
    )
    for name, machine in [
        ("PipelineArn", pipeline.state_machine),
        ("DefaultArn", default.state_machine),
        ("OneAtATimeArn", one_at_a_time.state_machine),
    ]:
        cdk.CfnOutput(stack, name, value=machine.state_machine_arn)
    cdk.CfnOutput(stack, "InputBucket", value=pipeline.input_bucket.bucket_name)
    return stack


def shard_prefix(index: int) -> str:
    return f"b/shard-{index:05d}/"


def script(aws: LocalAws) -> ComprehendScript:
    def status(job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        if job.describe_calls < 3 or not aws.running_items_have_jobs():
            return "IN_PROGRESS"
        uri = job.request["InputDataConfig"]["S3Uri"]
        if any(uri.endswith(shard_prefix(i)) for i in FAILING):
            return ("FAILED", "the documents are not UTF-8")
        return "COMPLETED"

    return ComprehendScript(status=status)


@dataclass
class Run:
    name: str
    status: str
    seconds: float
    peak: int
    jobs: int
    failed_shards: int
    batch_transitions: int
    map_child_transitions: int
    trace: list[tuple[float, str, str, int]]


def run(aws: LocalAws, name: str) -> Run:
    aws.reset(script(aws))
    manifest = [{"inputPrefix": shard_prefix(i)} for i in range(SHARDS)]
    aws.session.client("s3").put_object(
        Bucket=aws.outputs["InputBucket"], Key="b/manifest.json", Body=json.dumps(manifest)
    )
    began = time.monotonic()
    execution = aws.run(
        {"manifest": "b/manifest.json"}, state_machine_arn=aws.outputs[f"{name}Arn"], timeout=600
    )
    seconds = time.monotonic() - began
    aws.wait_for_child_executions()
    (map_run,) = aws.map_runs.values()
    return Run(
        name=name,
        status=execution.status,
        seconds=seconds,
        peak=aws.peak_active_jobs(),
        jobs=aws.jobs_started(),
        failed_shards=sum(1 for item in map_run.items if item.status == "FAILED"),
        batch_transitions=execution.transitions,
        # A Map child execution enters one state: RunShard.
        map_child_transitions=len(map_run.items),
        trace=list(aws.active_trace),
    )


def print_trace(result: Run) -> None:
    print(f"concurrency trace, {result.name} batch (seconds, event, job, active jobs after it):")
    for at, event, job_id, active in result.trace:
        print(f"  {at:7.3f}  {event:<14} {job_id[:8]}  {active:2d} {'#' * active}")
    tenths = 10
    span = max(at for at, *_ in result.trace) or 1.0
    print("most jobs active in each tenth of the run:")
    active = 0
    for tenth in range(tenths):
        start, end = span * tenth / tenths, span * (tenth + 1) / tenths
        peak = active
        for at, _, _, after in result.trace:
            if start <= at < end or (tenth == tenths - 1 and at == end):
                peak = max(peak, after)
                active = after
        print(f"  {start:6.2f}-{end:6.2f} s  {peak:2d} {'#' * peak}")


def main() -> None:
    template: Mapping[str, Any] = Template.from_stack(batch_stack()).to_json()
    with local_aws(template, stack_name="BatchBenchmark") as aws:
        for output in ("PipelineArn", "DefaultArn", "OneAtATimeArn"):
            aws.make_deployed_executable(aws.outputs[output])
        aws.real_wait_seconds = 0.1
        default = run(aws, "Default")
        baseline = run(aws, "OneAtATime")
    print_trace(default)
    print()
    print(f"{SHARDS} shards, shards {', '.join(map(str, FAILING))} failing, 20 % tolerated")
    header = f"{'':34}{'default (10)':>14}{'one at a time':>15}{'ratio':>8}"
    print(header)
    rows = [
        ("execution status", default.status, baseline.status),
        ("peak active jobs", default.peak, baseline.peak),
        ("jobs run", default.jobs, baseline.jobs),
        ("shards failed", default.failed_shards, baseline.failed_shards),
        (
            "rounds of jobs (ceil(25 / peak))",
            math.ceil(SHARDS / default.peak),
            math.ceil(SHARDS / baseline.peak),
        ),
        ("emulator wall time (s)", round(default.seconds, 2), round(baseline.seconds, 2)),
        ("transitions: batch execution", default.batch_transitions, baseline.batch_transitions),
        (
            "transitions: Map child executions",
            default.map_child_transitions,
            baseline.map_child_transitions,
        ),
    ]
    for label, mine, theirs in rows:
        ratio = (
            f"{mine / theirs:8.2f}"
            if isinstance(mine, int | float) and isinstance(theirs, int | float) and theirs
            else ""
        )
        print(f"{label:34}{mine!s:>14}{theirs!s:>15}{ratio}")


if __name__ == "__main__":
    main()
