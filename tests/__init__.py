"""cdk_kp test suite."""
