"""What polling costs: the shipped workflow against a fixed 60 s poller, on a virtual clock.

Both definitions are synthesized by CDK, deployed into moto and executed by moto's Step Functions
interpreter (the test emulator, ``tests/emulator/``): Wait states and retry intervals advance a
virtual clock instead of sleeping, and the emulated Comprehend job reports IN_PROGRESS until its
virtual end time, then COMPLETED. For each job duration it prints state transitions (states
entered, from the execution history), Describe calls, history events and the detection lag (job
end to execution end), for both, and their ratios.

The reference is built like the AWS job-poller sample: Start, then Wait 60 s, Describe, Choice,
around again until the job ends.

    .venv/bin/python -m benchmarks.polling            # 40 durations, 2 minutes to 24 hours
    .venv/bin/python -m benchmarks.polling --points 5 # a quick look

(from the repository root: ``tests.emulator`` is imported as a package).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesStack
from cdk_kp.contract import HISTORY_EVENT_LIMIT
from tests.emulator import ComprehendScript, LocalAws, local_aws

# moto and boto3 need credentials and a region; these are fake and never leave the process.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
)

FIXED_INTERVAL = 60
MIN_DURATION = 120
MAX_DURATION = 24 * 3600


def fixed_poller_stack() -> cdk.Stack:
    """The AWS job-poller sample's shape, for Comprehend: Start; Wait 60 s; Describe; Choice."""
    stack = cdk.Stack(cdk.App(), "FixedPoller")
    bucket = s3.Bucket(stack, "Docs")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
    start = tasks.CallAwsService(
        stack,
        "StartJob",
        service="comprehend",
        action="startKeyPhrasesDetectionJob",
        iam_resources=["*"],
        parameters={
            "InputDataConfig": {"S3Uri": f"s3://{bucket.bucket_name}/in/"},
            "OutputDataConfig": {"S3Uri": f"s3://{bucket.bucket_name}/out/"},
            "DataAccessRoleArn": role.role_arn,
            "LanguageCode": "en",
        },
        result_selector={"JobId": sfn.JsonPath.string_at("$.JobId")},
    )
    wait = sfn.Wait(stack, "Wait", time=sfn.WaitTime.duration(Duration.seconds(FIXED_INTERVAL)))
    describe = tasks.CallAwsService(
        stack,
        "DescribeJob",
        service="comprehend",
        action="describeKeyPhrasesDetectionJob",
        iam_resources=["*"],
        parameters={"JobId": sfn.JsonPath.string_at("$.JobId")},
        result_selector={
            "JobId": sfn.JsonPath.string_at("$.KeyPhrasesDetectionJobProperties.JobId"),
            "JobStatus": sfn.JsonPath.string_at("$.KeyPhrasesDetectionJobProperties.JobStatus"),
        },
    )
    done = (
        sfn.Choice(stack, "JobDone?")
        .when(sfn.Condition.string_equals("$.JobStatus", "COMPLETED"), sfn.Succeed(stack, "Done"))
        .when(sfn.Condition.string_equals("$.JobStatus", "FAILED"), sfn.Fail(stack, "Failed"))
        .otherwise(wait)
    )
    machine = sfn.StateMachine(
        stack,
        "Machine",
        definition_body=sfn.DefinitionBody.from_chainable(
            start.next(wait).next(describe).next(done)
        ),
    )
    cdk.CfnOutput(stack, "StateMachineArn", value=machine.state_machine_arn)
    return stack


@dataclass
class Run:
    duration: int
    transitions: int
    describes: int
    events: int
    lag: float
    status: str


def run_sweep(template: Mapping[str, Any], stack_name: str, durations: list[int]) -> list[Run]:
    runs = []
    with local_aws(template, stack_name=stack_name) as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["StateMachineArn"]))
        for duration in durations:
            runs.append(run_one(aws, duration))
    return runs


