"""The bridge of :mod:`tests.emulator.sfn_sync`: ``states:startExecution.sync:2``."""

from __future__ import annotations

import uuid

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
)

from tests.emulator.sfn_sync import SYNC_CHECK_SECONDS

from .conftest import machine, task

START_SYNC = "arn:aws:states:::states:startExecution.sync:2"


def test_unnamed_children_start_with_capitalized_fields_and_return_them(aws):
    """Two children started at once without a Name (moto alone would name both ``None``),
    with the integration's capitalized parameters (moto alone passes them to boto3 as written),
    and their results read back capitalized, the child's output as JSON."""
    aws.reset()
    double = {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}}
    child = aws.create_executable(machine(("Double", double)))
    start = task(
        START_SYNC,
        {"StateMachineArn": child, "Input": {"n.$": "$"}},
        # Not StartDate and StopDate: moto keeps them as datetimes, which its own
        # DescribeExecution then cannot write as JSON.
        ResultSelector={"Output.$": "$.Output", "Status.$": "$.Status", "Arn.$": "$.ExecutionArn"},
    )
    fan_out = {
        "Type": "Map",
        "ItemsPath": "$.numbers",
        "ItemProcessor": machine(("StartChild", start)),
    }
    aws.create_executable(machine(("FanOut", fan_out)))
    execution = aws.run({"numbers": [1, 2]})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    assert [result["Output"] for result in execution.output] == [{"doubled": 2}, {"doubled": 4}]
    assert {result["Status"] for result in execution.output} == {"SUCCEEDED"}
    arns = sorted(result["Arn"] for result in execution.output)
    assert sorted(aws.child_executions) == arns
    for arn in arns:
        uuid.UUID(arn.rsplit(":", 1)[1])  # named as AWS names an unnamed execution
    assert state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == SYNC_CHECK_SECONDS
