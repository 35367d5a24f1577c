"""Bridge: JSONata.

The gap: moto 5.2.5 evaluates JSONata through a Java bridge that is not installed (its evaluator
is ``None``), and declares Step Functions' ``$hash`` and ``$uuid`` as stubs ("currently not
supported").

AWS: a JSONata state evaluates its ``{% ... %}`` expressions with JSONata, plus the functions
Step Functions provides, among them ``$hash(value, algorithm)`` and ``$uuid()`` ("JSONata
functions provided by Step Functions" in the Step Functions guide).

The bridge: expressions are evaluated with jsonata-python, the Python port of the library moto's
Java bridge would call (dashjoin's jsonata-java), and ``$hash`` and ``$uuid`` are registered as
native functions with their documented behaviour (moto's stubs are taken out of its table while
the bridge is installed).
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jsonata
from moto.stepfunctions.parser.asl.component.intrinsic.jsonata import (
    _DECLARATION_BY_VARIABLE_REFERENCE as JSONATA_FUNCTIONS,
)
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

from .patching import REMOVED, items_patched, patched

if TYPE_CHECKING:
    from .local import LocalAws

#: Step Functions' JSONata functions that moto declares as stubs.
STUBBED_FUNCTIONS = ("$hash", "$uuid")


def evaluate_jsonata(expression: str) -> Any:
    """A JSONata expression as AWS evaluates it, with ``$hash`` and ``$uuid``."""
    compiled = jsonata.Jsonata(expression)
    compiled.register_lambda(
        "hash",
        lambda value, algorithm: hashlib.new(
            str(algorithm).replace("-", "").lower(), str(value).encode()
        ).hexdigest(),
    )
    compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
    return compiled.evaluate(None)


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    with (
        items_patched(JSONATA_FUNCTIONS, dict.fromkeys(STUBBED_FUNCTIONS, REMOVED)),
        patched((moto_jsonata, "_eval_jsonata", evaluate_jsonata)),
    ):
        yield
