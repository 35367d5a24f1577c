"""cdk-nag: no unacknowledged finding, and every acknowledgement names one real finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from cdk_kp import KeyPhrasesStack
from cdk_kp.compliance import ALL_REASONS, Reason

from .conftest import ROOT, ByoStack, new_app


def findings(stack: cdk.Stack) -> list[str]:
    app = stack.node.root
    assert isinstance(app, cdk.App)
    report = AwsSolutionsChecks(app).validate_scope(stack)
    names = sorted(v.rule_name for v in report.violations)
    assert report.success is (not names)
    return names


def test_bundled_stack_has_no_unacknowledged_finding(bundled_stack):
    assert findings(bundled_stack) == []


def test_bring_your_own_stack_has_no_unacknowledged_finding(byo_stack):
    assert findings(byo_stack) == []


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Record acknowledgements instead of applying them."""
    calls: list[tuple[str, str]] = []

    def record(scope: Any, finding: str, reason: Reason) -> None:
        calls.append((finding, reason.key))

    monkeypatch.setattr("cdk_kp.data_access_role.acknowledge", record)
    monkeypatch.setattr("cdk_kp.pipeline.acknowledge", record)
    monkeypatch.setattr("cdk_kp.workflow.acknowledge", record)
    return calls


def test_each_acknowledgement_names_exactly_one_real_finding(recorded):
    stack = KeyPhrasesStack(new_app(), "KeyPhrasesStack")
    raw = findings(stack)
    acknowledged = sorted(finding for finding, _ in recorded)
    assert raw == acknowledged
    assert len(set(acknowledged)) == len(acknowledged)
    assert sorted(key for _, key in recorded) == sorted(r.key for r in ALL_REASONS)


def test_acknowledgements_follow_a_users_logical_ids(recorded):
    stack = ByoStack(new_app(), "ByoStack")
    raw = findings(stack)
    assert raw == sorted(finding for finding, _ in recorded)
    assert "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::corp-documents/incoming/*]" in raw


def test_every_reason_is_listed_in_the_readme():
    readme = (Path(ROOT) / "README.md").read_text()
    for reason in ALL_REASONS:
        assert f"`{reason.key}`" in readme, reason.key
        assert reason.text in readme, reason.key
