"""cdk-nag as users run it: all five packs registered as validation plugins, a real synth.

Acknowledgements whose finding names a resource are registered when the app is synthesized
(after CDK has turned references to other stacks into imports), so ``validate_scope()`` before a
synth cannot see them: every check here goes through ``app.synth()``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk

from cdk_kp.infra.stack import check_with_every_pack

#: The packs ``check_with_every_pack`` registers, by the plugin name in the validation report.
PACKS = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321", "Serverless")

_REPORT = re.compile(r"A copy of this report can be found in: (\S+)")


def synth_findings(app: cdk.App) -> list[tuple[str, str]]:
    """(rule, construct path) of every unacknowledged finding of the five packs, from a real
    synth of ``app`` with the packs registered as validation plugins; [] when it passes."""
    return synth(app)[0]


def synth(app: cdk.App) -> tuple[list[tuple[str, str]], Path]:
    """Synthesize ``app`` with the five packs registered: (the unacknowledged findings, the
    cloud assembly's directory). The templates are written before the plugins run, so the
    directory holds them whether the packs pass or not."""
    check_with_every_pack(app)
    try:
        assembly = app.synth()
    except RuntimeError as error:
        found = _REPORT.search(str(error))
        if "ValidationFailed" not in str(error) or found is None:
            raise
        report_path = Path(found.group(1))
    else:
        return [], Path(assembly.directory)
    report = json.loads(report_path.read_text())
    findings = [
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        if plugin["pluginName"] in PACKS
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]
    return sorted(findings), report_path.parent


def app_of(stack: cdk.Stack) -> cdk.App:
    app = stack.node.root
    assert isinstance(app, cdk.App)
    return app
