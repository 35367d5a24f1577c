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

from aws_cdk import Aws

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
