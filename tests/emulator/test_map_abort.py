"""The bridge of :mod:`tests.emulator.map_abort`: a failed Map Run aborts its children, a
stopped child stops at its next Wait, and a long Wait lets the aborted stop first.

Each child lists Comprehend's jobs once, then waits in a loop until it is stopped. The
interleavings are driven, not hoped for: the item that fails its Map Run holds its job start
until a child has listed (:meth:`LocalAws.hold_start`, released by :attr:`LocalAws.after_list`),
so the child is running when the Map Run fails; a child's listing waits until the parent's stop
has been made, so that stop lands while the child is in the middle of a task.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)

from tests.emulator import Execution, LocalAws

from .conftest import COMPREHEND, machine, start_request, task

#: When the Map Run fails, moto stops the frame of the item still following its child, and the
#: listener thread of that (already dead) ``.sync`` task dies with a TypeError.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask"
    ":pytest.PytestUnhandledThreadExceptionWarning"
)

LIST_RUNNING = "arn:aws:states:::aws-sdk:sfn:listExecutions"


def child_machine(aws: LocalAws) -> str:
    """List Comprehend's jobs once, then wait 10 s at a time until stopped."""
    listing = task(COMPREHEND + "listKeyPhrasesDetectionJobs", {}, ResultPath=None)
    return aws.create_executable(
        machine(
            ("List", listing),
            ("Wait", {"Type": "Wait", "Seconds": 10}),
            ("Again", {"Type": "Pass", "Next": "Wait"}),
        )
    )


def settle_and_list(child: str) -> list[tuple[str, dict[str, Any]]]:
    """A 30 s Wait, then the child machine's executions still running, in ``$.running``."""
    running = task(
        LIST_RUNNING,
        {"StateMachineArn": child, "StatusFilter": "RUNNING"},
        ResultSelector={"arns.$": "$.Executions[*].ExecutionArn"},
        ResultPath="$.running",
    )
    return [("Settle", {"Type": "Wait", "Seconds": 30}), ("ListRunning", running)]


def failing_map(aws: LocalAws, child: str) -> str:
    """A Distributed Map of two items: one starts a child (``.sync:2``), the other starts a job
    (``fail/``), then fails, which fails the Map Run (no failure tolerated)."""
    shard = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "StartJob"}],
        "Default": "RunChild",
    }
    processor = machine(
        ("Shard", shard),
        (
            "RunChild",
            task(
                "arn:aws:states:::states:startExecution.sync:2",
                {"StateMachineArn": child, "Input": {}},
                ResultSelector={"Status.$": "$.Status"},
                End=True,
            ),
        ),
        ("StartJob", task(COMPREHEND + "startKeyPhrasesDetectionJob", start_request("fail/"))),
        ("Failed", {"Type": "Fail", "Error": "ShardFailed"}),
        ProcessorConfig={"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    )
    shards = {
        "Type": "Map",
        "Label": "Shards",
        "ItemsPath": "$.items",
        "MaxConcurrency": 2,
        "ItemProcessor": processor,
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Settle"}],
    }
    return aws.create_executable(machine(("Shards", shards), *settle_and_list(child)))


def stopped_at_a_wait(aws: LocalAws, arn: str) -> bool:
    """Whether execution ``arn`` was aborted between two states, its last one a Wait."""
    pages = aws.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    history = [event for page in pages for event in page["events"]]
    entered = [e for e in history if e["type"].endswith("StateEntered")]
    last_state: str = entered[-1]["type"]
    return history[-1]["type"] == "ExecutionAborted" and last_state == "WaitStateEntered"


def run_failing_map(aws: LocalAws, *, propagate: bool) -> Execution:
    aws.reset()
    aws.propagate_map_abort = propagate
    released = threading.Event()
    aws.hold_start("fail/", released)
    aws.after_list = released.set  # the child has listed: the failing item may go on
    arn = failing_map(aws, child_machine(aws))
    return aws.run({"items": [{"fail": False}, {"fail": True}]}, state_machine_arn=arn)


def test_a_failed_map_run_aborts_its_running_child_before_a_long_wait_ends(aws):
    execution = run_failing_map(aws, propagate=True)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    assert execution.output["failure"]["Error"] == "States.ExceedToleratedFailureThreshold"
    assert execution.output["running"] == {"arns": []}  # moto alone: the child runs on
    (child,) = aws.child_executions
    assert aws.aborted == {child}
    assert aws.sfn.describe_execution(executionArn=child)["status"] == "ABORTED"
    assert stopped_at_a_wait(aws, child)


def test_without_the_abort_the_child_keeps_running(aws):
    """The switch off: AWS's best-effort stop of the child failed."""
    execution = run_failing_map(aws, propagate=False)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    (child,) = aws.child_executions
    assert execution.output is not None
    assert execution.output["running"] == {"arns": [child]}
    aws.aborted.add(child)  # the test's clean-up: stop it at its next Wait
    aws.wait_for_aborted()


def stopping_parent(aws: LocalAws, child: str) -> str:
    """Start a child (not ``.sync``), stop it through ``aws-sdk:sfn``, wait 30 s, list."""
    start = task(
        "arn:aws:states:::states:startExecution",
        {"StateMachineArn": child, "Input": {}},
        ResultSelector={"arn.$": "$.ExecutionArn"},
        ResultPath="$.child",
    )
    stop = task(
        "arn:aws:states:::aws-sdk:sfn:stopExecution",
        {"ExecutionArn.$": "$.child.arn"},
        ResultPath="$.stopped",
    )
    return aws.create_executable(
        machine(("StartChild", start), ("StopChild", stop), *settle_and_list(child))
    )


def test_stopping_a_child_in_the_middle_of_a_task_stops_it_at_its_next_wait(aws, monkeypatch):
    aws.reset()
    stop_made = threading.Event()
    sdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk
    inner = sdk._eval_service_task

    def sdk_call(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        inner(self, env, *args, **kwargs)
        if self.resource.api_action == "stopExecution":
            stop_made.set()

    def list_answered() -> None:
        assert stop_made.wait(timeout=30)  # the child is in its List task until the stop

    monkeypatch.setattr(sdk, "_eval_service_task", sdk_call)
    aws.after_list = list_answered
    child = child_machine(aws)
    execution = aws.run({}, state_machine_arn=stopping_parent(aws, child))
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    (child_arn,) = aws.child_executions
    assert execution.output["child"]["arn"] == child_arn
    assert "StopDate" in execution.output["stopped"]
    assert execution.output["running"] == {"arns": []}
    assert aws.sfn.describe_execution(executionArn=child_arn)["status"] == "ABORTED"
    assert stopped_at_a_wait(aws, child_arn)  # moto alone: stopped inside its List task
