"""The items of a plan: where a document comes from (:class:`S3Object` or a local path), a
document to upload (:class:`Document`) and a file left out (:class:`Skipped`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class S3Object:
    """A document that is already in S3: read where it is, copied server-side."""

    bucket: str
    key: str
    etag: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True, slots=True)
class Document:
    """One object to upload: a whole file, or part ``part`` of ``parts`` of one (``size`` bytes
    from byte ``offset``, starting at line ``first_line`` of the file, counted from 0). Its key
    is relative to the shard; ``documents`` is how many documents it holds for the input format,
    ``units`` what Comprehend bills for them, and ``fingerprint`` identifies its content (the
    SHA-256 of a local file's bytes, or an S3 source's ETag and range)."""

    path: Path | S3Object
    key: str
    size: int
    documents: int
    offset: int = 0
    first_line: int = 0
    part: int = 0
    parts: int = 1
    units: int = 0
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file (or S3 object) left out of a plan, and why."""

    path: Path | S3Object
    reason: str
