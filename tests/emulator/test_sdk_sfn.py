"""The bridge of :mod:`tests.emulator.sdk_sfn`: ``aws-sdk:sfn:*`` in PascalCase."""

from __future__ import annotations

import datetime

from .conftest import machine, task


def test_list_executions_takes_and_returns_pascal_case_with_string_timestamps(aws):
    aws.reset()
    listed = aws.create_executable(machine(("Nothing", {"Type": "Pass"})))
    done = aws.run({})
    listing = task(
        "arn:aws:states:::aws-sdk:sfn:listExecutions",
        {"StateMachineArn": listed, "StatusFilter": "SUCCEEDED"},
    )
    aws.create_executable(machine(("List", listing)))
    execution = aws.run({})
    # moto alone: boto3 refuses StateMachineArn, and would answer in camelCase with datetimes
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    (found,) = execution.output["Executions"]
    assert found["ExecutionArn"] == done.arn
    assert (found["StateMachineArn"], found["Status"]) == (listed, "SUCCEEDED")
    datetime.datetime.fromisoformat(found["StartDate"])
    datetime.datetime.fromisoformat(found["StopDate"])
