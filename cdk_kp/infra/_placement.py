"""Where a KeyPhrasesWorkflow fragment can run, checked when the app is synthesized, once the
state machines holding it are built (the fragment is built before them).

Refused, each with the reason:

* a JSONPath fragment in a state machine whose top-level ``QueryLanguage`` is JSONata: "You
  cannot revert a top-level JSONata-based state machine to a mix of JSONata and JSONPath
  states" (Step Functions guide, "Structure of state machines"); the JSONata rendition
  (``query_language=QueryLanguage.JSONATA``) runs there;
* an Express state machine: Express executions run "for up to five minutes" (guide, "Choosing
  workflow type"), and a Comprehend job runs for minutes to hours while the fragment polls it;
* the fragment both at one level of a state machine and inside a Map or Parallel below it: the
  fragment's start assigns its variables, and a Map iteration or Parallel branch cannot assign a
  variable of its enclosing scope (guide, "Passing data between states with variables",
  variable scope).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import IValidation

from cdk_kp.infra._states import VAR_SCHEDULE

if TYPE_CHECKING:
    from cdk_kp.infra.workflow import KeyPhrasesWorkflow


def check_where_it_runs(fragment: KeyPhrasesWorkflow) -> None:
    fragment.node.add_validation(_Placement(fragment))


def rendered_definition(machine: sfn.CfnStateMachine) -> dict[str, Any] | None:
    """The definition of ``machine`` as JSON, references replaced by placeholders; ``None``
    when it is not written inline (a definition from S3)."""
    resolved = Stack.of(machine).resolve(machine.definition_string)
    if resolved is None:
        return None
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        delimiter, parts = resolved["Fn::Join"]
        resolved = delimiter.join(p if isinstance(p, str) else "0" for p in parts)
    if not isinstance(resolved, str):
        return None
    definition: dict[str, Any] = json.loads(resolved)
    return definition


def _states(
    definition: dict[str, Any], scope: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str, dict[str, Any]]]:
    """(scope, name, state) of every state, the scope being the Map/Parallel states above it."""
    for name, state in definition.get("States", {}).items():
        yield scope, name, state
        inner = state.get("ItemProcessor") or state.get("Iterator")
        if inner:
            yield from _states(inner, (*scope, name))
        for index, branch in enumerate(state.get("Branches", [])):
            yield from _states(branch, (*scope, f"{name}[{index}]"))


@jsii.implements(IValidation)
class _Placement:
    def __init__(self, fragment: KeyPhrasesWorkflow) -> None:
        self._fragment = fragment

    def validate(self) -> list[str]:
        problems = []
        start = self._fragment.start_task.state_id
        path = self._fragment.node.path
        for machine in self._fragment.node.root.node.find_all():
            if not isinstance(machine, sfn.CfnStateMachine):
                continue
            definition = rendered_definition(machine)
            states = list(_states(definition)) if definition else []
            if not any(name == start for _, name, _ in states):
                continue
            where = machine.node.path
            if Stack.of(machine).resolve(machine.state_machine_type) == "EXPRESS":
                problems.append(
                    f"KeyPhrasesWorkflow {path} cannot run in the Express state machine {where}: "
                    "an Express execution ends after five minutes, and the fragment polls a "
                    "Comprehend job until it ends (minutes to hours); use a Standard state machine"
                )
            if (
                definition is not None
                and definition.get("QueryLanguage") == "JSONata"
                and self._fragment.query_language != sfn.QueryLanguage.JSONATA
            ):
                problems.append(
                    f"KeyPhrasesWorkflow {path} is written in JSONPath and cannot run in {where}, "
                    "whose top-level QueryLanguage is JSONata (a JSONata state machine cannot "
                    "hold JSONPath states); build it with query_language=QueryLanguage.JSONATA"
                )
            problems += _nested_scopes(path, where, states)
        return problems


def _nested_scopes(
    path: str, where: str, states: list[tuple[tuple[str, ...], str, dict[str, Any]]]
) -> list[str]:
    """The fragment (any instance: they share their variables) both in a scope and in a Map or
    Parallel below it."""
    scopes = {scope for scope, _, state in states if VAR_SCHEDULE in state.get("Assign", {})}
    for outer in scopes:
        for inner in scopes:
            if len(inner) > len(outer) and inner[: len(outer)] == outer:
                shown = " > ".join(inner)
                return [
                    f"KeyPhrasesWorkflow {path}: {where} runs the fragment both at "
                    f"{' > '.join(outer) or 'its top level'} and inside {shown}, and a Map or "
                    "Parallel branch cannot assign a variable of its enclosing scope (the "
                    f"fragment's {VAR_SCHEDULE}); run it only outside, or only inside"
                ]
    return []
