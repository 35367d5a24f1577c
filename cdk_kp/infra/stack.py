"""The bundled stack: one pipeline with default settings and its outputs."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cdk_kp import contract
from cdk_kp.infra.batch import KeyPhrasesBatch
from cdk_kp.infra.pipeline import KeyPhrasesPipeline


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
    """An environment-agnostic stack holding one :class:`KeyPhrasesPipeline` and, unless
    ``batch=False``, a :class:`KeyPhrasesBatch` over it (default settings).

    Outputs: ``InputBucketName``, ``OutputBucketName``, ``StateMachineArn``,
    ``DataAccessRoleArn``, ``InputPrefix`` and ``OutputPrefix`` (``/`` when there is none),
    ``InputFormat``, and ``BatchStateMachineArn`` with the batch.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, batch: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.pipeline = KeyPhrasesPipeline(self, "Pipeline")
        pipeline = self.pipeline
        #: The batch over the pipeline, if any.
        self.batch: KeyPhrasesBatch | None = None
        if batch:
            self.batch = KeyPhrasesBatch(self, "Batch", pipeline=pipeline)
            CfnOutput(
                self,
                contract.OUTPUT_BATCH_STATE_MACHINE,
                value=self.batch.state_machine.state_machine_arn,
            )
        outputs = {
            contract.OUTPUT_INPUT_BUCKET: pipeline.input_bucket.bucket_name,
            contract.OUTPUT_OUTPUT_BUCKET: pipeline.output_bucket.bucket_name,
            contract.OUTPUT_STATE_MACHINE: pipeline.state_machine.state_machine_arn,
            contract.OUTPUT_ROLE: pipeline.data_access_role.role_arn,
            # The client uploads under, and reads below, these prefixes.
            contract.OUTPUT_INPUT_PREFIX: pipeline.input_prefix,
            contract.OUTPUT_OUTPUT_PREFIX: pipeline.output_prefix,
            # The format documents are checked against when an execution does not name one.
            contract.OUTPUT_INPUT_FORMAT: pipeline.input_format,
        }
        for key, value in outputs.items():
            # CloudFormation refuses an empty output value; "/" stands for "no prefix".
            CfnOutput(self, key, value=value or contract.NO_PREFIX)
