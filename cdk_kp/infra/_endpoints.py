"""Names of AWS services in the stack's Region, as IAM conditions and principals need them.

Two kinds of name differ between partitions in different ways:

* ``kms:ViaService`` values end in ``.amazonaws.com`` in every partition. AWS KMS Developer
  Guide, "kms:ViaService": "Use the .amazonaws.com suffix of the AWS KMS ViaService name in all
  AWS partitions" (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
  #conditions-kms-via-service). So in China the S3 value is ``s3.cn-north-1.amazonaws.com``,
  not the endpoint's ``.amazonaws.com.cn``.
* A regional service principal (CloudWatch Logs in a key policy) is the service's regional name
  in the partition's DNS suffix: ``logs.<region>.amazonaws.com``, and
  ``logs.cn-north-1.amazonaws.com.cn`` in China (the regional-and-partitional form CDK's region
  facts give CloudWatch Logs). ``AWS::URLSuffix`` is that suffix wherever the stack is deployed.
"""

from __future__ import annotations

from aws_cdk import Annotations, Aws, Stack, Token
from constructs import Construct

#: The suffix of every ``kms:ViaService`` value, whatever the partition (see above).
VIA_SERVICE_SUFFIX = "amazonaws.com"


def via_service(service: str) -> str:
    """The ``kms:ViaService`` value of ``service`` in the stack's Region:
    ``<service>.<region>.amazonaws.com`` in every partition."""
    return f"{service}.{Aws.REGION}.{VIA_SERVICE_SUFFIX}"


def regional_service_principal(service: str) -> str:
    """``<service>.<region>.<partition DNS suffix>``: ``logs.us-east-1.amazonaws.com``,
    ``logs.cn-north-1.amazonaws.com.cn``."""
    return f"{service}.{Aws.REGION}.{Aws.URL_SUFFIX}"


#: The warning a workflow gives in a Region where Comprehend is not offered.
COMPREHEND_REGION_WARNING = "cdk_kp:comprehendNotOfferedInRegion"


def comprehend_regions() -> list[str]:
    """The Regions where botocore's endpoint data offers Comprehend, in every partition."""
    import botocore.session

    session = botocore.session.get_session()
    return [
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("comprehend", partition_name=partition)
    ]


def warn_unless_comprehend_offered(scope: Construct) -> None:
    """Warn when the stack's Region is known at synth time and botocore's endpoint data does
    not offer Comprehend there (it is not offered in the China Regions, for example): jobs
    could not start. A warning, not an error: a Region may be added after this botocore."""
    region = Stack.of(scope).region
    if Token.is_unresolved(region):
        return
    offered = comprehend_regions()
    if region not in offered:
        Annotations.of(scope).add_warning_v2(
            COMPREHEND_REGION_WARNING,
            f"Amazon Comprehend is not offered in {region} (botocore's endpoint data lists "
            f"{', '.join(sorted(offered))}): jobs cannot start there. If it is offered now, "
            "acknowledge this warning.",
        )
