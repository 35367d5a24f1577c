#!/usr/bin/env python3
"""The bundled app: `cdk synth` or `cdk deploy` the KeyPhrasesStack, checked by cdk-nag."""

from __future__ import annotations

import aws_cdk as cdk

from cdk_kp import KeyPhrasesStack
from cdk_kp.infra.stack import check_with_every_pack

app = cdk.App()
KeyPhrasesStack(app, "KeyPhrasesStack")
check_with_every_pack(app)
app.synth()
