"""The IAM role Amazon Comprehend assumes to read the input and write the output."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_kp._validation import INPUT_PREFIX_MAX_LENGTH, OUTPUT_PREFIX_MAX_LENGTH, check_key_prefix
from cdk_kp.compliance import INPUT_OBJECTS, OUTPUT_OBJECTS, acknowledge, wildcard_finding

COMPREHEND_PRINCIPAL = "comprehend.amazonaws.com"


def key_phrases_job_arn(scope: Construct, job_id: str = "*") -> str:
    """``arn:<partition>:comprehend:<region>:<account>:key-phrases-detection-job/<job_id>``."""
    return Stack.of(scope).format_arn(
        service="comprehend", resource="key-phrases-detection-job", resource_name=job_id
    )


def grant_data_access(
    role: iam.IRole,
    *,
    input_bucket: s3.IBucket,
    input_prefix: str,
    output_bucket: s3.IBucket,
    output_prefix: str,
) -> None:
    """Give ``role`` what Comprehend needs, and nothing more.

    ``s3:GetObject`` under the input prefix, ``s3:ListBucket`` on the input bucket limited to
    that prefix, ``s3:PutObject`` under the output prefix. The two prefix wildcards are
    acknowledged for cdk-nag on ``role``, each with its reason. A role imported with
    ``mutable=False`` is left as it is (CDK's rule for imported roles).
    """
    input_objects = input_bucket.arn_for_objects(f"{input_prefix}*")
    output_objects = output_bucket.arn_for_objects(f"{output_prefix}*")
    for statement in (
        iam.PolicyStatement(
            sid="ReadInputObjects", actions=["s3:GetObject"], resources=[input_objects]
        ),
        iam.PolicyStatement(
            sid="ListInputPrefix",
            actions=["s3:ListBucket"],
            resources=[input_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{input_prefix}*"]}},
        ),
        iam.PolicyStatement(
            sid="WriteOutputObjects", actions=["s3:PutObject"], resources=[output_objects]
        ),
    ):
        role.add_to_principal_policy(statement)
    acknowledge(role, wildcard_finding(role, input_objects), INPUT_OBJECTS)
    acknowledge(role, wildcard_finding(role, output_objects), OUTPUT_OBJECTS)


class KeyPhrasesDataAccessRole(iam.Role):
    """The data-access role for key phrase detection jobs, usable on its own.

    Trusted only by ``comprehend.amazonaws.com`` acting for this account on a key phrase
    detection job (``aws:SourceAccount`` and ``aws:SourceArn``, against the confused deputy).
    Allowed only ``s3:GetObject`` under ``input_prefix``, ``s3:ListBucket`` on the input bucket
    limited to that prefix, and ``s3:PutObject`` under ``output_prefix``.

    Prefixes default to ``""``: the whole bucket.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        input_bucket: s3.IBucket,
        output_bucket: s3.IBucket,
        input_prefix: str = "",
        output_prefix: str = "",
        description: str | None = None,
    ) -> None:
        check_key_prefix("input_prefix", input_prefix, INPUT_PREFIX_MAX_LENGTH)
        check_key_prefix("output_prefix", output_prefix, OUTPUT_PREFIX_MAX_LENGTH)
        stack = Stack.of(scope)
        super().__init__(
            scope,
            construct_id,
            description=description
            or "Assumed by Amazon Comprehend to read key phrase input and write its output",
            assumed_by=iam.ServicePrincipal(
                COMPREHEND_PRINCIPAL,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": key_phrases_job_arn(scope)},
                },
            ),
        )
        self.input_bucket = input_bucket
        self.output_bucket = output_bucket
        self.input_prefix = input_prefix
        self.output_prefix = output_prefix
        grant_data_access(
            self,
            input_bucket=input_bucket,
            input_prefix=input_prefix,
            output_bucket=output_bucket,
            output_prefix=output_prefix,
        )
