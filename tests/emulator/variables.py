"""Bridge: variable reads in JSONPath states.

The gap: moto 5.2.5 evaluates every ``$variable`` reference through its JSONata engine, which
needs a Java bridge that is not installed, so any read of a variable fails with ``TypeError``.
(With :mod:`.jsonata_eval` installed that path would evaluate, but as JSONata, which is not
JSONPath: ``$v['a key']`` is read as a filter and returns all of ``$v``, a filter
``[?(@.n > 1)]``, a slice ``[-1:]`` or ``..`` does not parse, a path that is not there gives
``null`` instead of failing the state, and integers beyond 2**53 lose their precision.)

AWS: in a JSONPath state, ``$name`` and ``$name.path`` resolve to the variable's value, or to the
value at that path inside it (the Step Functions guide, "Passing data between states with
variables").

The bridge: a JSONPath state's read of ``$name`` / ``$name.path`` is resolved from the
execution's variable store, the path evaluated as moto evaluates any JSONPath (a path that is not
there fails the state with ``States.Runtime``), exactly that and nothing else. A JSONata state's
read still goes through moto's JSONata path (bridged by :mod:`.jsonata_eval`).
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.utils.json_path import extract_json

from .patching import patched

if TYPE_CHECKING:
    from .local import LocalAws

_VARIABLE_REFERENCE = re.compile(r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<path>(\.|\[).*)?$")


def read_variable(
    inner: Callable[[StringVariableSample, Environment], None],
    sample: StringVariableSample,
    env: Environment,
) -> None:
    """AWS's JSONPath variable read: ``$name`` or ``$name.path``, nothing more."""
    if sample.query_language_mode != QueryLanguageMode.JSONPath:
        inner(sample, env)
        return
    match = _VARIABLE_REFERENCE.match(sample.expression)
    if match is None:
        raise ValueError(f"not a variable reference: {sample.expression!r}")
    value = env.variable_store.get(match["name"])
    if match["path"]:
        value = extract_json("$" + match["path"], value)
    env.stack.append(copy.deepcopy(value))


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner = StringVariableSample._eval_body

    def eval_body(self: StringVariableSample, env: Environment) -> None:
        read_variable(inner, self, env)

    with patched((StringVariableSample, "_eval_body", eval_body)):
        yield
