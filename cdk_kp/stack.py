"""The bundled stack: one pipeline with default settings and its outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cdk_kp.pipeline import KeyPhrasesPipeline


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
