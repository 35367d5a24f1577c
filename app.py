#!/usr/bin/env python3
"""The bundled app: `cdk synth` / `cdk deploy` the KeyPhrasesStack, checked by cdk-nag."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from cdk_kp import KeyPhrasesStack

app = cdk.App()
KeyPhrasesStack(app, "KeyPhrasesStack")
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
