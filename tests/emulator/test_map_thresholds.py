"""The bridge of :mod:`tests.emulator.map_thresholds`: a Distributed Map's failure thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import machine, run


def distributed_map(**thresholds: Any) -> dict[str, Any]:
    """A Distributed Map over ``$.items``: an item with ``fail`` fails, any other succeeds."""
    shard = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.fail", "BooleanEquals": True, "Next": "Failed"}],
        "Default": "Done",
    }
    processor = machine(
        ("Shard", shard),
        ("Failed", {"Type": "Fail", "Error": "ShardFailed", "Cause": "the shard failed"}),
        ("Done", {"Type": "Succeed"}),
        ProcessorConfig={"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    )
    shards = {
        "Type": "Map",
        "Label": "Shards",  # the bridge finds the Map Run's thresholds by its label
        "ItemsPath": "$.items",
        "ItemProcessor": processor,
        **thresholds,
    }
    return machine(("Shards", shards))


def items(total: int, failing: int) -> dict[str, Any]:
    return {"items": [{"index": i, "fail": i < failing} for i in range(total)]}


@pytest.mark.parametrize(
    ("thresholds", "failing", "status"),
    [
        # A whole-number percentage, as JSON and AWS take it (moto's grammar alone refuses it).
        ({"ToleratedFailurePercentage": 20}, 1, "SUCCEEDED"),  # 20 % of 5 is not over 20 %
        ({"ToleratedFailurePercentage": 20}, 2, "FAILED"),
        ({"ToleratedFailureCount": 1}, 1, "SUCCEEDED"),
        ({"ToleratedFailureCount": 1}, 2, "FAILED"),
        ({}, 1, "FAILED"),  # neither threshold: none tolerated
    ],
)
def test_the_map_run_fails_once_its_failures_exceed_a_threshold(aws, thresholds, failing, status):
    execution = run(aws, distributed_map(**thresholds), items(5, failing))
    assert execution.status == status, (execution.error, execution.cause)
    (map_run,) = aws.map_runs.values()
    assert map_run.failed_by_threshold is (status == "FAILED")
    if status == "FAILED":
        assert execution.error == "States.ExceedToleratedFailureThreshold"
        assert f"{failing} of 5 items failed" in (execution.cause or "")
    else:
        assert sorted(item.status for item in map_run.items).count("FAILED") == failing
