"""cdk_kp test suite."""

import os
from importlib.metadata import version

#: aws-cdk-lib 2.275.0 added ``App(builtin_cloud_formation_validation=)``. Before it, the built-in
#: CloudFormation validation (2.272.0 on) can only be switched off for the whole process, with
#: CDK_VALIDATION, which the jsii runtime reads once, when ``aws_cdk`` is first imported: so here,
#: before any test module imports it. The suite also runs on the oldest versions the library
#: supports (`make test-minimum`).
APP_TAKES_VALIDATION = tuple(int(part) for part in version("aws-cdk-lib").split(".")[:2]) >= (
    2,
    275,
)
if not APP_TAKES_VALIDATION:
    os.environ["CDK_VALIDATION"] = "false"
