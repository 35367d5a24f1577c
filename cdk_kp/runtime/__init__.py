"""Running a deployed pipeline: the client and the ``cdk-kp`` command. boto3 only: nothing here
imports aws-cdk-lib, constructs, cdk-nag or :mod:`cdk_kp.infra` (tests/test_runtime_boundary.py
checks it)."""
