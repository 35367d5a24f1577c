"""Read a state machine definition out of a synthesized template.

A CDK definition that references other resources is an ``Fn::Join`` string. Tools that check
ASL (and tests) need plain JSON: :func:`resolve` joins it with sample values in place of the
references.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

SAMPLE_PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def _sample(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref":
            return SAMPLE_PSEUDO_PARAMETERS.get(value, f"ref-{value.lower()}")
        if key == "Fn::GetAtt":
            resource, attribute = value
            if attribute == "Arn":
                return f"arn:aws:iam::123456789012:role/{resource}"
            return f"{resource.lower()}-{attribute.lower()}"
        if key == "Fn::Join":
            delimiter, parts = value
            return str(delimiter).join(_sample(p) for p in parts)
    raise ValueError(f"cannot sample {node!r}")


def resolve(definition_string: Any) -> dict[str, Any]:
    """The definition as JSON, references replaced by sample values."""
    resolved: dict[str, Any] = json.loads(_sample(definition_string))
    return resolved


def definitions_in(template: Template) -> dict[str, dict[str, Any]]:
    """Every state machine in ``template`` by logical ID, resolved."""
    return {
        logical_id: resolve(machine["Properties"]["DefinitionString"])
        for logical_id, machine in template.find_resources(
            "AWS::StepFunctions::StateMachine"
        ).items()
    }
