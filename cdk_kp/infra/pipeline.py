"""KeyPhrasesPipeline: buckets, data-access role and workflow in one construct."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_kp.infra._endpoints import via_service
from cdk_kp.infra._pipeline_props import PipelineProps
from cdk_kp.infra._setup import (
    DEFAULT_INPUT_FORMAT,
    DEFAULT_JOB_NAME_PREFIX,
    DEFAULT_LANGUAGE,
    JobSetup,
    distinct_keys,
)
from cdk_kp.infra._state_machine import StateMachineMethods, logged_state_machine
from cdk_kp.infra._structs import struct_values
from cdk_kp.infra._validation import raise_problems
from cdk_kp.infra.buckets import create_data_bucket, create_log_bucket
from cdk_kp.infra.compliance import (
    DEFAULT_POLICY,
    NO_RESOURCE_LEVEL,
    acknowledge,
    acknowledge_regulatory,
)
from cdk_kp.infra.data_access_role import KeyPhrasesDataAccessRole, grant_job_data_access
from cdk_kp.infra.network import JobNetwork, check_s3_reachable, create_job_security_group
from cdk_kp.infra.schedule import PollSchedule
from cdk_kp.infra.workflow import KeyPhrasesWorkflow

if TYPE_CHECKING:
    # Imported for annotations only: aws_ec2's bindings take a tenth of a second to load,
    # which every synth would pay whether or not it uses a VPC.
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms


class KeyPhrasesPipeline(StateMachineMethods, Construct):
    """An Amazon Comprehend key phrase pipeline: buckets, data-access role and workflow.

    By default it creates an input and an output bucket (SSE-S3, versioned, SSL only, public
    access blocked, server access logs into a dedicated log bucket, retained when the stack is
    deleted, never emptied by the library), a least-privilege data-access role, and a Standard
    state machine running :class:`KeyPhrasesWorkflow` with logs at level ALL, X-Ray tracing and an
    execution timeout long enough for the polling budget and every retry.

    Bring your own buckets or role with ``input_bucket``, ``output_bucket`` and
    ``data_access_role``; the same least-privilege statements are added to a role you bring.

    ``encryption_key`` turns on customer-managed encryption everywhere it applies: SSE-KMS with
    bucket keys on the created buckets (not the access-log bucket: S3 log delivery supports only
    SSE-S3), the job's output and ML volume, the log group and the state machine. ``vpc`` runs
    the jobs in your VPC. ``job_tags`` are passed to every job.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        input_bucket: s3.IBucket | None = None,
        input_bucket_props: s3.BucketProps | None = None,
        input_prefix: str = "",
        output_bucket: s3.IBucket | None = None,
        output_bucket_props: s3.BucketProps | None = None,
        output_prefix: str = "",
        data_access_role: iam.IRole | None = None,
        language_code: str = DEFAULT_LANGUAGE,
        input_format: str = DEFAULT_INPUT_FORMAT,
        job_name_prefix: str = DEFAULT_JOB_NAME_PREFIX,
        poll_schedule: PollSchedule | None = None,
        execution_timeout: Duration | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        state_machine_name: str | None = None,
        encryption_key: kms.IKey | None = None,
        volume_encryption_key: kms.IKey | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        job_tags: Mapping[str, str] | None = None,
        noncurrent_version_expiration: Duration | None = None,
    ) -> None:
        """
        :param input_bucket: where the documents are read from. Default: a bucket is created.
        :param input_bucket_props: overrides for the created input bucket's secure defaults.
            Not allowed together with ``input_bucket``.
        :param input_prefix: key prefix the jobs read under (``""``: the whole bucket).
            An execution's ``inputPrefix`` is relative to it.
        :param output_bucket: where Comprehend writes results. Default: a bucket is created.
        :param output_bucket_props: overrides for the created output bucket's secure defaults.
            Not allowed together with ``output_bucket``.
        :param output_prefix: key prefix the jobs write under (``""``: the whole bucket). Each
            execution writes below ``<output_prefix><execution name>/``.
        :param data_access_role: the role Comprehend assumes. Default: a
            :class:`KeyPhrasesDataAccessRole` is created.
        :param language_code: the default ``languageCode`` of an execution. Default: ``en``.
        :param input_format: the default ``inputFormat``. Default: ``ONE_DOC_PER_LINE``.
        :param job_name_prefix: default job names are ``<prefix>-<execution name>``.
        :param poll_schedule: when to poll and for how long. Default: :class:`PollSchedule()`.
        :param execution_timeout: the state machine's overall timeout. Default: the polling
            budget, plus the longest every Comprehend call can spend retrying (122 s each),
            plus 30 minutes (about 29.9 hours for the default schedule). Must be longer than
            the polling budget.
        :param log_retention: how long execution logs are kept. Default: one year.
        :param state_machine_name: Default: a name CloudFormation generates, or, with
            ``encryption_key``, one derived from the construct path (the state machine's key
            permissions name it).
        :param encryption_key: a customer-managed symmetric key for the created buckets
            (SSE-KMS, bucket keys on), the job's output (``OutputDataConfig.KmsKeyId``), the
            job's ML volume unless ``volume_encryption_key`` is given, the log group and the
            state machine. For a key created in the same app the needed key policy statements
            are added; an imported key's policy must allow them (see the README).
            Default: SSE-S3 and AWS-owned keys.
        :param volume_encryption_key: a separate key for the job's ML storage volume
            (``VolumeKmsKeyId``). Default: ``encryption_key``.
        :param vpc: run the jobs in this VPC (``VpcConfig``). Default: no VPC.
        :param vpc_subnets: which of its subnets (1 to 16). Default: the VPC's private subnets.
        :param security_groups: 1 to 5 security groups for the jobs. Default: one is created,
            with no inbound rules and all outbound traffic allowed.
        :param job_tags: tags passed to every job (``Tags``); the state machine may tag jobs with
            these and no others. Default: none.
        :param noncurrent_version_expiration: expire noncurrent object versions in the created
            buckets after this long. Default: never (only incomplete uploads are aborted, after
            7 days).
        """
        props = PipelineProps.of(locals())  # first: the keyword arguments, and only those
        super().__init__(scope, construct_id)
        raise_problems(props.problems(self))
        self.poll_schedule = props.poll_schedule
        input_bucket, output_bucket = self._buckets(props)
        #: Where the jobs run, if in a VPC.
        self.network: JobNetwork | None = self._job_network(props)
        # What every job is set up with: buckets, prefixes, request defaults, keys, network.
        self._job_setup = props.job_setup(input_bucket, output_bucket, self.network)
        self._expose(self._job_setup)
        #: The role Comprehend assumes (created or given).
        self.data_access_role: iam.IRole = self._data_access_role(props.data_access_role)
        #: The workflow fragment the state machine runs.
        self.workflow = KeyPhrasesWorkflow(
            self,
            "Workflow",
            **self._job_setup.workflow_props(self.data_access_role, self.poll_schedule),
        )
        #: The log group receiving the state machine's execution logs, and the Standard state
        #: machine running the workflow.
        self.log_group, self.state_machine = logged_state_machine(
            self,
            definition=self.workflow,
            encryption_key=props.encryption_key,
            log_retention=props.log_retention,
            state_machine_name=props.state_machine_name,
            timeout=props.execution_timeout,
        )
        self._acknowledge_state_machine_role()

    def _buckets(self, props: PipelineProps) -> tuple[s3.IBucket, s3.IBucket]:
        """The given buckets, or buckets created with the secure defaults (and, when any is
        created, the bucket receiving their server access logs)."""
        #: The bucket receiving server access logs of the created buckets (``None`` when the
        #: library created no bucket).
        self.access_log_bucket: s3.Bucket | None = None
        if props.input_bucket is not None and props.output_bucket is not None:
            return props.input_bucket, props.output_bucket
        log_bucket = self.access_log_bucket = create_log_bucket(
            self,
            "AccessLogBucket",
            noncurrent_version_expiration=props.noncurrent_version_expiration,
        )
        created: list[s3.IBucket] = []
        for side, given, side_props in (
            ("input", props.input_bucket, props.input_bucket_props),
            ("output", props.output_bucket, props.output_bucket_props),
        ):
            if given is not None:
                created.append(given)
                continue
            created.append(
                create_data_bucket(
                    self,
                    f"{side.title()}Bucket",
                    props=side_props,
                    log_bucket=log_bucket,
                    log_prefix=f"{side}-bucket/",
                    encryption_key=props.encryption_key,
                    noncurrent_version_expiration=props.noncurrent_version_expiration,
                )
            )
        return created[0], created[1]

    def _job_network(self, props: PipelineProps) -> JobNetwork | None:
        """The VPC's chosen subnets and the security groups (one created unless given)."""
        if props.vpc is None:
            return None
        subnets = props.vpc.select_subnets(**struct_values(props.vpc_subnets)).subnets
        check_s3_reachable(self, props.vpc, subnets)
        groups = props.security_groups
        if groups is None:
            groups = [create_job_security_group(self, "JobSecurityGroup", props.vpc)]
        return JobNetwork(vpc=props.vpc, subnets=list(subnets), security_groups=list(groups))

    def _data_access_role(self, given: iam.IRole | None) -> iam.IRole:
        """A created :class:`KeyPhrasesDataAccessRole`, or the given role granted the same."""
        if given is None:
            return KeyPhrasesDataAccessRole(self, "DataAccessRole", **self._job_setup.role_props())
        grant_job_data_access(given, self._job_setup, scope=self)
        return given

    def _acknowledge_state_machine_role(self) -> None:
        """The findings on the state machine's role that its job and X-Ray/logs grants raise."""
        role = self.state_machine.role
        self.workflow.acknowledge_job_wildcard(role)
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", NO_RESOURCE_LEVEL)
        acknowledge_regulatory(role, "IAMNoInlinePolicy", DEFAULT_POLICY)

    def _expose(self, setup: JobSetup) -> None:
        """The setup's values, as the pipeline's attributes."""
        #: The buckets documents are read from and Comprehend writes to (created or given).
        self.input_bucket: s3.IBucket = setup.input_bucket
        self.output_bucket: s3.IBucket = setup.output_bucket
        #: The key prefixes the jobs read under and write under.
        self.input_prefix = setup.input_prefix
        self.output_prefix = setup.output_prefix
        #: The default language and input format of an execution.
        self.language_code = setup.language_code
        self.input_format = setup.input_format
        #: Job names start with it.
        self.job_name_prefix = setup.job_name_prefix
        #: The customer-managed key, if any.
        self.encryption_key: kms.IKey | None = setup.encryption_key

    def grant_write_input(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to put objects under the input prefix, and nowhere else:
        ``s3:PutObject`` and ``s3:AbortMultipartUpload`` on ``<input_prefix>*`` and, when the
        input bucket is SSE-KMS, ``kms:GenerateDataKey`` and ``kms:Decrypt`` (multipart uploads)
        on its key, through S3 only."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resource_arns=[self.input_bucket.arn_for_objects(f"{self.input_prefix}*")],
        )
        keys = distinct_keys(self.input_bucket.encryption_key)
        if keys:
            grant = grant.combine(
                _through_s3(grantee, ["kms:GenerateDataKey", "kms:Decrypt"], keys)
            )
        return grant

    def grant_read_output(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to read the objects under the output prefix, and nothing else:
        ``s3:GetObject`` on ``<output_prefix>*``, ``s3:ListBucket`` on the output bucket for keys
        under that prefix only (``s3:prefix``), and ``kms:Decrypt``, through S3 only, with
        ``encryption_key`` (which Comprehend encrypts its output with) and the bucket's key."""
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self.output_bucket.arn_for_objects(f"{self.output_prefix}*")],
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["s3:ListBucket"],
                resource_arns=[self.output_bucket.bucket_arn],
                # Without a prefix the whole bucket is the output: a listing may omit it.
                conditions={"StringLike": {"s3:prefix": [f"{self.output_prefix}*"]}}
                if self.output_prefix
                else None,
            )
        )
        keys = distinct_keys(self.encryption_key, self.output_bucket.encryption_key)
        if keys:
            grant = grant.combine(_through_s3(grantee, ["kms:Decrypt"], keys))
        return grant


def _through_s3(grantee: iam.IGrantable, actions: list[str], keys: list[kms.IKey]) -> iam.Grant:
    """``actions`` on ``keys`` for ``grantee``, only in requests S3 makes on its behalf."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=actions,
        resource_arns=[key.key_arn for key in keys],
        conditions={"StringEquals": {"kms:ViaService": via_service("s3")}},
    )
