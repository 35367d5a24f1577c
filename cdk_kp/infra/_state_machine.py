"""The Standard state machine the pipeline and the batch each run: logged at level ALL into a
retained log group, traced with X-Ray, optionally encrypted with a customer-managed key; and the
``grant_*`` and ``metric_*`` methods of a construct that runs one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_kp.infra._endpoints import regional_service_principal
from cdk_kp.infra.compliance import LOGS_DEFAULT_ENCRYPTION, acknowledge_regulatory

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_kms as kms

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
    log_group = _log_group(scope, encryption_key, log_retention)
    encryption: sfn.EncryptionConfiguration | None = None
    if encryption_key is not None:
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


def _log_group(
    scope: Construct, encryption_key: kms.IKey | None, log_retention: logs.RetentionDays
) -> logs.LogGroup:
    """The retained log group of the executions; with ``encryption_key``, the key policy
    statement that lets CloudWatch Logs use the key for this log group only."""
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
    if encryption_key is None:
        acknowledge_regulatory(log_group, "CloudWatchLogGroupEncrypted", LOGS_DEFAULT_ENCRYPTION)
        return log_group
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
    return log_group


class StateMachineMethods:
    """The ``grant_*`` and ``metric_*`` methods of a construct whose executions run on its
    ``state_machine``."""

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

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to start executions of the state machine."""
        return self.state_machine.grant_start_execution(grantee)
