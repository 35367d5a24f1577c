"""Bridge: Map Run failure thresholds.

The gap: moto's ASL grammar refuses a whole-number ``ToleratedFailurePercentage`` (``20``, which
JSON and AWS take as ``20.0``). moto counts a Distributed Map's failed items but never fails its
Map Run for them (its ``TODO: add support for failure toleration fields``).

AWS ("Setting failure thresholds for Distributed Map states" in the Step Functions guide): the
Map Run fails with ``States.ExceedToleratedFailureThreshold`` once the failed items exceed
``ToleratedFailureCount`` or their share of all items exceeds ``ToleratedFailurePercentage``; no
further item starts.

The bridge: the executable copy of a definition writes each percentage as a decimal (a rewrite
:meth:`LocalAws.create_executable` applies while the bridge is installed, which also notes each
Map's thresholds), and each Map item's outcome is recorded (:class:`ItemRecord`, in
:attr:`LocalAws.map_runs`); after each item, AWS's rule is applied, a threshold absent from the
definition not applied and both absent tolerating none. The item that crosses the threshold ends
with the Map Run's failure, which moto handles as it handles a failed item's: the Map fails and
no further item starts. The item records also feed
:mod:`.result_writer`, and :mod:`.map_abort` aborts the failed run's children. The Map items
being processed are tracked too, for :meth:`LocalAws.running_items_have_jobs`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as map_worker,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws

Worker = map_worker.DistributedItemProcessorWorker
Thresholds = tuple[int | None, float | None]


@dataclass
class ItemRecord:
    """What one item of a Map Run did, as the result writer reports it."""

    index: int
    input: Any
    execution_arn: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class MapRun:
    """One Map Run: its failure thresholds (``None``: absent from the definition) and items."""

    arn: str
    total: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    items: list[ItemRecord] = field(default_factory=list)
    failed_by_threshold: bool = False

    def failed(self) -> int:
        return sum(1 for item in self.items if item.status == "FAILED")

    def threshold_exceeded(self) -> bool:
        failed = self.failed()
        count, percentage = self.tolerated_count, self.tolerated_percentage
        if count is None and percentage is None:
            count = 0
        return (count is not None and failed > count) or (
            percentage is not None and failed * 100 > percentage * self.total
        )


def thresholds_of(definition: Mapping[str, Any]) -> dict[str, Thresholds]:
    """Failure thresholds of every Distributed Map in ``definition``, by label (or name)."""
    found: dict[str, Thresholds] = {}
    for name, state in definition.get("States", {}).items():
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            found[state.get("Label", name)] = (
                state.get("ToleratedFailureCount"),
                state.get("ToleratedFailurePercentage"),
            )
        if processor:
            found.update(thresholds_of(processor))
        for branch in state.get("Branches", []):
            found.update(thresholds_of(branch))
    return found


def decimal_percentages(node: Any) -> Any:
    """``node`` with every ``ToleratedFailurePercentage`` written as a decimal: moto's ASL
    grammar rejects a whole number there (``20``), which JSON and AWS take as ``20.0``."""
    if isinstance(node, dict):
        return {
            key: float(value)
            if key == "ToleratedFailurePercentage" and isinstance(value, int)
            else decimal_percentages(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [decimal_percentages(value) for value in node]
    return node


def map_run_of(local: LocalAws, worker: Worker) -> MapRun:
    """The record of ``worker``'s Map Run, created at its first item."""
    arn = worker._map_run_record.map_run_arn
    # arn:aws:states:<region>:<account>:mapRun:<state machine>/<label>:<run id>
    machine, _, label = arn.split(":mapRun:", 1)[1].rsplit(":", 1)[0].partition("/")
    with local.lock:
        run = local.map_runs.get(arn)
        if run is None:
            count, percentage = local.map_thresholds[(machine, label)]
            run = local.map_runs[arn] = MapRun(
                arn=arn,
                total=worker._job_pool._jobs_number,
                tolerated_count=count,
                tolerated_percentage=percentage,
            )
    return run


def item_of(run: MapRun, env: Environment, job: Any) -> ItemRecord:
    """What ``job``, one item of ``run``, did."""
    state = env.program_state()
    item = ItemRecord(
        index=job.job_index,
        input=job.job_input,
        execution_arn=f"{run.arn.replace(':mapRun:', ':execution:')}/{uuid.uuid4()}",
        status="SUCCEEDED" if job.job_output is not None else "FAILED",
        output=job.job_output,
    )
    if isinstance(state, ProgramError) and state.error:
        item.error = state.error.get("error")
        item.cause = state.error.get("cause")
    return item


def threshold_failure(env: Environment, run: MapRun) -> FailureEventException:
    """The Map Run's failure, as moto raises an item's."""
    cause = (
        f"The specified tolerated failure threshold was exceeded: {run.failed()} of "
        f"{run.total} items failed"
    )
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(
                typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold
            ),
            event_type=HistoryEventType.MapRunFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]  # total=True stub
                mapRunFailedEventDetails=MapRunFailedEventDetails(
                    error="States.ExceedToleratedFailureThreshold", cause=cause
                )
            ),
        )
    )


def eval_item(local: LocalAws, inner: Any, worker: Worker, env: Environment, job: Any) -> None:
    """Evaluate one Map item, record it, and fail the Map Run if it crosses a threshold."""
    run = map_run_of(local, worker)
    prefix = str(job.job_input.get("inputPrefix") if isinstance(job.job_input, dict) else None)
    with local.lock:
        local.running_items.setdefault(run.arn, []).append(prefix)
    try:
        inner(worker, env, job)
    finally:
        with local.lock:
            local.running_items[run.arn].remove(prefix)
    item = item_of(run, env, job)
    with local.lock:
        run.items.append(item)
        exceeded = not run.failed_by_threshold and run.threshold_exceeded()
        if exceeded:
            run.failed_by_threshold = True
    if exceeded:
        job.job_output = threshold_failure(env, run)


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner = Worker._eval_job

    def eval_job(self: Worker, env: Environment, job: Any) -> None:
        eval_item(local, inner, self, env, job)

    def rewrite(name: str, definition: dict[str, Any]) -> dict[str, Any]:
        for label, thresholds in thresholds_of(definition).items():
            local.map_thresholds[(name, label)] = thresholds
        rewritten: dict[str, Any] = decimal_percentages(definition)
        return rewritten

    local.definition_rewrites.append(rewrite)
    try:
        with patched((Worker, "_eval_job", eval_job)):
            yield
    finally:
        local.definition_rewrites.remove(rewrite)
