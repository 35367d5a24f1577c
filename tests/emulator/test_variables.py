"""The bridge of :mod:`tests.emulator.variables`: JSONPath states read variables as JSONPath."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator import LocalAws

from .conftest import machine, run

VALUE = {"prefixes": ["a/", "b/"], "shards": [{"n": 1}, {"n": 2}], "a key": 7}


def read(aws: LocalAws, reference: str) -> Any:
    definition = machine(
        ("Assign", {"Type": "Pass", "Assign": {"shard": VALUE, "tag": "t"}}),
        ("Read", {"Type": "Pass", "Parameters": {"value.$": reference}}),
    )
    return run(aws, definition)


@pytest.mark.parametrize(
    ("reference", "value"),
    [
        ("$tag", "t"),
        ("$shard", VALUE),
        ("$shard.prefixes[1]", "b/"),
        # JSONPath, not JSONata (which would read the brackets as a filter, or not parse):
        ("$shard['a key']", 7),
        ("$shard.shards[?(@.n > 1)]", [{"n": 2}]),
        ("$shard.shards[-1:]", [{"n": 2}]),
        ("$shard..n", [1, 2]),
    ],
)
def test_a_jsonpath_state_reads_a_variable_and_a_path_inside_it(aws, reference, value):
    execution = read(aws, reference)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output == {"value": value}


def test_a_path_that_is_not_in_the_variable_fails_the_state(aws):
    execution = read(aws, "$shard.missing")
    assert (execution.status, execution.error) == ("FAILED", "States.Runtime")
