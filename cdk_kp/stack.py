"""The bundled stack: one pipeline with default settings and its outputs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cdk_kp.pipeline import KeyPhrasesPipeline


def check_with_every_pack(app: cdk.App) -> None:
    """Register all five cdk-nag packs as validation plugins: a synth of ``app`` with any
    unacknowledged finding fails (and writes ``validation-report.json``)."""
    # Imported here: cdk-nag's bindings take a tenth of a second to load, which a synth
    # that does not check would pay for nothing.
    from cdk_nag import (
        AwsSolutionsChecks,
        HIPAASecurityChecks,
        NIST80053R5Checks,
        PCIDSS321Checks,
        ServerlessChecks,
    )

    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
        PCIDSS321Checks(app),
        ServerlessChecks(app),
    )


class KeyPhrasesStack(Stack):
    """An environment-agnostic stack holding one :class:`KeyPhrasesPipeline`.

    Outputs: ``InputBucketName``, ``OutputBucketName``, ``StateMachineArn``,
    ``DataAccessRoleArn``.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.pipeline = KeyPhrasesPipeline(self, "Pipeline")
        CfnOutput(self, "InputBucketName", value=self.pipeline.input_bucket.bucket_name)
        CfnOutput(self, "OutputBucketName", value=self.pipeline.output_bucket.bucket_name)
        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "DataAccessRoleArn", value=self.pipeline.data_access_role.role_arn)
