"""The IAM role Amazon Comprehend assumes to read the input and write the output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from cdk_kp.infra._endpoints import via_service
from cdk_kp.infra._job import COMPREHEND_PRINCIPAL, key_phrases_job_arn
from cdk_kp.infra._setup import JobSetup
from cdk_kp.infra._validation import field_problems, raise_problems
from cdk_kp.infra.compliance import (
    DEFAULT_POLICY,
    INPUT_OBJECTS,
    OUTPUT_OBJECTS,
    VPC_DESCRIBE,
    VPC_INTERFACES,
    acknowledge,
    acknowledge_regulatory,
    acknowledge_wildcard,
)

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms

    from cdk_kp.infra.network import JobNetwork


def grant_data_access(
    role: iam.IRole,
    *,
    input_bucket: s3.IBucket,
    input_prefix: str,
    output_bucket: s3.IBucket,
    output_prefix: str,
    encryption_key: kms.IKey | None = None,
    volume_encryption_key: kms.IKey | None = None,
    network: JobNetwork | None = None,
    scope: Construct | None = None,
) -> None:
    """Give ``role`` what Comprehend needs, and nothing more.

    ``s3:GetObject`` under the input prefix, ``s3:ListBucket`` on the input bucket limited to
    that prefix, ``s3:PutObject`` under the output prefix. With SSE-KMS buckets or an output
    key: ``kms:Decrypt`` and ``kms:GenerateDataKey`` on those keys, only through S3
    (``kms:ViaService``). With a volume key: ``kms:CreateGrant`` on it, only for AWS resources
    (``kms:GrantIsForAWSResource``). With a network: see :func:`network_statements`.
    Wildcards are acknowledged for cdk-nag where the statements are, each with its reason. A
    role imported with ``mutable=False`` is left as it is (CDK's rule for imported roles).

    ``scope`` is the construct that uses the role (the pipeline). When ``role`` is a role of
    another stack, the statements go into an inline policy (``DataAccessPolicy``) in
    ``scope``'s stack, attached to the role: in the role's own stack they would make that stack
    depend on the resources granted (the pipeline's buckets, keys, security group), while the
    pipeline's stack depends on the role, a dependency cycle. Default: the role's own policy.
    """
    setup = JobSetup.of(locals())
    grant_job_data_access(role, setup, scope=scope)


def grant_job_data_access(role: iam.IRole, setup: JobSetup, *, scope: Construct | None) -> None:
    """:func:`grant_data_access` for the jobs of ``setup``: the statements, where they go, and
    the acknowledgement of each wildcard they hold."""
    holder = _add_statements(role, data_access_statements(role, setup), scope)
    if holder is None:
        return  # an immutable role: nothing was added, so nothing to acknowledge
    acknowledge_wildcard(holder, setup.input_objects(), INPUT_OBJECTS)
    acknowledge_wildcard(holder, setup.output_objects(), OUTPUT_OBJECTS)
    acknowledge_regulatory(holder, "IAMNoInlinePolicy", DEFAULT_POLICY)
    if setup.network is not None:
        acknowledge(holder, "AwsSolutions-IAM5[Resource::*]", VPC_DESCRIBE)
        acknowledge_wildcard(holder, _network_interfaces(holder), VPC_INTERFACES)


def data_access_statements(role: iam.IRole, setup: JobSetup) -> list[iam.PolicyStatement]:
    """What Comprehend needs to run the jobs of ``setup``, in the order the role's policy lists
    it: read the input, list its prefix, write the output, use the data keys through S3, grant
    the volume key, and the network's statements."""
    statements = [
        iam.PolicyStatement(
            sid="ReadInputObjects", actions=["s3:GetObject"], resources=[setup.input_objects()]
        ),
        iam.PolicyStatement(
            sid="ListInputPrefix",
            actions=["s3:ListBucket"],
            resources=[setup.input_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{setup.input_prefix}*"]}},
        ),
        iam.PolicyStatement(
            sid="WriteOutputObjects", actions=["s3:PutObject"], resources=[setup.output_objects()]
        ),
    ]
    keys = setup.data_keys()
    if keys:
        # Decrypt reads SSE-KMS input; GenerateDataKey (and Decrypt, for multipart uploads)
        # writes the output. Only S3 may use the keys on the role's behalf.
        statements.append(
            iam.PolicyStatement(
                sid="UseBucketKeysThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn for key in keys],
                conditions={"StringEquals": {"kms:ViaService": via_service("s3")}},
            )
        )
    if setup.volume_encryption_key is not None:
        statements.append(
            iam.PolicyStatement(
                sid="GrantVolumeKeyToComprehend",
                actions=["kms:CreateGrant"],
                resources=[setup.volume_encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
    if setup.network is not None:
        statements += network_statements(role, setup.network)
    return statements


def _add_statements(
    role: iam.IRole, statements: list[iam.PolicyStatement], scope: Construct | None
) -> IConstruct | None:
    """Add ``statements`` for ``role``; the construct holding them (the role, or the inline
    policy in ``scope``'s stack for a role of another stack), or ``None`` when the role takes
    none (imported with ``mutable=False``)."""
    if (
        scope is not None
        and isinstance(role, iam.Role)
        and Stack.of(role).node.path != Stack.of(scope).node.path
    ):
        return iam.Policy(scope, "DataAccessPolicy", statements=statements, roles=[role])
    added = [role.add_to_principal_policy(s).statement_added for s in statements]
    return role if any(added) else None


def _network_interfaces(scope: IConstruct) -> str:
    return Stack.of(scope).format_arn(
        service="ec2", resource="network-interface", resource_name="*"
    )


def network_statements(scope: IConstruct, network: JobNetwork) -> list[iam.PolicyStatement]:
    """What Comprehend needs to run a job in ``network``, as narrow as EC2's IAM model allows.

    Comprehend's guide grants these actions on ``*``. Here ``CreateNetworkInterface`` is limited
    to the job's subnets and security groups, creating and deleting network interfaces and their
    permissions to interfaces in those subnets (``ec2:Subnet``), and only the five Describe
    actions, which support no resource-level permissions, are on ``*``.
    """
    stack = Stack.of(scope)
    subnet_arns = [
        stack.format_arn(service="ec2", resource="subnet", resource_name=subnet_id)
        for subnet_id in network.subnet_ids
    ]
    group_arns = [
        stack.format_arn(service="ec2", resource="security-group", resource_name=group_id)
        for group_id in network.security_group_ids
    ]
    interfaces = _network_interfaces(scope)
    return [
        iam.PolicyStatement(
            sid="CreateJobInterfacesInJobSubnets",
            actions=["ec2:CreateNetworkInterface"],
            resources=[interfaces, *subnet_arns, *group_arns],
        ),
        iam.PolicyStatement(
            sid="ManageJobInterfacesInJobSubnets",
            actions=[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources=[interfaces],
            conditions={"ArnEquals": {"ec2:Subnet": subnet_arns}},
        ),
        iam.PolicyStatement(
            sid="DescribeJobNetwork",
            actions=[
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            resources=["*"],
        ),
    ]


def trust_conditions(scope: Construct) -> dict[str, dict[str, str]]:
    """The conditions under which Comprehend may assume the data-access role (confused-deputy
    prevention), narrow where AWS documents the keys and safe where it does not.

    ``aws:SourceAccount`` must be this account: Comprehend's guide shows it for every role
    Comprehend assumes ("Cross-service confused deputy prevention"). ``aws:SourceArn`` must be a
    key phrase job of this account and Region *if the request carries it*: AWS's example for
    asynchronous jobs sets it to the job ARN with a wildcard job ID ("Role-based permissions
    required for asynchronous operations"), but the confused-deputy page shows only
    ``aws:SourceAccount`` for jobs, and a positive condition on a key the caller does not send is
    false. ``ArnLikeIfExists`` narrows when Comprehend sends the key and cannot lock it out when
    it does not.
    """
    return {
        "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
        "ArnLikeIfExists": {"aws:SourceArn": key_phrases_job_arn(scope)},
    }


class KeyPhrasesDataAccessRole(iam.Role):
    """The data-access role for key phrase detection jobs, usable on its own.

    Trusted only by ``comprehend.amazonaws.com`` acting for this account (``aws:SourceAccount``)
    and, when Comprehend names the job (``aws:SourceArn``), on a key phrase detection job of this
    account and Region: see :func:`trust_conditions`.
    Allowed only ``s3:GetObject`` under ``input_prefix``, ``s3:ListBucket`` on the input bucket
    limited to that prefix, and ``s3:PutObject`` under ``output_prefix``.

    Prefixes default to ``""``: the whole bucket. ``encryption_key`` (the key of SSE-KMS buckets
    or of the job's output) and ``volume_encryption_key`` add the KMS permissions described in
    :func:`grant_data_access`; the buckets' own ``encryption_key`` is included automatically.
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
        encryption_key: kms.IKey | None = None,
        volume_encryption_key: kms.IKey | None = None,
        network: JobNetwork | None = None,
        description: str | None = None,
    ) -> None:
        setup = JobSetup.of(locals())
        raise_problems(field_problems(scope, setup.named_fields()))
        super().__init__(
            scope,
            construct_id,
            description=description
            or "Assumed by Amazon Comprehend to read key phrase input and write its output",
            assumed_by=iam.ServicePrincipal(
                COMPREHEND_PRINCIPAL, conditions=trust_conditions(scope)
            ),
        )
        self.input_bucket = input_bucket
        self.output_bucket = output_bucket
        self.input_prefix = input_prefix
        self.output_prefix = output_prefix
        grant_job_data_access(self, setup, scope=None)
