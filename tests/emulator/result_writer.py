"""Bridge: the Distributed Map's result writer.

The gap: moto writes an empty ``manifest.json`` and nothing else.

AWS ("ResultWriter (Map)" in the Step Functions guide): under ``<Prefix>/<Map Run ID>/`` it
writes ``manifest.json``, listing the result files by status, and the files themselves:
``SUCCEEDED_0.json`` and ``FAILED_0.json``, each a JSON array of child-execution records
(``ExecutionArn``, ``Name``, ``Status``, ``Input`` and ``Output`` as JSON strings, ``Error`` and
``Cause`` for failures).

The bridge: writes what AWS writes, from what each item actually did (the records of
:mod:`.map_thresholds`), and returns the writer's details (``MapRunArn``,
``ResultWriterDetails``). One difference remains: ``Input`` is the item as read from the
manifest, where AWS records the child execution's input (the item after ``ItemSelector``, which
keeps the item's ``inputPrefix``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer import (
    resource_eval as _result_writer_package,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from .map_thresholds import ItemRecord, MapRun
from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws

#: moto's result writer for the Map state (a module path too long to import by name).
RESULT_WRITER: Any = importlib.import_module(
    _result_writer_package.__name__ + ".resource_eval_s3"
).ResourceEvalS3


def result_record(item: ItemRecord) -> dict[str, Any]:
    """One child-execution record of a result file, with the fields AWS writes."""
    record: dict[str, Any] = {
        "ExecutionArn": item.execution_arn,
        "Name": item.execution_arn.rsplit("/", 1)[1],
        "Status": item.status,
        "Input": json.dumps(item.input),
        "InputDetails": {"Included": True},
    }
    if item.status == "SUCCEEDED":
        record["Output"] = json.dumps(item.output)
        record["OutputDetails"] = {"Included": True}
    else:
        record["Error"] = item.error
        record["Cause"] = item.cause
    return record


def write_results(local: LocalAws, env: Environment) -> None:
    """Write the Map Run's result files and manifest; leave the writer's details on the stack."""
    parameters = env.stack.pop()
    env.stack.pop()  # moto's list of item outputs; the records say more
    run_arn = env.map_run_record_pool_manager.get_all()[-1].map_run_arn
    run = local.map_runs.get(run_arn) or MapRun(run_arn, 0, None, None)
    prefix = parameters["Prefix"].rstrip("/") + "/" if parameters["Prefix"] else ""
    folder = f"{prefix}{run_arn.rsplit(':', 1)[1]}/"
    s3 = boto3.client("s3", region_name=local.region)
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        records = [
            result_record(item)
            for item in sorted(run.items, key=lambda i: i.index)
            if item.status == status
        ]
        if not records:
            continue
        key = f"{folder}{status}_0.json"
        body = json.dumps(records).encode()
        s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest_key = f"{folder}manifest.json"
    manifest = {"DestinationBucket": parameters["Bucket"], "MapRunArn": run_arn}
    manifest["ResultFiles"] = files
    s3.put_object(Bucket=parameters["Bucket"], Key=manifest_key, Body=json.dumps(manifest))
    env.stack.append(
        {
            "MapRunArn": run_arn,
            "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
        }
    )


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    def handle_put_object(env: Environment, resource_runtime_part: Any, credentials: Any) -> None:
        write_results(local, env)

    with patched((RESULT_WRITER, "_handle_put_object", staticmethod(handle_put_object))):
        yield
