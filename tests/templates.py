"""Helpers for reading the synthesized templates' resources, policies and definitions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Template

from .definitions import definitions_in


def resources(template: Template, resource_type: str) -> Mapping[str, Mapping[str, Any]]:
    found: Mapping[str, Mapping[str, Any]] = template.find_resources(resource_type)
    return found


def identity_statements(template: Template) -> list[tuple[str, dict[str, Any]]]:
    """Every statement of every identity-based policy, with the logical ID that holds it."""
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for logical_id, policy in resources(template, kind).items():
            found += [(logical_id, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    for logical_id, role in resources(template, "AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            found += [(logical_id, s) for s in inline["PolicyDocument"]["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def named(template: Template, resource_type: str, fragment: str) -> tuple[str, Mapping[str, Any]]:
    (found,) = [(k, v) for k, v in resources(template, resource_type).items() if fragment in k]
    return found


def start_state(template: Template) -> dict[str, Any]:
    (definition,) = [d for d in definitions_in(template).values() if "StartJob" in d["States"]]
    state: dict[str, Any] = definition["States"]["StartJob"]
    return state


def state_machine_statements(template: Template) -> list[dict[str, Any]]:
    return [
        s
        for k, s in identity_statements(template)
        if "StateMachineRole" in k and not k.startswith("Batch")
    ]


def data_access_statements(template: Template) -> list[dict[str, Any]]:
    return [s for k, s in identity_statements(template) if "DataAccessRole" in k]


def key_arn(template: Template, prefix: str = "Key") -> dict[str, Any]:
    """The ARN of the key whose logical ID starts with ``prefix``."""
    (logical_id,) = [k for k in resources(template, "AWS::KMS::Key") if k.startswith(prefix)]
    return {"Fn::GetAtt": [logical_id, "Arn"]}
