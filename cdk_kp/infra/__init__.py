"""The constructs: what is deployed (aws-cdk-lib). Public names are exported by :mod:`cdk_kp`."""
