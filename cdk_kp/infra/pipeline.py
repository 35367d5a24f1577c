"""KeyPhrasesPipeline: buckets, data-access role and workflow in one construct."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from aws_cdk import ArnFormat, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_kp.contract import MAX_EXECUTION_SECONDS, MAX_SECURITY_GROUPS, MAX_SUBNETS
from cdk_kp.infra._endpoints import regional_service_principal, via_service
from cdk_kp.infra._structs import struct_values
from cdk_kp.infra._validation import (
    INPUT_FORMATS,
    INPUT_PREFIX_MAX_LENGTH,
    LANGUAGE_CODES,
    OUTPUT_PREFIX_MAX_LENGTH,
    bucket_problems,
    choice_problems,
    key_prefix_problems,
    key_problems,
    prefixes_overlap,
    raise_problems,
    role_problems,
    string_problems,
    struct_problems,
    struct_shown,
    whole_duration_problems,
)
from cdk_kp.infra.buckets import create_data_bucket, create_log_bucket
from cdk_kp.infra.compliance import (
    DEFAULT_POLICY,
    LOGS_DEFAULT_ENCRYPTION,
    NO_RESOURCE_LEVEL,
    acknowledge,
    acknowledge_regulatory,
)
from cdk_kp.infra.data_access_role import (
    DataAccess,
    KeyPhrasesDataAccessRole,
    grant_data_access,
    s3_keys,
)
from cdk_kp.infra.network import (
    JobNetwork,
    check_s3_reachable,
    create_job_security_group,
)
from cdk_kp.infra.schedule import PollSchedule
from cdk_kp.infra.workflow import MAX_RETRY_SECONDS, KeyPhrasesWorkflow

if TYPE_CHECKING:
    # Imported for annotations only: aws_ec2's bindings take a tenth of a second to load,
    # which every synth would pay whether or not it uses a VPC.
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_kms as kms

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


#: How long Step Functions may reuse a data key of a customer-managed key (its default).
DATA_KEY_REUSE_PERIOD = Duration.minutes(5)

#: What CloudWatch Logs needs of a key that encrypts a log group (CloudWatch Logs user guide,
#: "Encrypt log data in CloudWatch Logs using AWS KMS"), limited to this log group by the
#: encryption context. The guide's statement also lists ``kms:Describe*``; it is left out here:
#: DescribeKey and DescribeCustomKeyStores do not support ``kms:EncryptionContext:*`` (Service
#: Authorization Reference for AWS KMS), so under this condition that part could never apply.
LOG_GROUP_KEY_ACTIONS = [
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
]


def logged_state_machine(
    scope: Construct,
    *,
    definition: sfn.IChainable,
    encryption_key: kms.IKey | None,
    log_retention: logs.RetentionDays,
    state_machine_name: str | None,
    timeout: Duration | None,
) -> tuple[logs.LogGroup, sfn.StateMachine]:
    """A Standard state machine (``StateMachine``) with X-Ray and logs at level ALL in a
    retained log group (``ExecutionLogs``) under ``/aws/vendedlogs/states/``; with
    ``encryption_key``, both are encrypted with it (and the state machine gets a name)."""
    log_group_name = "/aws/vendedlogs/states/" + Names.unique_resource_name(
        scope, max_length=200, separator="-"
    )
    log_group = logs.LogGroup(
        scope,
        "ExecutionLogs",
        log_group_name=log_group_name,
        retention=log_retention,
        removal_policy=RemovalPolicy.RETAIN,
        encryption_key=encryption_key,
    )
    encryption: sfn.EncryptionConfiguration | None = None
    if encryption_key is None:
        acknowledge_regulatory(log_group, "CloudWatchLogGroupEncrypted", LOGS_DEFAULT_ENCRYPTION)
    else:
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(regional_service_principal("logs"))],
                actions=LOG_GROUP_KEY_ACTIONS,
                resources=["*"],
                conditions={
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": Stack.of(scope).format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name=log_group_name,
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        encryption = sfn.CustomerManagedEncryptionConfiguration(
            encryption_key, DATA_KEY_REUSE_PERIOD
        )
        # CDK conditions the role's use of the key on the state machine's ARN, built from its
        # physical name: without a name that ARN would end in "stateMachine:" and match
        # nothing.
        state_machine_name = state_machine_name or Names.unique_resource_name(
            scope, max_length=80, separator="-"
        )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=state_machine_name,
        encryption_configuration=encryption,
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
    )
    return log_group, state_machine


class ExecutionMetrics:
    """``metric_*`` methods for a construct whose executions run on ``self.state_machine``."""

    state_machine: sfn.StateMachine

    def metric_failed(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """Executions that failed (``ExecutionsFailed``). Default: sum over 5 minutes."""
        return self.state_machine.metric_failed(period=period, statistic=statistic)

    def metric_succeeded(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """Executions that succeeded (``ExecutionsSucceeded``). Default: sum over 5 minutes."""
        return self.state_machine.metric_succeeded(period=period, statistic=statistic)

    def metric_time(
        self, *, period: Duration | None = None, statistic: str | None = None
    ) -> cloudwatch.Metric:
        """Execution run time (``ExecutionTime``). Default: average over 5 minutes."""
        return self.state_machine.metric_time(period=period, statistic=statistic)


def pipeline_problems(scope: Construct, **props: Any) -> list[str]:
    """Everything wrong with a pipeline's props, each naming the field and the value, before
    anything is built."""
    problems: list[str] = []
    for side in ("input", "output"):
        bucket, bucket_props = props[f"{side}_bucket"], props[f"{side}_bucket_props"]
        if bucket is not None and bucket_props is not None:
            problems.append(f"give {side}_bucket or {side}_bucket_props, not both")
        problems += bucket_problems(f"{side}_bucket", bucket, scope)
        problems += struct_problems(
            f"{side}_bucket_props", bucket_props, s3.BucketProps, "aws_s3.BucketProps"
        )
        limit = INPUT_PREFIX_MAX_LENGTH if side == "input" else OUTPUT_PREFIX_MAX_LENGTH
        problems += key_prefix_problems(f"{side}_prefix", props[f"{side}_prefix"], limit)
    problems += role_problems("data_access_role", props["data_access_role"], scope)
    problems += choice_problems("language_code", props["language_code"], LANGUAGE_CODES)
    problems += choice_problems("input_format", props["input_format"], INPUT_FORMATS)
    problems += string_problems("job_name_prefix", props["job_name_prefix"])
    problems += key_problems("encryption_key", props["encryption_key"], scope)
    problems += key_problems("volume_encryption_key", props["volume_encryption_key"], scope)
    problems += whole_duration_problems(
        "noncurrent_version_expiration",
        props["noncurrent_version_expiration"] or Duration.days(1),
        "days",
    )
    problems += _timeout_problems(props["execution_timeout"], props["poll_schedule"])
    problems += _network_problems(props["vpc"], props["vpc_subnets"], props["security_groups"])
    if not problems and _share_a_prefix(props):
        problems.append(
            "input_prefix and output_prefix must not overlap when input and output share a "
            "bucket (results would be read back as input); got "
            f"input_prefix={props['input_prefix']!r}, output_prefix={props['output_prefix']!r}"
        )
    return problems


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


def _share_a_prefix(props: dict[str, Any]) -> bool:
    """Input and output are one given bucket, and one prefix contains the other."""
    given, taken = props["input_bucket"], props["output_bucket"]
    return (
        given is not None
        and taken is not None
        and given.bucket_name == taken.bucket_name
        and prefixes_overlap(props["input_prefix"], props["output_prefix"])
    )


class KeyPhrasesPipeline(ExecutionMetrics, Construct):
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
        language_code: str = "en",
        input_format: str = "ONE_DOC_PER_LINE",
        job_name_prefix: str = "key-phrases",
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
        super().__init__(scope, construct_id)
        self.poll_schedule = poll_schedule or PollSchedule()
        if execution_timeout is None:
            execution_timeout = Duration.seconds(default_execution_timeout(self.poll_schedule))
        raise_problems(
            pipeline_problems(
                self,
                input_bucket=input_bucket,
                input_bucket_props=input_bucket_props,
                input_prefix=input_prefix,
                output_bucket=output_bucket,
                output_bucket_props=output_bucket_props,
                output_prefix=output_prefix,
                data_access_role=data_access_role,
                language_code=language_code,
                input_format=input_format,
                job_name_prefix=job_name_prefix,
                poll_schedule=self.poll_schedule,
                execution_timeout=execution_timeout,
                encryption_key=encryption_key,
                volume_encryption_key=volume_encryption_key,
                vpc=vpc,
                vpc_subnets=vpc_subnets,
                security_groups=security_groups,
                job_tags=job_tags,
                noncurrent_version_expiration=noncurrent_version_expiration,
            )
        )

        #: The bucket receiving server access logs of the created buckets (``None`` when the
        #: library created no bucket).
        self.access_log_bucket: s3.Bucket | None = None
        if input_bucket is None or output_bucket is None:
            self.access_log_bucket = create_log_bucket(
                self, "AccessLogBucket", noncurrent_version_expiration=noncurrent_version_expiration
            )
        if input_bucket is None:
            assert self.access_log_bucket is not None
            input_bucket = create_data_bucket(
                self,
                "InputBucket",
                props=input_bucket_props,
                log_bucket=self.access_log_bucket,
                log_prefix="input-bucket/",
                encryption_key=encryption_key,
                noncurrent_version_expiration=noncurrent_version_expiration,
            )
        if output_bucket is None:
            assert self.access_log_bucket is not None
            output_bucket = create_data_bucket(
                self,
                "OutputBucket",
                props=output_bucket_props,
                log_bucket=self.access_log_bucket,
                log_prefix="output-bucket/",
                encryption_key=encryption_key,
                noncurrent_version_expiration=noncurrent_version_expiration,
            )
        #: The bucket documents are read from (created or given).
        self.input_bucket: s3.IBucket = input_bucket
        #: The bucket Comprehend writes to (created or given).
        self.output_bucket: s3.IBucket = output_bucket
        self.input_prefix = input_prefix
        self.output_prefix = output_prefix
        #: The default input format of an execution.
        self.input_format = input_format
        #: The default language of an execution.
        self.language_code = language_code
        #: Job names start with it.
        self.job_name_prefix = job_name_prefix
        #: The customer-managed key, if any.
        self.encryption_key = encryption_key
        volume_encryption_key = volume_encryption_key or encryption_key

        #: Where the jobs run, if in a VPC.
        self.network: JobNetwork | None = None
        if vpc is not None:
            subnets = vpc.select_subnets(**struct_values(vpc_subnets)).subnets
            check_s3_reachable(self, vpc, subnets)
            if security_groups is None:
                security_groups = [create_job_security_group(self, "JobSecurityGroup", vpc)]
            self.network = JobNetwork(
                vpc=vpc, subnets=list(subnets), security_groups=list(security_groups)
            )

        access = DataAccess(
            input_bucket=input_bucket,
            input_prefix=input_prefix,
            output_bucket=output_bucket,
            output_prefix=output_prefix,
            encryption_key=encryption_key,
            volume_encryption_key=volume_encryption_key,
            network=self.network,
        )
        if data_access_role is None:
            data_access_role = KeyPhrasesDataAccessRole(self, "DataAccessRole", **access)
        else:
            grant_data_access(data_access_role, scope=self, **access)
        #: The role Comprehend assumes (created or given).
        self.data_access_role: iam.IRole = data_access_role

        #: The workflow fragment the state machine runs.
        self.workflow = KeyPhrasesWorkflow(
            self,
            "Workflow",
            input_bucket=input_bucket,
            input_prefix=input_prefix,
            output_bucket=output_bucket,
            output_prefix=output_prefix,
            data_access_role=data_access_role,
            language_code=language_code,
            input_format=input_format,
            job_name_prefix=job_name_prefix,
            poll_schedule=self.poll_schedule,
            output_encryption_key=encryption_key,
            volume_encryption_key=volume_encryption_key,
            network=self.network,
            job_tags=job_tags,
        )
        #: The log group receiving the state machine's execution logs, and the Standard state
        #: machine running the workflow.
        self.log_group, self.state_machine = logged_state_machine(
            self,
            definition=self.workflow,
            encryption_key=encryption_key,
            log_retention=log_retention,
            state_machine_name=state_machine_name,
            timeout=execution_timeout,
        )
        self.workflow.acknowledge_job_wildcard(self.state_machine.role)
        acknowledge(self.state_machine.role, "AwsSolutions-IAM5[Resource::*]", NO_RESOURCE_LEVEL)
        acknowledge_regulatory(self.state_machine.role, "IAMNoInlinePolicy", DEFAULT_POLICY)

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to start executions of the pipeline's state machine."""
        return self.state_machine.grant_start_execution(grantee)

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
        keys = s3_keys(self.input_bucket.encryption_key)
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
        keys = s3_keys(self.encryption_key, self.output_bucket.encryption_key)
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
