"""Where a job's compute runs: subnets and security groups of a VPC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import Annotations, Stack
from constructs import Construct, IValidation

from cdk_kp.contract import MAX_SECURITY_GROUPS, MAX_SUBNETS
from cdk_kp.infra.compliance import JOB_CONTAINERS, acknowledge_regulatory, flatten_reference

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2


@dataclass(frozen=True)
class JobNetwork:
    """The job's ``VpcConfig``: 1 to 16 subnets and 1 to 5 security groups of one VPC."""

    vpc: ec2.IVpc
    subnets: Sequence[ec2.ISubnet]
    security_groups: Sequence[ec2.ISecurityGroup]

    def __post_init__(self) -> None:
        if not 1 <= len(self.subnets) <= MAX_SUBNETS:
            raise ValueError(
                f"the job's subnets must number 1 to {MAX_SUBNETS} (Comprehend's VpcConfig); "
                f"got {len(self.subnets)}"
            )
        if not 1 <= len(self.security_groups) <= MAX_SECURITY_GROUPS:
            raise ValueError(
                f"the job's security_groups must number 1 to {MAX_SECURITY_GROUPS} "
                f"(Comprehend's VpcConfig); got {len(self.security_groups)}"
            )

    @property
    def subnet_ids(self) -> list[str]:
        return [subnet.subnet_id for subnet in self.subnets]

    @property
    def security_group_ids(self) -> list[str]:
        return [group.security_group_id for group in self.security_groups]


#: The warning a pipeline gives when the job's subnets in a VPC of the app have no route to S3.
S3_UNREACHABLE_WARNING = "cdk_kp:jobSubnetsCannotReachS3"


def create_job_security_group(
    scope: Construct, construct_id: str, vpc: ec2.IVpc
) -> ec2.SecurityGroup:
    """The jobs' security group: inbound only from itself, all outbound.

    Comprehend's VPC guide ("Configure the VPC security group"): "With distributed jobs, you
    must allow communication between the different job containers in the same job. To do that,
    configure a rule for your security group that allows inbound connections between members of
    the same security group." Outbound stays open: the containers read the input from S3 and
    write the output there, through a gateway endpoint or a NAT.
    """
    from aws_cdk import aws_ec2

    group = aws_ec2.SecurityGroup(
        scope,
        construct_id,
        vpc=vpc,
        description="Comprehend key phrase jobs: inbound only from this group, all outbound",
        allow_all_outbound=True,
    )
    group.add_ingress_rule(
        group, aws_ec2.Port.all_traffic(), "the containers of one Comprehend job"
    )
    # The regulatory packs flag every all-traffic ingress rule, whatever its source.
    acknowledge_regulatory(group, "EC2RestrictedCommonPorts", JOB_CONTAINERS)
    return group


def check_s3_reachable(scope: Construct, vpc: ec2.IVpc, subnets: Sequence[ec2.ISubnet]) -> None:
    """Warn, when the app is synthesized, if ``vpc`` is defined in the app and one of the
    job's ``subnets`` can reach S3 neither through a NAT gateway (a ``PRIVATE_WITH_EGRESS``
    subnet) nor through an S3 gateway endpoint on its route table.

    Comprehend's VPC guide ("Create an Amazon S3 VPC Endpoint"): if "job containers don't have
    access to the internet, they can't connect to the Amazon S3 buckets that contain your data
    unless you create a VPC endpoint". Its network interfaces get no public address, so a public
    subnet is no better than an isolated one. An imported VPC is not checked: its routes are not
    known at synth time.
    """
    from aws_cdk import aws_ec2

    if isinstance(vpc, aws_ec2.Vpc):
        scope.node.add_validation(_S3Reachability(scope, vpc, list(subnets)))


@jsii.implements(IValidation)
class _S3Reachability:
    """Run when the app is synthesized, after every endpoint of the VPC has been added."""

    def __init__(self, scope: Construct, vpc: ec2.Vpc, subnets: list[ec2.ISubnet]) -> None:
        self._scope = scope
        self._vpc = vpc
        self._subnets = subnets
        self._warned = False

    def validate(self) -> list[str]:
        stranded = [s for s in self._subnets if not self._reaches_s3(s)]
        if stranded and not self._warned:
            self._warned = True
            names = ", ".join(s.node.path for s in stranded)
            Annotations.of(self._scope).add_warning_v2(
                S3_UNREACHABLE_WARNING,
                f"the job's subnets {names} have no NAT gateway and no S3 gateway endpoint on "
                "their route tables, so Comprehend jobs there cannot read their input or write "
                "their output: add one, e.g. vpc.add_gateway_endpoint('S3', "
                "service=ec2.GatewayVpcEndpointAwsService.S3), or choose PRIVATE_WITH_EGRESS "
                "subnets with vpc_subnets. If they reach S3 another way, acknowledge this "
                "warning.",
            )
        return []

    def _reaches_s3(self, subnet: ec2.ISubnet) -> bool:
        if any(subnet.node.path == s.node.path for s in self._vpc.private_subnets):
            return True  # PRIVATE_WITH_EGRESS: CDK gives every such subnet a NAT route
        stack = Stack.of(self._vpc)
        route_table = stack.resolve(subnet.route_table.route_table_id)
        return any(route_table in tables for tables in self._s3_gateway_route_tables(stack))

    def _s3_gateway_route_tables(self, stack: Stack) -> list[list[Any]]:
        from aws_cdk import aws_ec2

        vpc_id = stack.resolve(self._vpc.vpc_id)
        found = []
        for construct in stack.node.find_all():
            if not isinstance(construct, aws_ec2.CfnVPCEndpoint):
                continue
            service = flatten_reference(stack.resolve(construct.service_name))
            kind = construct.vpc_endpoint_type or "Gateway"
            if (
                kind == "Gateway"
                and service.endswith(".s3")
                and (stack.resolve(construct.vpc_id) == vpc_id)
            ):
                found.append(list(stack.resolve(construct.route_table_ids) or []))
        return found
