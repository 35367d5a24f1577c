"""Secure defaults for the buckets the library creates, in one place."""

from __future__ import annotations

from typing import Any

from aws_cdk import FeatureFlags, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

#: Applied to every bucket the library creates. A user's ``*_bucket_props`` override single
#: values; everything they leave out keeps these.
#: The feature flag under which CDK grants S3 log delivery by bucket policy instead of ACL.
LOGS_BY_BUCKET_POLICY_FLAG = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"

SECURE_BUCKET_DEFAULTS: dict[str, Any] = {
    "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
    "encryption": s3.BucketEncryption.S3_MANAGED,
    "enforce_ssl": True,
    "versioned": True,
    "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    "removal_policy": RemovalPolicy.RETAIN,
    "auto_delete_objects": False,
}


def props_to_dict(props: s3.BucketProps | None) -> dict[str, Any]:
    """The values a user set on a ``BucketProps`` struct, and only those."""
    if props is None:
        return {}
    # jsii structs keep the keyword arguments they were built with in ``_values``; this is the
    # documented way to read them back generically in Python.
    values: dict[str, Any] = dict(props._values)
    return values


def create_log_bucket(scope: Construct, construct_id: str) -> s3.Bucket:
    """The bucket that receives S3 server access logs of the library's buckets.

    S3 log delivery cannot write to SSE-KMS buckets, so this one is always SSE-S3. Log delivery
    is granted by a bucket policy when the app has the
    ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` feature flag (every new CDK app does);
    without it CDK grants it by ACL, which needs ``ObjectWriter`` ownership on this bucket.
    """
    settings = dict(SECURE_BUCKET_DEFAULTS)
    if not FeatureFlags.of(scope).is_enabled(LOGS_BY_BUCKET_POLICY_FLAG):
        settings["object_ownership"] = s3.ObjectOwnership.OBJECT_WRITER
    return s3.Bucket(scope, construct_id, **settings)


def create_data_bucket(
    scope: Construct,
    construct_id: str,
    *,
    props: s3.BucketProps | None,
    log_bucket: s3.IBucket,
    log_prefix: str,
) -> s3.Bucket:
    """A bucket with the secure defaults, the user's overrides, and server access logging."""
    settings = dict(SECURE_BUCKET_DEFAULTS)
    settings["server_access_logs_bucket"] = log_bucket
    settings["server_access_logs_prefix"] = log_prefix
    settings.update(props_to_dict(props))
    return s3.Bucket(scope, construct_id, **settings)
