"""cdk-nag, all five packs, through a real synth: no unacknowledged finding, and every
acknowledgement names exactly one real finding that docs/security-and-compliance.md lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import aws_cdk as cdk
import pytest

from cdk_kp import KeyPhrasesStack
from cdk_kp.infra.compliance import ALL_REASONS
from cdk_kp.infra.stack import check_with_every_pack

from .conftest import ROOT, new_app
from .nag import PACKS, app_of, synth_findings
from .variants import BUILDERS

#: The stacks held to every pack (the other variants carry users' own resources).
CHECKED = ("bundled", "bring-your-own", "customer-managed-key", "vpc", "hardened")


@dataclass(frozen=True)
class Recorded:
    scope: str
    finding: str
    reason_key: str


class Recorder:
    """Stands in for ``Validations`` in cdk_kp.infra.compliance: records every acknowledgement at
    the one place they reach CDK, instead of applying it."""

    calls: ClassVar[list[Recorded]] = []

    def __init__(self, scope: Any) -> None:
        self.path = scope.node.path

    @classmethod
    def of(cls, scope: Any) -> Recorder:
        return cls(scope)

    def acknowledge(self, acknowledgment: cdk.Acknowledgment) -> None:
        key = acknowledgment.reason.split("]", 1)[0].lstrip("[")
        Recorder.calls.append(Recorded(self.path, acknowledgment.id, key))


@pytest.fixture(scope="module")
def acknowledged() -> dict[str, list[tuple[str, str]]]:
    """Unacknowledged findings of each checked variant, through a real synth."""
    return {variant: synth_findings(app_of(BUILDERS[variant]())) for variant in CHECKED}


@pytest.fixture(scope="module")
def raw() -> dict[str, tuple[list[tuple[str, str]], list[Recorded]]]:
    """Each checked variant's findings with nothing acknowledged, and the acknowledgements the
    library would have made (recorded during construction and synth instead)."""
    found = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("cdk_kp.infra.compliance.Validations", Recorder)
        for variant in CHECKED:
            Recorder.calls = []
            findings = synth_findings(app_of(BUILDERS[variant]()))
            found[variant] = (findings, list(Recorder.calls))
    return found


@pytest.mark.parametrize("variant", CHECKED)
def test_no_unacknowledged_finding_in_any_pack(acknowledged, variant):
    assert acknowledged[variant] == []


@pytest.mark.parametrize("variant", CHECKED)
def test_each_acknowledgement_covers_real_findings_and_each_finding_one_acknowledgement(
    raw, variant
):
    findings, recorded = raw[variant]
    assert findings, "with nothing acknowledged the packs must find something"

    def covering(rule: str, path: str) -> list[Recorded]:
        return [r for r in recorded if r.finding == rule and f"{path}/".startswith(f"{r.scope}/")]

    for rule, path in findings:
        assert len(covering(rule, path)) == 1, (rule, path)
    for ack in recorded:
        assert any(
            rule == ack.finding and f"{path}/".startswith(f"{ack.scope}/")
            for rule, path in findings
        ), f"acknowledgement without a finding: {ack}"
    assert {r.reason_key for r in recorded} <= {reason.key for reason in ALL_REASONS}


def test_raw_finding_counts(raw):
    """The figures docs/security-and-compliance.md quotes: findings per pack with nothing
    acknowledged (AwsSolutions, HIPAA, NIST, PCI, Serverless)."""
    counts = {
        variant: [sum(1 for rule, _ in raw[variant][0] if rule.startswith(f"{p}-")) for p in PACKS]
        for variant in CHECKED
    }
    assert counts == {
        "bundled": [11, 12, 12, 12, 0],
        "bring-your-own": [4, 3, 3, 3, 0],
        "customer-managed-key": [4, 6, 6, 6, 0],
        "vpc": [6, 10, 10, 10, 0],
        "hardened": [13, 8, 8, 8, 0],
    }


def test_acknowledgements_follow_a_users_logical_ids(raw):
    _, recorded = raw["bring-your-own"]
    assert "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::corp-documents/incoming/*]" in {
        r.finding for r in recorded
    }


def test_every_reason_is_listed_in_the_docs():
    page = (ROOT / "docs" / "security-and-compliance.md").read_text()
    for reason in ALL_REASONS:
        assert f"`{reason.key}`" in page, reason.key
        assert reason.text in page, reason.key


def test_a_synth_with_a_new_finding_fails(tmp_path):
    """What app.py registers really stops a synth: a plain-HTTP bucket is a new finding."""
    app = new_app(outdir=str(tmp_path), context={})
    stack = KeyPhrasesStack(app, "KeyPhrasesStack")
    cdk.aws_s3.Bucket(stack, "Careless")
    check_with_every_pack(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = (tmp_path / "validation-report.json").read_text()
    assert "KeyPhrasesStack/Careless/Resource" in report
    assert "KeyPhrasesStack/Pipeline" not in report
