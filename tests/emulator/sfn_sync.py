"""Bridge: the optimized Step Functions integration (``states:startExecution.sync:2``).

The gap: moto 5.2.5 passes the state's parameters to boto3 as written (``StateMachineArn``,
``Input``), where boto3's model names them ``stateMachineArn`` and ``input``, and reads the
response as ``ExecutionArn`` where boto3 returns ``executionArn`` (``.sync:2``'s
``DescribeExecution`` result likewise); without ``Name`` it names every execution ``None``, so
the second start collides. It waits 0.5 s between checks of the child's status.

AWS: the optimized integration takes and returns its fields capitalized, and starts an unnamed
execution under a UUID, as ``StartExecution`` does; ``.sync`` is event-driven, so the parent goes
on as soon as the child ends.

The bridge: the parameters are renamed to boto3's names before the call, and the response's keys
(and ``.sync:2``'s output's) capitalized after it; an unnamed execution gets a UUID; the child's
status is checked every 20 ms. Every execution started this way is recorded in
:attr:`LocalAws.child_executions`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws

StateTaskServiceSfn = state_task_service_sfn.StateTaskServiceSfn

#: Real seconds between two checks of a ``.sync`` child's status.
SYNC_CHECK_SECONDS = 0.02


def lower_first(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` under boto3's names: the first letter of each in lower case."""
    return {k[0].lower() + k[1:]: v for k, v in fields.items()}


def upper_first(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` under the integration's names: the first letter of each in upper case."""
    return {k[0].upper() + k[1:]: v for k, v in fields.items()}


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner_call = StateTaskServiceSfn._eval_service_task
    inner_sync2_output = StateTaskServiceSfn._sync2_api_output_of

    def sfn_call(
        self: StateTaskServiceSfn,
        env: Environment,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        parameters = lower_first(normalised_parameters)
        parameters.setdefault("name", str(uuid.uuid4()))
        inner_call(self, env, resource_runtime_part, parameters, state_credentials)
        response = env.stack.pop()
        env.stack.append(upper_first(response))
        if "ExecutionArn" in response or "executionArn" in response:
            with local.lock:
                local.child_executions.append(response.get("executionArn", ""))

    def sync2_output(typ: type, value: dict[str, Any]) -> None:
        inner_sync2_output(typ, value)
        for key in list(value):
            value[key[0].upper() + key[1:]] = value.pop(key)

    with patched(
        (StateTaskServiceSfn, "_eval_service_task", sfn_call),
        (StateTaskServiceSfn, "_sync2_api_output_of", staticmethod(sync2_output)),
        (
            state_task_service_callback,
            "_DELAY_SECONDS_SYNC_CONDITION_CHECK",
            SYNC_CHECK_SECONDS,
        ),
    ):
        yield
