"""cdk-nag acknowledgements: each names one finding and says why it is acceptable.

cdk-nag 3 reports a wildcard resource as ``IAM5[Resource::<rendered ARN>]``, where the ARN is
rendered from the resolved CloudFormation value. :func:`wildcard_finding` renders it the same way,
so the acknowledgements stay exact whatever the logical IDs of the user's app are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct, IValidation


@dataclass(frozen=True)
class Reason:
    """Why one kind of finding is acceptable; ``key`` names it in the README's compliance table."""

    key: str
    text: str


INPUT_OBJECTS = Reason(
    "data-access-input-objects",
    "Comprehend reads every document under the configured input prefix; their keys are chosen "
    "at run time, so the grant covers the prefix (s3:GetObject only).",
)
OUTPUT_OBJECTS = Reason(
    "data-access-output-objects",
    "Comprehend writes <prefix><execution>/<account>-KP-<job id>/output/output.tar.gz; the job "
    "ID is only known at run time, so the grant covers the output prefix (s3:PutObject only).",
)
JOB_ARNS = Reason(
    "state-machine-key-phrases-jobs",
    "Key phrase job IDs are created by StartKeyPhrasesDetectionJob at run time; Start, Describe "
    "and Stop are limited to the key-phrases-detection-job resource type in this account and "
    "Region.",
)
NO_RESOURCE_LEVEL = Reason(
    "state-machine-logs-and-xray",
    "X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and "
    "CloudWatch Logs delivery (CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, "
    "DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, "
    "DescribeLogGroups) support no resource-level permissions; CDK adds them for the state "
    "machine's tracing and logging.",
)

VPC_DESCRIBE = Reason(
    "data-access-vpc-describe",
    "Comprehend describes the VPC, subnets, security groups, DHCP options and network interfaces "
    "before it attaches a job to the VPC; these EC2 Describe actions support no resource-level "
    "permissions.",
)
VPC_INTERFACES = Reason(
    "data-access-vpc-interfaces",
    "Comprehend creates and deletes the job's network interfaces at run time, so their IDs are "
    "unknown; the grant is limited to network interfaces in the configured subnets.",
)
JOB_CONTAINERS = Reason(
    "job-security-group-self-ingress",
    "Comprehend's VPC guide requires a rule that allows inbound connections between members of "
    "the same security group, so that the containers of one job can reach each other; the rule "
    "admits only that group, no address range.",
)
BATCH_OBJECTS = Reason(
    "batch-manifest-and-results",
    "The batch reads its manifest (key chosen at run time) under the pipeline's input prefix, "
    "and the Map Run writes result files under <output prefix>batch-results/<map run id>/ "
    "(the ID exists only at run time).",
)
PIPELINE_EXECUTIONS = Reason(
    "batch-shard-executions",
    "Each shard is an execution of the pipeline's state machine, named by Step Functions at run "
    "time; DescribeExecution and StopExecution (which .sync needs) cover that state machine's "
    "executions only.",
)
MAP_RUN_EXECUTIONS = Reason(
    "batch-map-run-executions",
    "CDK's Distributed Map policy lets Step Functions start, describe, stop and redrive the Map "
    "Run's child executions, which are executions of the batch state machine itself with IDs "
    "created at run time.",
)
BATCH_NO_RESOURCE_LEVEL = Reason(
    "batch-list-jobs-logs-and-xray",
    "comprehend:ListKeyPhrasesDetectionJobs (read by the give-up path to find the batch's "
    "active jobs), X-Ray and CloudWatch Logs delivery support no resource-level permissions.",
)
DEFAULT_POLICY = Reason(
    "inline-default-policy",
    "The statements are in the role's CDK default policy, attached to that role only and "
    "scoped as listed in this section; a managed policy would grant exactly the same.",
)
REPLICATION = Reason(
    "bucket-replication",
    "Cross-Region replication needs a destination bucket in another Region and is a "
    "disaster-recovery decision; the buckets are versioned, so replication_rules can be added "
    "through the bucket props.",
)
SSE_S3_DEFAULT = Reason(
    "sse-s3-without-key",
    "No encryption_key was given, so the bucket uses SSE-S3; pass a customer-managed key as "
    "encryption_key to use SSE-KMS.",
)
ACCESS_LOG_BUCKET_SSE_S3 = Reason(
    "access-log-bucket-sse-s3",
    "S3 server access log delivery supports only SSE-S3 on the destination bucket.",
)
LOGS_DEFAULT_ENCRYPTION = Reason(
    "log-group-without-key",
    "No encryption_key was given, so the log group uses CloudWatch Logs' own encryption; pass a "
    "customer-managed key as encryption_key to encrypt it with that key.",
)

