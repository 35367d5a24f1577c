"""What every job a KeyPhrasesWorkflow starts is asked to do, as the construct knows it at synth
time, and what the Start permission requires of it. Both renditions of the workflow (JSONPath
and JSONata) build their states from one :class:`JobSpec`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct

if TYPE_CHECKING:
    from cdk_kp.infra._setup import JobSetup
    from cdk_kp.infra.network import JobNetwork
    from cdk_kp.infra.schedule import PollSchedule

#: The service principal Comprehend assumes roles as.
COMPREHEND_PRINCIPAL = "comprehend.amazonaws.com"


def key_phrases_job_arn(scope: IConstruct, job_id: str = "*") -> str:
    """``arn:<partition>:comprehend:<region>:<account>:key-phrases-detection-job/<job_id>``."""
    return Stack.of(scope).format_arn(
        service="comprehend", resource="key-phrases-detection-job", resource_name=job_id
    )


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


def job_spec(setup: JobSetup, *, role_arn: str, schedule: PollSchedule, job_arn: str) -> JobSpec:
    """The request and its permissions: the Start permission holds only for a request that
    carries exactly these keys, network and tags."""
    conditions: dict[str, dict[str, Any]] = {}
    statements = [
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[role_arn],
            conditions={"StringEquals": {"iam:PassedToService": COMPREHEND_PRINCIPAL}},
        )
    ]
    extra_parameters = _key_parameters(setup, conditions)
    if setup.network is not None:
        extra_parameters["VpcConfig"] = _vpc_config(setup.network, conditions)
    if setup.job_tags:
        extra_parameters["Tags"] = [{"Key": k, "Value": v} for k, v in setup.job_tags.items()]
        statements.append(_tag_statement(job_arn, setup.job_tags, conditions))
    return JobSpec(
        input_root=f"s3://{setup.input_bucket.bucket_name}/{setup.input_prefix}",
        output_root=f"s3://{setup.output_bucket.bucket_name}/{setup.output_prefix}",
        role_arn=role_arn,
        language_code=setup.language_code,
        input_format=setup.input_format,
        job_name_prefix=setup.job_name_prefix,
        waits=schedule.waits,
        budget=schedule.timeout_seconds,
        output_key_arn=None if setup.encryption_key is None else setup.encryption_key.key_arn,
        extra_parameters=extra_parameters,
        start_conditions=conditions,
        start_statements=statements,
        job_arns=[job_arn],
    )


def _key_parameters(setup: JobSetup, conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``VolumeKmsKeyId``, and the conditions that hold the request to the setup's keys.

    comprehend:OutputKmsKey and comprehend:VolumeKmsKey are ARN-typed condition keys; the
    request passes the keys by ARN so that they compare equal."""
    parameters: dict[str, Any] = {}
    if setup.encryption_key is not None:
        conditions.setdefault("ArnEquals", {})["comprehend:OutputKmsKey"] = (
            setup.encryption_key.key_arn
        )
    if setup.volume_encryption_key is not None:
        parameters["VolumeKmsKeyId"] = setup.volume_encryption_key.key_arn
        conditions.setdefault("ArnEquals", {})["comprehend:VolumeKmsKey"] = (
            setup.volume_encryption_key.key_arn
        )
    return parameters


def _vpc_config(network: JobNetwork, conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``VpcConfig``, and the conditions that hold the request to exactly that network."""
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
    return {"SecurityGroupIds": network.security_group_ids, "Subnets": network.subnet_ids}


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
