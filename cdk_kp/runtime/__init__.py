"""Running a deployed pipeline: the client and the ``cdk-kp`` command. boto3 only: nothing here
imports aws-cdk-lib (tests/test_static.py checks it)."""
