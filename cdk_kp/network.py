"""Where a job's compute runs: subnets and security groups of a VPC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2

#: VpcConfig limits of the API.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5


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
