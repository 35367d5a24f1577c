"""Facts of the Comprehend API and the checks that keep a configuration inside them.

Every check raises ``ValueError`` naming the field and the value it got, and skips values that
are still unresolved CDK tokens (they are only known at deploy time).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from aws_cdk import Duration, Stack, Token
from constructs import IConstruct

from cdk_kp.contract import (
    EXECUTION_NAME_MAX_LENGTH,
    JOB_NAME_MAX_LENGTH,
    JOB_NAME_PUNCTUATION,
    MAX_TAG_KEY_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    MAX_TAGS,
    S3_URI_MAX_LENGTH,
)
from cdk_kp.contract import INPUT_FORMATS as INPUT_FORMATS
from cdk_kp.contract import LANGUAGE_CODES as LANGUAGE_CODES

#: The default job name is ``<job_name_prefix>-<execution name>``, so the prefix may take what
#: the execution name leaves of the JobName.
JOB_NAME_PREFIX_MAX_LENGTH = JOB_NAME_MAX_LENGTH - 1 - EXECUTION_NAME_MAX_LENGTH

#: An ``S3Uri`` is ``s3://`` + a bucket name of up to 63 + ``/`` + the key.
_S3_URI_OVERHEAD = len("s3://") + 63 + 1
#: The input URI is ``<input_prefix><execution inputPrefix>``; leave half the room to the run.
INPUT_PREFIX_MAX_LENGTH = (S3_URI_MAX_LENGTH - _S3_URI_OVERHEAD) // 2
#: The output URI is ``<output_prefix><execution name>/``.
OUTPUT_PREFIX_MAX_LENGTH = S3_URI_MAX_LENGTH - _S3_URI_OVERHEAD - EXECUTION_NAME_MAX_LENGTH - 1


def _shown(value: object) -> str:
    return repr(value)


def is_job_name_text(value: str) -> bool:
    """True when every character is a letter, separator, number or one of ``_.:/=+-%@``."""
    return all(unicodedata.category(c)[0] in "LZN" or c in JOB_NAME_PUNCTUATION for c in value)


def check_choice(field: str, value: str, allowed: Iterable[str]) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if Token.is_unresolved(value):
        return
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {_shown(value)}")


def check_job_name_prefix(field: str, value: str) -> None:
    """Raise unless ``value`` can start a valid Comprehend ``JobName``."""
    if Token.is_unresolved(value):
        return
    if not value:
        raise ValueError(f"{field} must not be empty; got {_shown(value)}")
    if len(value) > JOB_NAME_PREFIX_MAX_LENGTH:
        raise ValueError(
            f"{field} must be at most {JOB_NAME_PREFIX_MAX_LENGTH} characters so that "
            f"'<prefix>-<execution name>' fits Comprehend's {JOB_NAME_MAX_LENGTH}; "
            f"got {len(value)} characters: {_shown(value)}"
        )
    if not is_job_name_text(value):
        raise ValueError(
            f"{field} may contain only letters, digits, spaces and _.:/=+-%@ "
            f"(Comprehend's JobName pattern); got {_shown(value)}"
        )


def check_key_prefix(field: str, value: str, max_length: int) -> None:
    """Raise unless ``value`` is a usable S3 key prefix (may be empty: the whole bucket)."""
    if Token.is_unresolved(value):
        return
    if value.startswith("/"):
        raise ValueError(
            f"{field} must be relative to the bucket and not start with '/'; got {_shown(value)}"
        )
    if ".." in value.split("/"):
        raise ValueError(
            f"{field} must not contain a '..' segment (S3 keys are not paths); got {_shown(value)}"
        )
    if len(value) > max_length:
        raise ValueError(
            f"{field} must be at most {max_length} characters to keep the S3 URI within "
            f"{S3_URI_MAX_LENGTH}; got {len(value)} characters"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{field} must not contain control characters; got {_shown(value)}")


def prefixes_overlap(first: str, second: str) -> bool:
    """True when one key prefix contains the other (so the same keys fall under both)."""
    return first.startswith(second) or second.startswith(first)


def check_tags(field: str, tags: Mapping[str, str]) -> None:
    """Raise unless ``tags`` can be passed to StartKeyPhrasesDetectionJob."""
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{field} may hold at most {MAX_TAGS} tags; got {len(tags)}")
    for key, value in tags.items():
        if Token.is_unresolved(key) or Token.is_unresolved(value):
            continue
        if not 1 <= len(key) <= MAX_TAG_KEY_LENGTH:
            raise ValueError(
                f"{field} keys must be 1 to {MAX_TAG_KEY_LENGTH} characters; got {_shown(key)}"
            )
        if key.lower().startswith("aws:"):
            raise ValueError(f"{field} keys must not start with 'aws:'; got {_shown(key)}")
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise ValueError(
                f"{field} values must be at most {MAX_TAG_VALUE_LENGTH} characters; "
                f"got {len(value)} for {_shown(key)}"
            )


# -- problems, collected: each function returns what is wrong (empty when nothing is) ---------


def raise_problems(problems: Iterable[str]) -> None:
    """Raise one ``ValueError`` listing every problem, if there is any."""
    problems = list(problems)
    if problems:
        raise ValueError("; ".join(problems))


def _problem(check: Callable[[], None]) -> list[str]:
    try:
        check()
    except ValueError as error:
        return [str(error)]
    return []


def string_problems(field: str, value: object) -> list[str]:
    """A prop that must be a string (possibly a token)."""
    if isinstance(value, str):
        return []
    return [f"{field} must be a string; got {_shown(value)} ({type(value).__name__})"]


def key_prefix_problems(field: str, value: object, max_length: int) -> list[str]:
    """:func:`check_key_prefix`, and that ``value`` is a string at all."""
    if not isinstance(value, str):
        return [f"{field} must be a string key prefix ('' for the whole bucket); got {value!r}"]
    return _problem(lambda: check_key_prefix(field, value, max_length))


def choice_problems(field: str, value: object, allowed: Iterable[str]) -> list[str]:
    if not isinstance(value, str):
        return [f"{field} must be one of {', '.join(allowed)}; got {value!r}"]
    return _problem(lambda: check_choice(field, value, allowed))


def whole_duration_problems(
    field: str, value: object, unit: str, *, minimum: int = 1, maximum: int | None = None
) -> list[str]:
    """A ``Duration`` that is a whole number of ``unit`` ("seconds" or "days"), at least
    ``minimum``, at most ``maximum``."""
    if not isinstance(value, Duration):
        return [f"{field} must be an aws_cdk.Duration; got {value!r} ({type(value).__name__})"]
    amount = (
        value.to_seconds(integral=False) if unit == "seconds" else value.to_days(integral=False)
    )
    shown = value.to_human_string()
    if amount != int(amount):
        return [f"{field} must be a whole number of {unit}; got {shown} ({amount:g} {unit})"]
    if amount < minimum:
        return [f"{field} must be at least {minimum} {unit.rstrip('s')}; got {shown}"]
    if maximum is not None and amount > maximum:
        return [f"{field} must be at most {maximum:,} {unit}; got {shown} ({amount:,.0f} {unit})"]
    return []


def struct_problems(field: str, value: object, struct: type, name: str) -> list[str]:
    """A jsii struct (``BucketProps``, ``SubnetSelection``) or ``None``."""
    if value is None or isinstance(value, struct):
        return []
    hint = f" (for a dict d, pass {name}(**d))" if isinstance(value, dict) else ""
    return [f"{field} must be an {name}{hint}; got {_shown(value)}"]


# -- resources given to the constructs ----------------------------------------------------------


def _literal(value: str) -> str | None:
    """``value`` unless it is (or contains) an unresolved token."""
    return None if Token.is_unresolved(value) else value


def _region_problem(field: str, what: str, region: str | None, scope: IConstruct) -> list[str]:
    stack_region = _literal(Stack.of(scope).region)
    if region is None or stack_region is None or _literal(region) is None or region == stack_region:
        return []
    return [
        f"{field} must be in the stack's Region {stack_region} (Comprehend reads and writes S3 "
        f"and uses keys in its own Region); got {what} in {region}"
    ]


def key_problems(field: str, key: object, scope: IConstruct) -> list[str]:
    """A KMS key the job, the buckets and the logs can use: a key (IAM grants on keys match key
    ARNs, never aliases), symmetric (Comprehend's ``KmsKeyId`` and SSE-KMS take only those), in
    the stack's Region. Values still unresolved at synth time are taken as they are."""
    from aws_cdk import aws_kms as kms

    if key is None:
        return []
    if not hasattr(key, "key_arn"):
        return [f"{field} must be an aws_kms.IKey; got {_shown(key)}"]
    key = cast("kms.IKey", key)
    if hasattr(key, "alias_name"):
        literal = _literal(key.alias_name)
        name = repr(literal) if literal else f"the alias {key.node.path} (an aws_kms.Alias)"
        return [
            f"{field} must be a key, not an alias (IAM grants on a KMS key match its key ARN, "
            f"never an alias); got {name}"
        ]
    arn = _literal(key.key_arn)
    if arn is not None and ":alias/" in arn:
        return [
            f"{field} must be a key ARN, not an alias ARN (IAM grants on a KMS key match its key "
            f"ARN, never an alias); got {arn}"
        ]
    if isinstance(key, kms.Key):
        spec = key.node.default_child
        assert isinstance(spec, kms.CfnKey)
        if spec.key_spec not in (None, "SYMMETRIC_DEFAULT"):
            return [
                f"{field} must be a symmetric encryption key (SYMMETRIC_DEFAULT), which is all "
                f"Comprehend and SSE-KMS use; got {key.node.path} with key_spec {spec.key_spec}"
            ]
    return _region_problem(field, f"key {arn or key.node.path}", key.env.region, scope)


def bucket_problems(field: str, bucket: object, scope: IConstruct) -> list[str]:
    """A bucket in the stack's Region (a job reads and writes S3 in its own Region)."""
    from aws_cdk import aws_s3 as s3

    if bucket is None:
        return []
    if not hasattr(bucket, "bucket_arn"):
        return [f"{field} must be an aws_s3.IBucket; got {_shown(bucket)}"]
    bucket = cast("s3.IBucket", bucket)
    name = _literal(bucket.bucket_name) or bucket.node.path
    return _region_problem(field, f"bucket {name}", bucket.env.region, scope)


#: ``DataAccessRoleArn`` in StartKeyPhrasesDetectionJob (botocore's Comprehend model).
ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")


def role_problems(field: str, role: object, scope: IConstruct) -> list[str]:
    """A role Comprehend can be passed: an IAM role ARN of the stack's account and partition
    (a role cannot be passed to a service in another account)."""
    from aws_cdk import aws_iam as iam

    if role is None:
        return []
    if not hasattr(role, "role_arn"):
        return [f"{field} must be an aws_iam.IRole; got {_shown(role)}"]
    role = cast("iam.IRole", role)
    arn = _literal(role.role_arn)
    if arn is None:
        return []
    if not ROLE_ARN_PATTERN.match(arn):
        return [f"{field} must be an IAM role ARN ({ROLE_ARN_PATTERN.pattern}); got {arn}"]
    stack = Stack.of(scope)
    partition, account = arn.split(":")[1], arn.split(":")[4]
    stack_account, stack_partition = _literal(stack.account), _literal(stack.partition)
    if stack_account is not None and account != stack_account:
        return [
            f"{field} must be a role of the stack's account {stack_account} (IAM does not pass a "
            f"role to a service in another account); got {arn}"
        ]
    if stack_partition is not None and partition != stack_partition:
        return [f"{field} must be a role of the {stack_partition} partition; got {arn}"]
    return []


def job_name_prefix_problems(field: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return string_problems(field, value)
    return _problem(lambda: check_job_name_prefix(field, value))


def tags_problems(field: str, tags: Mapping[str, str]) -> list[str]:
    return _problem(lambda: check_tags(field, tags))


def struct_shown(name: str, values: Mapping[str, object]) -> str:
    """``SubnetSelection(subnet_type=PRIVATE_ISOLATED)``: a struct as its values read."""

    def shown(value: object) -> str:
        enum_name = getattr(value, "name", None)
        return enum_name if isinstance(enum_name, str) else repr(value)

    return f"{name}({', '.join(f'{k}={shown(v)}' for k, v in values.items())})"


# -- the props the constructs share, each checked the same way wherever it is given ------------

_Check = Callable[[str, object, IConstruct], list[str]]


def _keys(field: str, value: object, scope: IConstruct) -> list[str]:
    return key_problems(field, value, scope)


#: The check of each prop the library's constructs share, by the prop's name.
FIELD_CHECKS: dict[str, _Check] = {
    "input_bucket": bucket_problems,
    "output_bucket": bucket_problems,
    "input_prefix": lambda f, v, _: key_prefix_problems(f, v, INPUT_PREFIX_MAX_LENGTH),
    "output_prefix": lambda f, v, _: key_prefix_problems(f, v, OUTPUT_PREFIX_MAX_LENGTH),
    "data_access_role": role_problems,
    "language_code": lambda f, v, _: choice_problems(f, v, LANGUAGE_CODES),
    "input_format": lambda f, v, _: choice_problems(f, v, INPUT_FORMATS),
    "job_name_prefix": lambda f, v, _: job_name_prefix_problems(f, v),
    "job_tags": lambda f, v, _: tags_problems(f, cast("Mapping[str, str]", v)),
    "encryption_key": _keys,
    "output_encryption_key": _keys,
    "volume_encryption_key": _keys,
}


def field_problems(scope: IConstruct, values: Mapping[str, object]) -> list[str]:
    """The problems of every value whose name :data:`FIELD_CHECKS` knows, in the given order,
    each naming the field and the value."""
    return [
        problem
        for name, value in values.items()
        if name in FIELD_CHECKS
        for problem in FIELD_CHECKS[name](name, value, scope)
    ]
