"""Whole-template snapshots of the bundled stack, a bring-your-own stack, and a stack with
customer-managed keys, a VPC and job tags.

Nothing is masked: the templates contain no asset hashes or timestamps, and aws-cdk-lib is
pinned exactly, so a snapshot changes only when the infrastructure does. When one changes,
read the diff (``pytest --snapshot-update`` rewrites it) and say why in the commit.
"""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from .variants import hardened


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_bundled_stack_template(bundled_template, snapshot_json):
    assert bundled_template.to_json() == snapshot_json


def test_bring_your_own_buckets_and_role_template(byo_template, snapshot_json):
    assert byo_template.to_json() == snapshot_json


def test_customer_managed_keys_vpc_and_tags_template(snapshot_json):
    assert Template.from_stack(hardened()).to_json() == snapshot_json
