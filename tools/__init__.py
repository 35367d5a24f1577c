"""Development tools of the cdk_kp project (not part of the library)."""
