"""A KeyPhrasesPipeline's props, gathered in one value and checked before anything is built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, cast

from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_kp.contract import MAX_EXECUTION_SECONDS, MAX_SECURITY_GROUPS, MAX_SUBNETS
from cdk_kp.infra._setup import JobSetup, plain
from cdk_kp.infra._states import MAX_RETRY_SECONDS
from cdk_kp.infra._structs import struct_values
from cdk_kp.infra._validation import (
    field_problems,
    prefixes_overlap,
    struct_problems,
    struct_shown,
    whole_duration_problems,
)
from cdk_kp.infra.schedule import PollSchedule

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs

    from cdk_kp.infra.network import JobNetwork

#: Added to the polling budget for the execution timeout, besides the longest the calls can
#: spend retrying (every poll, the start and the stop), so that the workflow's own budget,
#: which stops the job, always ends the execution first.
EXECUTION_TIMEOUT_MARGIN = Duration.minutes(30)


def default_execution_timeout(schedule: PollSchedule) -> int:
    """Seconds: the budget, every call retrying as long as it can, and 30 minutes."""
    calls = len(schedule.waits) + 2
    return int(
        schedule.timeout_seconds + calls * MAX_RETRY_SECONDS + EXECUTION_TIMEOUT_MARGIN.to_seconds()
    )


@dataclass(frozen=True, kw_only=True)
class PipelineProps:
    """The keyword arguments of :class:`~cdk_kp.infra.pipeline.KeyPhrasesPipeline`, as given
    (``poll_schedule`` and ``execution_timeout`` with their defaults applied, enums as their
    values, ``job_tags`` sorted)."""

    input_bucket: s3.IBucket | None
    input_bucket_props: s3.BucketProps | None
    input_prefix: str
    output_bucket: s3.IBucket | None
    output_bucket_props: s3.BucketProps | None
    output_prefix: str
    data_access_role: iam.IRole | None
    language_code: str
    input_format: str
    job_name_prefix: str
    poll_schedule: PollSchedule
    execution_timeout: Duration
    log_retention: logs.RetentionDays
    state_machine_name: str | None
    encryption_key: kms.IKey | None
    volume_encryption_key: kms.IKey | None
    vpc: ec2.IVpc | None
    vpc_subnets: ec2.SubnetSelection | None
    security_groups: Sequence[ec2.ISecurityGroup] | None
    job_tags: Mapping[str, str]
    noncurrent_version_expiration: Duration | None

    @classmethod
    def of(cls, arguments: Mapping[str, object]) -> PipelineProps:
        """The props from the constructor's arguments (its ``locals()`` as it starts; what is
        not a prop is left out), defaults applied."""
        given = {f.name: arguments[f.name] for f in fields(cls)}
        schedule = given["poll_schedule"] or PollSchedule()
        timeout = given["execution_timeout"] or Duration.seconds(
            default_execution_timeout(cast("PollSchedule", schedule))
        )
        tags = cast("Mapping[str, str] | None", given["job_tags"])
        return cls(
            **{
                **given,
                "language_code": plain(given["language_code"]),
                "input_format": plain(given["input_format"]),
                "poll_schedule": schedule,
                "execution_timeout": timeout,
                "job_tags": dict(sorted((tags or {}).items())),
            }
        )

    def job_setup(
        self, input_bucket: s3.IBucket, output_bucket: s3.IBucket, network: JobNetwork | None
    ) -> JobSetup:
        """The setup of every job, with the buckets and network the pipeline uses."""
        return JobSetup(
            input_bucket=input_bucket,
            input_prefix=self.input_prefix,
            output_bucket=output_bucket,
            output_prefix=self.output_prefix,
            language_code=self.language_code,
            input_format=self.input_format,
            job_name_prefix=self.job_name_prefix,
            encryption_key=self.encryption_key,
            volume_encryption_key=self.volume_encryption_key or self.encryption_key,
            network=network,
            job_tags=self.job_tags,
        )

    def problems(self, scope: Construct) -> list[str]:
        """Everything wrong with the props, each naming the field and the value."""
        problems: list[str] = []
        for side in ("input", "output"):
            bucket, bucket_props = (
                getattr(self, f"{side}_bucket"),
                getattr(self, f"{side}_bucket_props"),
            )
            if bucket is not None and bucket_props is not None:
                problems.append(f"give {side}_bucket or {side}_bucket_props, not both")
            problems += struct_problems(
                f"{side}_bucket_props", bucket_props, s3.BucketProps, "aws_s3.BucketProps"
            )
        problems += field_problems(scope, {f.name: getattr(self, f.name) for f in fields(self)})
        problems += whole_duration_problems(
            "noncurrent_version_expiration",
            self.noncurrent_version_expiration or Duration.days(1),
            "days",
        )
        problems += _timeout_problems(self.execution_timeout, self.poll_schedule)
        problems += _network_problems(self.vpc, self.vpc_subnets, self.security_groups)
        if not problems and self._share_a_prefix():
            problems.append(
                "input_prefix and output_prefix must not overlap when input and output share a "
                "bucket (results would be read back as input); got "
                f"input_prefix={self.input_prefix!r}, output_prefix={self.output_prefix!r}"
            )
        return problems

    def _share_a_prefix(self) -> bool:
        """Input and output are one given bucket, and one prefix contains the other."""
        given, taken = self.input_bucket, self.output_bucket
        return (
            given is not None
            and taken is not None
            and given.bucket_name == taken.bucket_name
            and prefixes_overlap(self.input_prefix, self.output_prefix)
        )


def _timeout_problems(timeout: object, schedule: object) -> list[str]:
    if not isinstance(schedule, PollSchedule):
        return [f"poll_schedule must be a PollSchedule; got {schedule!r}"]
    problems = whole_duration_problems(
        "execution_timeout", timeout, "seconds", maximum=MAX_EXECUTION_SECONDS
    )
    budget = schedule.timeout_seconds
    if not problems and isinstance(timeout, Duration) and timeout.to_seconds() <= budget:
        problems.append(
            f"execution_timeout must be longer than poll_schedule.timeout ({budget} s) so the "
            f"workflow can stop the job before the execution ends; got {timeout.to_seconds()} s"
        )
    return problems


def _network_problems(vpc: object, subnets: object, groups: object) -> list[str]:
    if vpc is None:
        if subnets is not None or groups is not None:
            return ["vpc_subnets and security_groups need a vpc"]
        return []
    from aws_cdk import aws_ec2

    problems = struct_problems(
        "vpc_subnets", subnets, aws_ec2.SubnetSelection, "aws_ec2.SubnetSelection"
    )
    if problems:
        return problems
    selection = struct_values(subnets)
    try:
        chosen = cast("ec2.IVpc", vpc).select_subnets(**selection).subnets
    except Exception as error:  # CDK's own message says what the VPC has
        reason = str(error).split(": ", 1)[-1]
        return [
            "vpc_subnets must select subnets the VPC has; got "
            f"{struct_shown('SubnetSelection', selection)}: {reason}"
        ]
    if not 1 <= len(chosen) <= MAX_SUBNETS:
        shown = (
            struct_shown("SubnetSelection", selection)
            if selection
            else "the default (the VPC's private subnets)"
        )
        return [
            f"vpc_subnets must select 1 to {MAX_SUBNETS} subnets (Comprehend's VpcConfig); "
            f"got {len(chosen)} from {shown}"
        ]
    if (
        groups is not None
        and not 1 <= len(list(cast("Sequence[object]", groups))) <= MAX_SECURITY_GROUPS
    ):
        return [
            f"security_groups must number 1 to {MAX_SECURITY_GROUPS} (Comprehend's VpcConfig); "
            f"got {len(list(cast('Sequence[object]', groups)))}"
        ]
    return []
