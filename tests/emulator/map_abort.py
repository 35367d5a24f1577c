"""Bridge: aborting a failed Map Run's children, and stopping a shard's execution.

The gap: when a Map Run fails, moto stops evaluating its items but leaves the executions they
started through ``states:startExecution.sync:2`` running. And moto's ``StopExecution`` lands
wherever the execution is: in the middle of a task it corrupts the task's evaluation (its
parameters or result half pruned; see :mod:`.stopped_task_calls`).

AWS: a failed Map Run aborts its running child executions; stopping a ``.sync`` task makes "a
best-effort attempt" to stop the execution it started. A stopped execution stops between two
states as far as anything it did is concerned: a call in flight stands, and nothing runs after.

The bridge:

* After an item fails its Map Run (see :mod:`.map_thresholds`), every execution the run's items
  started is aborted, and so is any started after it; an aborted execution stops at its next
  Wait state, between two states. :attr:`LocalAws.propagate_map_abort` off plays the case where
  AWS's best-effort attempt failed: the children keep running.
* A Wait of :data:`ABORT_SECONDS` or more in an execution that is not itself a child (the batch's
  settle wait) first waits until every aborted execution has stopped, as the abort would have
  taken effect on AWS by then (:meth:`LocalAws.wait_for_aborted`; a held start, see
  :mod:`.held_starts`, is a call in flight and is not waited for).
* An ``aws-sdk:sfn:stopExecution`` of a child execution is applied as an abort (it stops at its
  next Wait state) and answers with its ``StopDate``, because moto's ``StopExecution`` in the
  middle of a task corrupts its evaluation.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as map_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from .patching import patched
from .sfn_sync import lower_first

if TYPE_CHECKING:
    from .local import LocalAws

#: A Wait this long (or longer) in an execution that is not itself a shard's lets every aborted
#: execution stop first: on AWS, aborting a Map Run's children takes effect well within it.
ABORT_SECONDS = 30

Worker = map_worker.DistributedItemProcessorWorker
StateTaskServiceSfn = state_task_service_sfn.StateTaskServiceSfn
StateTaskServiceAwsSdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def wait_patch(local: LocalAws) -> tuple[Any, str, Any]:
    """An aborted execution stops at its Wait; a long Wait lets the aborted stop first."""
    inner = WaitFunction._wait_interval

    def wait(self: WaitFunction, env: Environment, wait_seconds: int) -> None:
        arn = env.states.context_object.context_object_data["Execution"]["Id"]
        if arn in local.aborted:
            env.set_stop(stop_date=_now(), cause=None, error=None)  # between two states
            return
        inner(self, env, wait_seconds)
        if wait_seconds >= ABORT_SECONDS and arn not in local.child_executions:
            local.wait_for_aborted()

    return (WaitFunction, "_wait_interval", wait)


def start_patch(local: LocalAws) -> tuple[Any, str, Any]:
    """A child started after its Map Run failed is aborted too."""
    inner = StateTaskServiceSfn._eval_service_task

    def sfn_call(
        self: StateTaskServiceSfn,
        env: Environment,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        inner(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        child = env.stack[-1].get("ExecutionArn")
        with local.lock:
            failed = any(run.failed_by_threshold for run in local.map_runs.values())
            if child is not None and local.propagate_map_abort and failed:
                local.aborted.add(child)

    return (StateTaskServiceSfn, "_eval_service_task", sfn_call)


def item_patch(local: LocalAws) -> tuple[Any, str, Any]:
    """Once its Map Run has failed, the children its items started are aborted."""
    inner = Worker._eval_job

    def eval_job(self: Worker, env: Environment, job: Any) -> None:
        inner(self, env, job)
        run = local.map_runs.get(self._map_run_record.map_run_arn)
        if run is not None and run.failed_by_threshold and local.propagate_map_abort:
            with local.lock:
                local.aborted.update(local.child_executions)

    return (Worker, "_eval_job", eval_job)


def stop_patch(local: LocalAws) -> tuple[Any, str, Any]:
    """``aws-sdk:sfn:stopExecution`` of a child execution: an abort."""
    inner = StateTaskServiceAwsSdk._eval_service_task

    def sdk_call(
        self: StateTaskServiceAwsSdk,
        env: Environment,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if self.resource.api_name == "sfn" and self.resource.api_action == "stopExecution":
            arn: str = lower_first(normalised_parameters)["executionArn"]
            with local.lock:
                child = arn in local.child_executions
                if child:
                    local.aborted.add(arn)
            if child:
                env.stack.append({"StopDate": _now().isoformat()})
                return
        inner(self, env, resource_runtime_part, normalised_parameters, state_credentials)

    return (StateTaskServiceAwsSdk, "_eval_service_task", sdk_call)


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    with patched(wait_patch(local), start_patch(local), item_patch(local), stop_patch(local)):
        yield
