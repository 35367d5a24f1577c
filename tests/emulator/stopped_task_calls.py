"""Bridge: a stop that lands while a Task's parameters are evaluated.

The gap: moto evaluates a stopped execution's (or Map item's) remaining components as no-ops
("pruning"), but lets a Task whose parameters were half pruned go on and call the service with
what is left. A pruned ``States.UUID()`` leaves the state's input where its value should be, so a
Map item stopped with its Map Run started a shard named ``<tag>-{inputPrefix=…}``, or with input
``{}``.

AWS: a stopped execution makes no further call; a call already made stands.

The bridge: after the parameters are evaluated and before the call, the Task checks whether the
execution is still running; if not, it makes no call, and the rest of the state is pruned as
moto prunes it. (A stop after that check finds the parameters whole: the call is then one AWS
could also have in flight.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws

StateTaskService = state_task_service.StateTaskService


class StoppedBeforeCallError(Exception):
    """A Task's execution was stopped before its service call: the call is not made."""


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner_before_call = StateTaskService._before_eval_execution
    inner_execution = StateTaskService._eval_execution

    def before_call(
        self: StateTaskService,
        env: Environment,
        resource_runtime_part: Any,
        raw_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if not env.is_running():
            raise StoppedBeforeCallError  # its parameters may be half pruned: no call
        inner_before_call(self, env, resource_runtime_part, raw_parameters, state_credentials)

    def task_execution(self: StateTaskService, env: Environment) -> None:
        try:
            inner_execution(self, env)
        except StoppedBeforeCallError:
            env.stack.append({})  # the result no later (pruned) component reads

    with patched(
        (StateTaskService, "_before_eval_execution", before_call),
        (StateTaskService, "_eval_execution", task_execution),
    ):
        yield