#: Every reason the library uses, for the README's compliance section.
ALL_REASONS: tuple[Reason, ...] = (
    INPUT_OBJECTS,
    OUTPUT_OBJECTS,
    JOB_ARNS,
    NO_RESOURCE_LEVEL,
    VPC_DESCRIBE,
    VPC_INTERFACES,
    JOB_CONTAINERS,
    BATCH_OBJECTS,
    PIPELINE_EXECUTIONS,
    MAP_RUN_EXECUTIONS,
    BATCH_NO_RESOURCE_LEVEL,
    DEFAULT_POLICY,
    REPLICATION,
    SSE_S3_DEFAULT,
    ACCESS_LOG_BUCKET_SSE_S3,
    LOGS_DEFAULT_ENCRYPTION,
)

#: The packs whose rules share a name: HIPAA Security, NIST 800-53 R5, PCI DSS 3.2.1.
REGULATORY_PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")


def flatten_reference(node: Any) -> str:
    """Render a resolved CloudFormation value as cdk-nag does (``flattenCfnReference``): the
    same functions, tested in the same order, and JSON for anything else."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if node.get("Fn::Join"):
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten_reference(item) for item in items)
        if node.get("Fn::Sub"):
            return flatten_reference(node["Fn::Sub"])
        if node.get("Fn::GetAtt"):
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if node.get("Fn::ImportValue"):
            return flatten_reference(node["Fn::ImportValue"])
        if node.get("Ref"):
            return f"<{flatten_reference(node['Ref'])}>"
    # JSON.stringify: no spaces, non-ASCII characters as they are.
    return json.dumps(node, separators=(",", ":"), ensure_ascii=False)


def wildcard_finding(scope: IConstruct, resource: str) -> str:
    """The ID of the AwsSolutions IAM5 finding for a wildcard ``resource`` (a token or ARN)."""
    return f"AwsSolutions-IAM5[Resource::{flatten_reference(Stack.of(scope).resolve(resource))}]"


@jsii.implements(IValidation)
class _RenderedAcknowledgement:
    """Acknowledges the AwsSolutions IAM5 finding of a wildcard resource as the synthesized
    template renders it.

    A resource from another stack (a bucket, a key, a state machine) is rendered as a reference
    to that stack (``Fn::ImportValue``, or ``Fn::GetStackOutput`` under the
    ``@aws-cdk/core:defaultCrossStackReferences`` flag), or as a parameter of a nested stack;
    CDK decides which only when it prepares the app for synthesis, after every construct is
    built. Construct validations run after that and before the validation plugins (cdk-nag),
    so this one renders the finding then, from the final template, and acknowledges it.
    """

    def __init__(
        self, scope: IConstruct, resource: str, reason: Reason, rendered_in: IConstruct
    ) -> None:
        self._scope = scope
        self._resource = resource
        self._reason = reason
        self._rendered_in = rendered_in
        self._acknowledged: set[str] = set()

    def validate(self) -> list[str]:
        finding = wildcard_finding(self._rendered_in, self._resource)
        if finding not in self._acknowledged:  # an app may be synthesized more than once
            self._acknowledged.add(finding)
            acknowledge(self._scope, finding, self._reason)
        return []


def acknowledge_wildcard(
    scope: IConstruct, resource: str, reason: Reason, *, rendered_in: IConstruct | None = None
) -> None:
    """Acknowledge, on ``scope``, the AwsSolutions IAM5 finding for the wildcard ``resource``
    (a token or an ARN) of a policy in ``rendered_in``'s stack (default: ``scope``'s), as the
    synthesized template renders it (see :class:`_RenderedAcknowledgement`). The
    acknowledgement is registered when the app is synthesized: check with the validation
    plugins (:func:`cdk_kp.infra.stack.check_with_every_pack`), or synthesize before calling a
    pack's ``validate_scope``."""
    scope.node.add_validation(
        _RenderedAcknowledgement(scope, resource, reason, rendered_in or scope)
    )


def acknowledge(scope: IConstruct, finding: str, reason: Reason) -> None:
    """Acknowledge exactly one finding on ``scope`` and its children."""
    Validations.of(scope).acknowledge(
        Acknowledgment(id=finding, reason=f"[{reason.key}] {reason.text}")
    )


def acknowledge_regulatory(scope: IConstruct, rule: str, reason: Reason) -> None:
    """Acknowledge ``rule`` on ``scope`` in each regulatory pack: one finding per pack."""
    for pack in REGULATORY_PACKS:
        acknowledge(scope, f"{pack}-{rule}", reason)


#: The only actions the library grants on ``Resource: "*"``: they support no resource-level
#: permissions (Service Authorization Reference). CloudWatch Logs delivery and X-Ray are added
#: by CDK for the state machine's logging and tracing; the EC2 Describe actions for jobs in a VPC.
NO_RESOURCE_LEVEL_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "comprehend:ListKeyPhrasesDetectionJobs",
)
