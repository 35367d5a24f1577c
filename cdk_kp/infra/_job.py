"""What every job a KeyPhrasesWorkflow starts is asked to do, as the construct knows it at synth
time, and what the Start permission requires of it. Both renditions of the workflow (JSONPath
and JSONata) build their states from one :class:`JobSpec`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import aws_iam as iam

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from cdk_kp.infra.network import JobNetwork
    from cdk_kp.infra.schedule import PollSchedule

#: The service principal Comprehend assumes roles as.
COMPREHEND_PRINCIPAL = "comprehend.amazonaws.com"


@dataclass(frozen=True)
class JobSpec:
    """The values of a job's request that come from the props, and its permissions."""

    #: ``s3://<input bucket>/<input_prefix>``: an execution's ``inputPrefix`` follows it.
    input_root: str
    #: ``s3://<output bucket>/<output_prefix>``: each execution writes below
    #: ``<output_root><execution name>/``.
    output_root: str
    role_arn: str
    language_code: str
    input_format: str
    job_name_prefix: str
    #: The poll schedule's waits, in seconds, and their sum.
    waits: tuple[int, ...]
    budget: int
    #: ``OutputDataConfig.KmsKeyId``, if any.
    output_key_arn: str | None
    #: ``VolumeKmsKeyId``, ``VpcConfig`` and ``Tags``, as the request carries them.
    extra_parameters: dict[str, Any]
    #: The conditions on the Start permission, and the statements besides it (PassRole,
    #: TagResource).
    start_conditions: dict[str, dict[str, Any]]
    start_statements: list[iam.PolicyStatement]
    #: ``key-phrases-detection-job/*`` in this account and Region.
    job_arns: list[str]


def job_spec(
    *,
    job_arn: str,
    input_bucket: s3.IBucket,
    input_prefix: str,
    output_bucket: s3.IBucket,
    output_prefix: str,
    data_access_role: iam.IRole,
    language_code: str,
    input_format: str,
    job_name_prefix: str,
    poll_schedule: PollSchedule,
    output_encryption_key: kms.IKey | None,
    volume_encryption_key: kms.IKey | None,
    network: JobNetwork | None,
    job_tags: Mapping[str, str],
) -> JobSpec:
    """The request and its permissions: the Start permission holds only for a request that
    carries exactly these keys, network and tags."""
    extra_parameters: dict[str, Any] = {}
    conditions: dict[str, dict[str, Any]] = {}
    statements = [
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[data_access_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": COMPREHEND_PRINCIPAL}},
        )
    ]
    # comprehend:OutputKmsKey and comprehend:VolumeKmsKey are ARN-typed condition keys; the
    # request passes the keys by ARN so that they compare equal.
    output_key_arn = None
    if output_encryption_key is not None:
        output_key_arn = output_encryption_key.key_arn
        conditions.setdefault("ArnEquals", {})["comprehend:OutputKmsKey"] = output_key_arn
    if volume_encryption_key is not None:
        extra_parameters["VolumeKmsKeyId"] = volume_encryption_key.key_arn
        conditions.setdefault("ArnEquals", {})["comprehend:VolumeKmsKey"] = (
            volume_encryption_key.key_arn
        )
    if network is not None:
        extra_parameters["VpcConfig"] = {
            "SecurityGroupIds": network.security_group_ids,
            "Subnets": network.subnet_ids,
        }
        # ArrayOfString keys holding IDs: every value must be one of ours.
        conditions.setdefault("ForAllValues:StringEquals", {}).update(
            {
                "comprehend:VpcSubnets": network.subnet_ids,
                "comprehend:VpcSecurityGroupIds": network.security_group_ids,
            }
        )
        # ForAllValues also holds for an absent key: require both to be present.
        conditions["Null"] = {
            "comprehend:VpcSubnets": "false",
            "comprehend:VpcSecurityGroupIds": "false",
        }
    if job_tags:
        extra_parameters["Tags"] = [{"Key": k, "Value": v} for k, v in job_tags.items()]
        statements.append(_tag_statement(job_arn, job_tags, conditions))
    return JobSpec(
        input_root=f"s3://{input_bucket.bucket_name}/{input_prefix}",
        output_root=f"s3://{output_bucket.bucket_name}/{output_prefix}",
        role_arn=data_access_role.role_arn,
        language_code=language_code,
        input_format=input_format,
        job_name_prefix=job_name_prefix,
        waits=poll_schedule.waits,
        budget=poll_schedule.timeout_seconds,
        output_key_arn=output_key_arn,
        extra_parameters=extra_parameters,
        start_conditions=conditions,
        start_statements=statements,
        job_arns=[job_arn],
    )


def _tag_statement(
    job_arn: str, job_tags: Mapping[str, str], conditions: dict[str, dict[str, Any]]
) -> iam.PolicyStatement:
    """Start and TagResource both accept aws:RequestTag and aws:TagKeys: only these tags.
    Adds the conditions to Start's, and returns TagResource's statement."""
    request_tags = {f"aws:RequestTag/{k}": v for k, v in job_tags.items()}
    conditions.setdefault("StringEquals", {}).update(request_tags)
    conditions.setdefault("ForAllValues:StringEquals", {})["aws:TagKeys"] = list(job_tags)
    return iam.PolicyStatement(
        sid="TagKeyPhrasesJobsOnStart",
        actions=["comprehend:TagResource"],
        resources=[job_arn],
        conditions={
            "StringEquals": request_tags,
            "ForAllValues:StringEquals": {"aws:TagKeys": list(job_tags)},
        },
    )


@dataclass(frozen=True)
class Rendition:
    """A rendition's states the fragment exposes."""

    start: Any  # sfn.State
    end: Any  # sfn.INextable
    start_task: Any  # tasks.CallAwsService
    describe_task: Any  # tasks.CallAwsService
