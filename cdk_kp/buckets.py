"""Secure defaults for the buckets the library creates, in one place."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

#: Applied to every bucket the library creates. A user's ``*_bucket_props`` override single
#: values; everything they leave out keeps these.
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
    is granted by bucket policy (:func:`create_data_bucket`), never by ACL, whatever the app's
    feature flags.
    """
    return s3.Bucket(scope, construct_id, **SECURE_BUCKET_DEFAULTS)


def create_data_bucket(
    scope: Construct,
    construct_id: str,
    *,
    props: s3.BucketProps | None,
    log_bucket: s3.Bucket,
    log_prefix: str,
) -> s3.Bucket:
    """A bucket with the secure defaults, the user's overrides, and server access logging."""
    settings = dict(SECURE_BUCKET_DEFAULTS)
    # Given the log bucket itself, CDK grants log delivery by ACL unless the app sets
    # @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy. Given a reference, it grants nothing,
    # and the bucket policy statement below (the one CDK writes under that flag) does.
    settings["server_access_logs_bucket"] = s3.Bucket.from_bucket_attributes(
        scope,
        f"{construct_id}LogTarget",
        bucket_arn=log_bucket.bucket_arn,
        bucket_name=log_bucket.bucket_name,
    )
    settings["server_access_logs_prefix"] = log_prefix
    settings.update(props_to_dict(props))
    bucket = s3.Bucket(scope, construct_id, **settings)
    log_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[log_bucket.arn_for_objects(f"{log_prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
            },
        )
    )
    return bucket
