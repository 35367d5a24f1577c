"""The constructs in the three partitions: commercial (us-east-1), China (cn-north-1) and
GovCloud (us-gov-west-1), each synthesized with a known Region and the cdk.json flags (which
write the partition as a literal).

Regional service names follow two documented rules: a ``kms:ViaService`` value ends in
``.amazonaws.com`` in every partition (AWS KMS Developer Guide, "kms:ViaService"), and the
CloudWatch Logs principal of a key policy is the service's regional name in the partition's DNS
suffix (``AWS::URLSuffix``). Every ARN is in the stack's partition, and a data-access role of
another partition is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline
from cdk_kp.infra._endpoints import COMPREHEND_REGION_WARNING
from cdk_kp.infra._validation import ROLE_ARN_PATTERN

from .conftest import new_app

ACCOUNT = "111122223333"
#: Region -> (partition, DNS suffix), as botocore's endpoint data has them.
PARTITIONS = {
    "us-east-1": ("aws", "amazonaws.com"),
    "cn-north-1": ("aws-cn", "amazonaws.com.cn"),
    "us-gov-west-1": ("aws-us-gov", "amazonaws.com"),
}


def stack_in(region: str) -> cdk.Stack:
    stack = cdk.Stack(new_app(), "KeyPhrases", env=cdk.Environment(account=ACCOUNT, region=region))
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    pipeline = KeyPhrasesPipeline(stack, "Pipeline", encryption_key=key, input_prefix="in/")
    KeyPhrasesBatch(stack, "Batch", pipeline=pipeline)
    return stack


@pytest.fixture(scope="module", params=sorted(PARTITIONS))
def synthesized(request: pytest.FixtureRequest) -> tuple[str, cdk.Stack, dict[str, Any]]:
    stack = stack_in(request.param)
    return request.param, stack, dict(Template.from_stack(stack).to_json())


def rendered(node: Any, region: str) -> Any:
    """``node`` with the pseudo parameters replaced by the Region's values, and references to
    resources by ``<ref>``."""
    partition, suffix = PARTITIONS[region]
    pseudo = {
        "AWS::Partition": partition,
        "AWS::URLSuffix": suffix,
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
    }
    if isinstance(node, list):
        return [rendered(item, region) for item in node]
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return pseudo.get(node["Ref"], "<ref>")
        if set(node) == {"Fn::GetAtt"}:
            return "<ref>"
        if set(node) == {"Fn::Join"}:
            delimiter, parts = node["Fn::Join"]
            return delimiter.join(str(rendered(p, region)) for p in parts)
        return {key: rendered(value, region) for key, value in node.items()}
    return node


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)


def statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for document in (props.get("PolicyDocument"), props.get("KeyPolicy")):
            if document:
                yield from document["Statement"]


def test_kms_via_service_ends_in_amazonaws_com_in_every_partition(synthesized):
    region, _, template = synthesized
    values = [
        rendered(statement["Condition"]["StringEquals"]["kms:ViaService"], region)
        for statement in statements(template)
        if "kms:ViaService" in statement.get("Condition", {}).get("StringEquals", {})
    ]
    flat = {v for value in values for v in (value if isinstance(value, list) else [value])}
    assert flat == {f"s3.{region}.amazonaws.com", f"states.{region}.amazonaws.com"}


def test_the_logs_principal_is_regional_in_the_partitions_dns_suffix(synthesized):
    region, _, template = synthesized
    _, suffix = PARTITIONS[region]
    principals = [
        rendered(statement["Principal"]["Service"], region)
        for statement in statements(template)
        if "logs." in str(rendered(statement.get("Principal", {}).get("Service", ""), region))
        and "delivery" not in str(statement.get("Principal"))
    ]
    assert principals
    assert set(principals) == {f"logs.{region}.{suffix}"}


def test_no_other_regional_name_is_written_with_a_literal_suffix(synthesized):
    region, _, template = synthesized
    via = {f"s3.{region}.amazonaws.com", f"states.{region}.amazonaws.com"}
    regional = re.compile(rf"\.{re.escape(region)}\.amazonaws\.com(?!\.cn)")
    literal = [
        text
        for text in strings(rendered(template, region))
        if regional.search(text) and text not in via
    ]
    if region == "cn-north-1":
        assert literal == []
    else:  # the suffix is amazonaws.com there: the logs principal is one such name
        assert set(literal) <= {f"logs.{region}.amazonaws.com"}


def test_every_arn_is_in_the_stacks_partition(synthesized):
    region, _, template = synthesized
    partition, _ = PARTITIONS[region]
    arns = [text for text in strings(rendered(template, region)) if "arn:" in text]
    assert arns
    for text in arns:
        for found in text.split("arn:")[1:]:
            assert found.startswith(f"{partition}:"), text


def test_comprehend_is_not_offered_in_china(synthesized):
    """botocore's endpoint data offers Comprehend in no China Region: a pipeline there gets a
    warning at synth, the others none."""
    region, stack, _ = synthesized
    app = stack.node.root
    assert isinstance(app, cdk.App)
    messages = [
        str(m.entry.data)
        for m in app.synth().get_stack_by_name(stack.stack_name).messages
        if COMPREHEND_REGION_WARNING in str(m.entry.data)
    ]
    if region == "cn-north-1":
        (warning,) = messages
        assert "Amazon Comprehend is not offered in cn-north-1" in warning
    else:
        assert messages == []


@pytest.mark.parametrize("region", sorted(PARTITIONS))
def test_a_role_of_the_stacks_partition_is_accepted_and_of_another_refused(region):
    partition, _ = PARTITIONS[region]
    own = f"arn:{partition}:iam::{ACCOUNT}:role/comprehend-access"
    other = "arn:aws-iso:iam::111122223333:role/comprehend-access"
    assert ROLE_ARN_PATTERN.match(own)
    stack = cdk.Stack(new_app(), "S", env=cdk.Environment(account=ACCOUNT, region=region))
    KeyPhrasesPipeline(stack, "P", data_access_role=iam.Role.from_role_arn(stack, "R", own))
    with pytest.raises(ValueError, match=rf"must be a role of the {partition} partition; got"):
        KeyPhrasesPipeline(stack, "Q", data_access_role=iam.Role.from_role_arn(stack, "O", other))
