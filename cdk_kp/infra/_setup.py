"""What a pipeline's jobs are set up with, in one typed value that the pipeline, its data-access
role and its workflow share: built once from the props, read by all three."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from cdk_kp.contract import InputFormat, Language

if TYPE_CHECKING:
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from cdk_kp.infra.network import JobNetwork
    from cdk_kp.infra.schedule import PollSchedule

#: Default job names are ``<job_name_prefix>-<execution name>``.
DEFAULT_JOB_NAME_PREFIX = "key-phrases"
DEFAULT_LANGUAGE = Language.EN.value
DEFAULT_INPUT_FORMAT = InputFormat.ONE_DOC_PER_LINE.value


def plain(value: Any) -> Any:
    """An enum member (``Language.DE``) as its plain value (``"de"``); anything else as it is.
    The constructs pass plain strings to CDK, whatever the caller gave."""
    return value.value if isinstance(value, Enum) else value


@dataclass(frozen=True, kw_only=True)
class JobSetup:
    """Where every job of a pipeline reads and writes, how it is encrypted, where it runs, and
    the defaults of its request.

    ``encryption_key`` is the customer-managed key Comprehend encrypts the job's output with
    (``OutputDataConfig.KmsKeyId``), which S3 may also use for the data; ``volume_encryption_key``
    encrypts the job's ML volume (``VolumeKmsKeyId``). ``job_tags`` are sorted by key.
    """

    input_bucket: s3.IBucket
    output_bucket: s3.IBucket
    input_prefix: str = ""
    output_prefix: str = ""
    language_code: str = DEFAULT_LANGUAGE
    input_format: str = DEFAULT_INPUT_FORMAT
    job_name_prefix: str = DEFAULT_JOB_NAME_PREFIX
    encryption_key: kms.IKey | None = None
    volume_encryption_key: kms.IKey | None = None
    network: JobNetwork | None = None
    job_tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, arguments: Mapping[str, object], **names: str) -> JobSetup:
        """A setup from a constructor's arguments (its ``locals()`` as it starts): each field
        from the argument of its name, or of the name ``names`` gives it (the workflow's
        ``output_encryption_key`` is ``encryption_key``); a field without an argument keeps its
        default. Enum members become their values; tags are sorted by key."""
        values = {
            f.name: arguments[names.get(f.name, f.name)]
            for f in fields(cls)
            if names.get(f.name, f.name) in arguments
        }
        for name in ("language_code", "input_format"):
            if name in values:
                values[name] = plain(values[name])
        if "job_tags" in values:
            tags = cast("Mapping[str, str] | None", values["job_tags"])
            values["job_tags"] = dict(sorted((tags or {}).items()))
        return cls(**values)  # type: ignore[arg-type]  # checked by field_problems, not here

    def named_fields(self, **names: str) -> dict[str, object]:
        """The setup's values by the name of the prop each came from: a field's own name unless
        ``names`` renames it (the workflow calls ``encryption_key`` ``output_encryption_key``)."""
        return {names.get(f.name, f.name): getattr(self, f.name) for f in fields(self)}

    def input_objects(self) -> str:
        """ARN pattern of the objects a job reads: ``<input_prefix>*`` in the input bucket."""
        return self.input_bucket.arn_for_objects(f"{self.input_prefix}*")

    def output_objects(self) -> str:
        """ARN pattern of the objects a job writes: ``<output_prefix>*`` in the output bucket."""
        return self.output_bucket.arn_for_objects(f"{self.output_prefix}*")

    def data_keys(self) -> list[kms.IKey]:
        """The distinct keys S3 uses for the job's data: ``encryption_key`` and the buckets'."""
        return distinct_keys(
            self.encryption_key, self.input_bucket.encryption_key, self.output_bucket.encryption_key
        )

    def role_props(self) -> dict[str, Any]:
        """The keyword arguments of :class:`~cdk_kp.infra.data_access_role.KeyPhrasesDataAccessRole`
        and :func:`~cdk_kp.infra.data_access_role.grant_data_access` for this setup."""
        return {
            "input_bucket": self.input_bucket,
            "input_prefix": self.input_prefix,
            "output_bucket": self.output_bucket,
            "output_prefix": self.output_prefix,
            "encryption_key": self.encryption_key,
            "volume_encryption_key": self.volume_encryption_key,
            "network": self.network,
        }

    def workflow_props(self, role: iam.IRole, schedule: PollSchedule) -> dict[str, Any]:
        """The keyword arguments of :class:`~cdk_kp.infra.workflow.KeyPhrasesWorkflow` for this
        setup, its jobs run with ``role`` and polled on ``schedule``."""
        return {
            "input_bucket": self.input_bucket,
            "input_prefix": self.input_prefix,
            "output_bucket": self.output_bucket,
            "output_prefix": self.output_prefix,
            "data_access_role": role,
            "language_code": self.language_code,
            "input_format": self.input_format,
            "job_name_prefix": self.job_name_prefix,
            "poll_schedule": schedule,
            "output_encryption_key": self.encryption_key,
            "volume_encryption_key": self.volume_encryption_key,
            "network": self.network,
            "job_tags": self.job_tags,
        }


def distinct_keys(*keys: kms.IKey | None) -> list[kms.IKey]:
    """The distinct keys among ``keys`` (by ARN), in order."""
    seen: dict[str, kms.IKey] = {}
    for key in keys:
        if key is not None:
            seen.setdefault(key.key_arn, key)
    return list(seen.values())
