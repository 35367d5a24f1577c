"""The bridge of :mod:`tests.emulator.result_writer`: a Distributed Map's result files."""

from __future__ import annotations

import json
from typing import Any

from .conftest import BUCKET, run
from .test_map_thresholds import distributed_map, items


def test_the_writer_writes_a_manifest_and_a_file_per_status(aws):
    definition = distributed_map(ToleratedFailureCount=1)
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": BUCKET, "Prefix": "results"},
    }
    definition["States"]["Shards"]["ResultWriter"] = writer
    execution = run(aws, definition, items(3, failing=1))
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    details = execution.output["ResultWriterDetails"]
    (map_run,) = aws.map_runs
    assert execution.output["MapRunArn"] == map_run
    assert details == {
        "Bucket": BUCKET,
        "Key": f"results/{map_run.rsplit(':', 1)[1]}/manifest.json",
    }
    s3 = aws.session.client("s3")

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    files = read(details["Key"])["ResultFiles"]  # moto alone: an empty manifest
    assert [len(files[status]) for status in ("SUCCEEDED", "FAILED", "PENDING")] == [1, 1, 0]
    succeeded, failed = read(files["SUCCEEDED"][0]["Key"]), read(files["FAILED"][0]["Key"])
    assert [json.loads(r["Input"]) for r in succeeded] == items(3, 1)["items"][1:]
    assert {r["Status"] for r in succeeded} == {"SUCCEEDED"}
    assert all(json.loads(r["Output"]) == json.loads(r["Input"]) for r in succeeded)
    (failure,) = failed
    assert json.loads(failure["Input"]) == {"index": 0, "fail": True}
    assert (failure["Status"], failure["Error"], failure["Cause"]) == (
        "FAILED",
        "ShardFailed",
        "the shard failed",
    )
    assert failure["ExecutionArn"].rsplit("/", 1)[1] == failure["Name"]
