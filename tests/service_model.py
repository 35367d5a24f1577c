"""Check the requests of aws-sdk Tasks (Comprehend, and Step Functions for the batch's give-up
path) against botocore's service models.

``botocore.validate.ParamValidator`` checks names, required members and types. It does not check
enums, lengths and patterns, so :func:`constraint_errors` does, from the same shapes. Patterns
are the model's own, evaluated with the ``regex`` module (they use ``\\p{L}``-style classes that
``re`` does not know).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
import regex
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator

SDK_PREFIX = "arn:aws:states:::aws-sdk:"

#: The services the definitions call through the AWS SDK integration: the integration's name ->
#: (botocore's service name, the prefix of its error names in Step Functions).
SERVICES = {"comprehend": ("comprehend", "Comprehend"), "sfn": ("stepfunctions", "Sfn")}

#: Error names Step Functions itself raises (ASL specification).
STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.Http.Socket",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
    }
)


_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": bool,
    "float": (int, float),
    "double": (int, float),
    "list": list,
    "map": dict,
    "structure": dict,
    "timestamp": str,
    "blob": str,
}


@cache
def comprehend() -> ServiceModel:
    return botocore.session.get_session().get_service_model("comprehend")


@cache
def service(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def operation_for(resource: str) -> OperationModel:
    """``arn:aws:states:::aws-sdk:comprehend:startKeyPhrasesDetectionJob`` -> its operation."""
    assert resource.startswith(SDK_PREFIX), resource
    integration, _, action = resource[len(SDK_PREFIX) :].partition(":")
    return service(SERVICES[integration][0]).operation_model(action[0].upper() + action[1:])


def _member(shape: StructureShape, name: str) -> str | None:
    """The model's member for a Parameters field: AWS SDK integrations take every field in
    PascalCase (``StateMachineArn``) whatever the service's own casing (``stateMachineArn``)."""
    for candidate in (name, name[0].lower() + name[1:]):
        if candidate in shape.members:
            return candidate
    return None


def constraint_errors(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Enum, length and pattern violations of ``value`` (recursively)."""
    errors: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        for name, member in shape.members.items():
            if name in value:
                errors += constraint_errors(member, value[name], f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        errors += _length_errors(meta, len(value), path)
        for i, item in enumerate(value):
            errors += constraint_errors(shape.member, item, f"{path}[{i}]")
    elif shape.type_name == "string" and isinstance(value, str):
        if "enum" in meta and value not in meta["enum"]:
            errors.append(f"{path}: {value!r} is not one of {meta['enum']}")
        errors += _length_errors(meta, len(value), path)
        pattern = meta.get("pattern")
        if pattern and not regex.search(pattern, value):
            errors.append(f"{path}: {value!r} does not match {pattern}")
    return errors


def _length_errors(meta: dict[str, Any], length: int, path: str) -> list[str]:
    errors = []
    if "min" in meta and length < meta["min"]:
        errors.append(f"{path}: length {length} below {meta['min']}")
    if "max" in meta and length > meta["max"]:
        errors.append(f"{path}: length {length} above {meta['max']}")
    return errors


def request_errors(operation: OperationModel, request: dict[str, Any]) -> list[str]:
    """Everything wrong with a concrete request: names, required, types, enums, lengths,
    patterns."""
    report = ParamValidator().validate(request, operation.input_shape)
    errors = [report.generate_report()] if report.has_errors() else []
    return errors + constraint_errors(operation.input_shape, request, operation.name)


def parameters_errors(operation: OperationModel, parameters: dict[str, Any]) -> list[str]:
    """Everything checkable in a Task's ``Parameters`` before run time.

    Names and required members are checked for every field; a ``Name.$`` field is a path or an
    intrinsic whose value exists only at run time, so only its name is checked here (the
    execution tests check the values sent). Literal values are checked in full.
    """
    return _parameters_errors(operation.input_shape, parameters, operation.name)


def _parameters_errors(shape: Shape, parameters: dict[str, Any], path: str) -> list[str]:
    assert isinstance(shape, StructureShape)
    errors: list[str] = []
    given = {_member(shape, key.removesuffix(".$")) or key: key for key in parameters}
    for name in shape.required_members:
        if name not in given:
            errors.append(f"{path}: required member {name} is missing")
    for name, key in given.items():
        if name not in shape.members:
            errors.append(f"{path}: unknown member {key}")
            continue
        member = shape.members[name]
        value = parameters[key]
        if key.endswith(".$"):
            if not isinstance(value, str) or not value.startswith(("$", "States.")):
                errors.append(f"{path}.{key}: {value!r} is neither a path nor an intrinsic")
            continue
        if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
            continue  # a JSONata expression (in Arguments): its value exists only at run time
        if member.type_name == "structure":
            if not isinstance(value, dict):
                errors.append(f"{path}.{name}: expected an object, got {value!r}")
            else:
                errors += _parameters_errors(member, value, f"{path}.{name}")
            continue
        expected = _PYTHON_TYPES[member.type_name]
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            errors.append(f"{path}.{name}: expected {member.type_name}, got {value!r}")
            continue
        errors += constraint_errors(member, value, f"{path}.{name}")
    return errors


def error_name_errors(operation: OperationModel, names: list[str]) -> list[str]:
    """Error names in a Retry or Catch that the operation cannot raise."""
    prefix = next(
        p for name, p in SERVICES.values() if name == operation.service_model.service_name
    )
    raisable = {f"{prefix}.{e.name}" for e in operation.error_shapes}
    return [
        f"{operation.name}: {name} is neither one of {sorted(raisable)} nor a States.* error"
        for name in names
        if name not in raisable and name not in STATES_ERRORS
    ]
