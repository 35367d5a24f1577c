"""Facts of the Comprehend API and the checks that keep a configuration inside them.

Every check raises ``ValueError`` naming the field and the value it got, and skips values that
are still unresolved CDK tokens (they are only known at deploy time).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from aws_cdk import Token

from cdk_kp.contract import INPUT_FORMATS as INPUT_FORMATS
from cdk_kp.contract import LANGUAGE_CODES as LANGUAGE_CODES

#: ``JobName``: 1 to 256 characters matching ``^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$``.
JOB_NAME_PUNCTUATION = "_.:/=+-%@"
JOB_NAME_MAX_LENGTH = 256

#: Step Functions execution names are at most 80 characters; the default job name is
#: ``<job_name_prefix>-<execution name>``, so the prefix may take what is left.
EXECUTION_NAME_MAX_LENGTH = 80
JOB_NAME_PREFIX_MAX_LENGTH = JOB_NAME_MAX_LENGTH - 1 - EXECUTION_NAME_MAX_LENGTH

#: ``S3Uri`` is at most 1024 characters: ``s3://`` + a bucket name of up to 63 + ``/`` + key.
S3_URI_MAX_LENGTH = 1024
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


#: Tags of a Comprehend job: at most 50; keys 1 to 128 characters, values up to 256.
MAX_TAGS = 50


def check_tags(field: str, tags: Mapping[str, str]) -> None:
    """Raise unless ``tags`` can be passed to StartKeyPhrasesDetectionJob."""
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{field} may hold at most {MAX_TAGS} tags; got {len(tags)}")
    for key, value in tags.items():
        if Token.is_unresolved(key) or Token.is_unresolved(value):
            continue
        if not 1 <= len(key) <= 128:
            raise ValueError(f"{field} keys must be 1 to 128 characters; got {_shown(key)}")
        if key.lower().startswith("aws:"):
            raise ValueError(f"{field} keys must not start with 'aws:'; got {_shown(key)}")
        if len(value) > 256:
            raise ValueError(
                f"{field} values must be at most 256 characters; got {len(value)} for {_shown(key)}"
            )
