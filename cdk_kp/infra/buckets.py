"""Secure defaults for the buckets the library creates, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

from cdk_kp.infra._structs import struct_values
from cdk_kp.infra.compliance import (
    ACCESS_LOG_BUCKET_SSE_S3,
    REPLICATION,
    SSE_S3_DEFAULT,
    acknowledge_regulatory,
)

#: Incomplete multipart uploads are aborted after this long: they are not objects yet.
ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(7)

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


def lifecycle_rules(noncurrent_version_expiration: Duration | None) -> list[s3.LifecycleRule]:
    """Rules that never touch a current object: incomplete uploads are aborted, and noncurrent
    versions expire only when ``noncurrent_version_expiration`` is given."""
    rules = [
        s3.LifecycleRule(
            id="AbortIncompleteUploads",
            abort_incomplete_multipart_upload_after=ABORT_INCOMPLETE_UPLOADS_AFTER,
        )
    ]
    if noncurrent_version_expiration is not None:
        rules.append(
            s3.LifecycleRule(
                id="ExpireNoncurrentVersions",
                noncurrent_version_expiration=noncurrent_version_expiration,
            )
        )
    return rules


def create_log_bucket(
    scope: Construct, construct_id: str, *, noncurrent_version_expiration: Duration | None
) -> s3.Bucket:
    """The bucket that receives S3 server access logs of the library's buckets.

    S3 log delivery cannot write to SSE-KMS buckets, so this one is always SSE-S3. Log delivery
    is granted by bucket policy (:func:`create_data_bucket`), never by ACL, whatever the app's
    feature flags.
    """
    bucket = s3.Bucket(
        scope,
        construct_id,
        **SECURE_BUCKET_DEFAULTS,
        lifecycle_rules=lifecycle_rules(noncurrent_version_expiration),
    )
    acknowledge_regulatory(bucket, "S3DefaultEncryptionKMS", ACCESS_LOG_BUCKET_SSE_S3)
    acknowledge_regulatory(bucket, "S3BucketReplicationEnabled", REPLICATION)
    return bucket


def create_data_bucket(
    scope: Construct,
    construct_id: str,
    *,
    props: s3.BucketProps | None,
    log_bucket: s3.Bucket,
    log_prefix: str,
    encryption_key: kms.IKey | None,
    noncurrent_version_expiration: Duration | None,
) -> s3.Bucket:
    """A bucket with the secure defaults, SSE-KMS with bucket keys when ``encryption_key`` is
    given, the user's overrides, and server access logging."""
    settings = dict(SECURE_BUCKET_DEFAULTS)
    settings["lifecycle_rules"] = lifecycle_rules(noncurrent_version_expiration)
    if encryption_key is not None:
        settings["encryption"] = s3.BucketEncryption.KMS
        settings["encryption_key"] = encryption_key
        settings["bucket_key_enabled"] = True
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
    settings.update(struct_values(props))
    bucket = s3.Bucket(scope, construct_id, **settings)
    # CDK warns that it cannot add the log-delivery statement to a referenced bucket; it is
    # added here, to the log bucket itself.
    Annotations.of(bucket).acknowledge_warning(
        "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
        "cdk_kp adds the log-delivery statement to the access-log bucket's policy itself",
    )
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
    if bucket.encryption_key is None:
        acknowledge_regulatory(bucket, "S3DefaultEncryptionKMS", SSE_S3_DEFAULT)
    if not settings.get("replication_rules"):
        acknowledge_regulatory(bucket, "S3BucketReplicationEnabled", REPLICATION)
    return bucket
