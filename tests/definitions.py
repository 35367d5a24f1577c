"""Read a state machine definition out of a synthesized template.

A CDK definition that references other resources is an ``Fn::Join`` string. Tools that check
ASL (and tests) need plain JSON: :func:`resolve` joins it with sample values in place of the
references.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk.assertions import Template

SAMPLE_PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


#: Sample values shaped like the real ones, by resource type and attribute.
_SAMPLES: dict[tuple[str, str], Callable[[str], str]] = {
    ("AWS::IAM::Role", "Arn"): lambda r: f"arn:aws:iam::123456789012:role/{r}",
    ("AWS::KMS::Key", "Arn"): lambda r: f"arn:aws:kms:us-east-1:123456789012:key/{_hex(r, 32)}",
    ("AWS::EC2::SecurityGroup", "GroupId"): lambda r: f"sg-{_hex(r, 17)}",
    ("AWS::S3::Bucket", "Ref"): lambda r: f"bucket-{_hex(r, 12)}",
    ("AWS::S3::Bucket", "Arn"): lambda r: f"arn:aws:s3:::bucket-{_hex(r, 12)}",
    ("AWS::StepFunctions::StateMachine", "Ref"): lambda r: (
        f"arn:aws:states:us-east-1:123456789012:stateMachine:{r}-{_hex(r, 12)}"
    ),
    ("AWS::StepFunctions::StateMachine", "Name"): lambda r: f"{r}-{_hex(r, 12)}",
}


def _sample(node: Any, types: Mapping[str, str]) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((key, value),) = node.items()
        if key == "Ref":
            if value in SAMPLE_PSEUDO_PARAMETERS:
                return SAMPLE_PSEUDO_PARAMETERS[value]
            if value not in types:  # a parameter (of a nested stack: a parent's value)
                return f"parameter-{_hex(value, 12)}"
            return _SAMPLES[(types[value], "Ref")](value)
        if key in ("Fn::ImportValue", "Fn::GetStackOutput"):
            # Another stack's output: the value is only known at deploy time.
            return f"output-{_hex(json.dumps(value, sort_keys=True), 12)}"
        if key == "Fn::GetAtt":
            resource, attribute = value
            return _SAMPLES[(types[resource], attribute)](resource)
        if key == "Fn::Join":
            delimiter, parts = value
            return str(delimiter).join(_sample(p, types) for p in parts)
    raise ValueError(f"cannot sample {node!r}")


def resolve(definition_string: Any, resource_types: Mapping[str, str]) -> dict[str, Any]:
    """The definition as JSON, references replaced by sample values shaped like the real ones
    (``resource_types``: logical ID -> CloudFormation type, from the template)."""
    resolved: dict[str, Any] = json.loads(_sample(definition_string, resource_types))
    return resolved


def resource_types(template: Mapping[str, Any]) -> dict[str, str]:
    return {k: v["Type"] for k, v in template.get("Resources", {}).items()}


def definitions_in(template: Template) -> dict[str, dict[str, Any]]:
    """Every state machine in ``template`` by logical ID, resolved."""
    types = resource_types(template.to_json())
    return {
        logical_id: resolve(machine["Properties"]["DefinitionString"], types)
        for logical_id, machine in template.find_resources(
            "AWS::StepFunctions::StateMachine"
        ).items()
    }