def run_one(aws: LocalAws, duration: int) -> Run:
    aws.reset(ComprehendScript.completes_after(duration))
    execution = aws.run({}, timeout=600)
    (job,) = aws.script.jobs.values()
    return Run(
        duration=duration,
        transitions=execution.transitions,
        describes=job.describe_calls,
        events=len(execution.history),
        lag=aws.clock.now - job.started_at - duration,
        status=execution.status,
    )


def lag_target(duration: int) -> float:
    return max(60.0, min(0.2 * duration, 600.0))


def durations(points: int) -> list[int]:
    ratio = MAX_DURATION / MIN_DURATION
    return [round(MIN_DURATION * ratio ** (i / (points - 1))) for i in range(points)]


def human(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=40, help="job durations (log-spaced)")
    args = parser.parse_args()
    sweep = durations(args.points)

    began = time.perf_counter()
    shipped = run_sweep(
        Template.from_stack(KeyPhrasesStack(cdk.App(), "KeyPhrasesStack")).to_json(),
        "KeyPhrasesStack",
        sweep,
    )
    fixed = run_sweep(Template.from_stack(fixed_poller_stack()).to_json(), "FixedPoller", sweep)
    elapsed = time.perf_counter() - began

    print("Polling cost: cdk_kp's default schedule against a fixed 60 s poller (virtual clock)")
    print(
        f"{'job':>9} | {'transitions':>11} {'fixed':>6} {'ratio':>6} | {'describes':>9} "
        f"{'fixed':>5} | {'events':>6} {'fixed':>6} | {'lag s':>6} {'fixed':>5} {'target':>6}"
    )
    lag_ok = extra_ok = True
    for ours, ref in zip(shipped, fixed, strict=True):
        assert ours.status == ref.status == "SUCCEEDED", (ours, ref)
        target = lag_target(ours.duration)
        lag_ok &= ours.lag <= target
        extra_ok &= ours.transitions <= ref.transitions + 2 * 3
        print(
            f"{human(ours.duration):>9} | {ours.transitions:>11} {ref.transitions:>6} "
            f"{ours.transitions / ref.transitions:>6.3f} | "
            f"{ours.describes:>9} {ref.describes:>5} | "
            f"{ours.events:>6} {ref.events:>6} | {ours.lag:>6.0f} {ref.lag:>5.0f} {target:>6.0f}"
        )

    with local_aws(
        Template.from_stack(KeyPhrasesStack(cdk.App(), "KeyPhrasesStack")).to_json()
    ) as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["StateMachineArn"]))
        exact = {hours: run_one(aws, hours * 3600) for hours in (2, 12)}
        aws.reset(ComprehendScript())  # never completes: the longest run the budget allows
        longest = aws.run({}, timeout=600)
    with local_aws(
        Template.from_stack(fixed_poller_stack()).to_json(), stack_name="FixedPoller"
    ) as aws:
        aws.create_executable(aws.resolved_definition(aws.outputs["StateMachineArn"]))
        exact_fixed = {hours: run_one(aws, hours * 3600) for hours in (2, 12)}

    print()
    for hours, limit in ((2, 1 / 4), (12, 1 / 8)):
        ours, ref = exact[hours], exact_fixed[hours]
        ratio = ours.transitions / ref.transitions
        print(
            f"{hours:>2} h job: {ours.transitions} transitions against {ref.transitions}, "
            f"ratio {ratio:.3f} (target at most {limit:.3f}): "
            f"{'met' if ratio <= limit else 'MISSED'}"
        )
    print(
        f"detection lag within max(60 s, min(20 % of the job, 10 min)) at every duration: "
        f"{'met' if lag_ok else 'MISSED'}"
    )
    print(
        f"never more than the fixed poller's transitions plus two polls: "
        f"{'met' if extra_ok else 'MISSED'}"
    )
    print(
        f"longest run the 24 h budget allows: {len(longest.history)} history events "
        f"({longest.error}), {len(longest.history) / HISTORY_EVENT_LIMIT:.1%} of "
        f"{HISTORY_EVENT_LIMIT:,}"
    )
    print(f"sweep of {len(sweep)} durations x 2 definitions took {elapsed:.0f} s of real time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
