"""Comprehend's output: the key phrases of each document, streamed from ``output.tar.gz``."""

from __future__ import annotations

import dataclasses
import json
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from cdk_kp.runtime.errors import ArchiveError, InvalidInputError


@dataclass(frozen=True)
class KeyPhrase:
    text: str
    score: float
    begin_offset: int
    end_offset: int


@dataclass(frozen=True)
class DocumentKeyPhrases:
    """The key phrases of one document: a file, or a line of a file for ONE_DOC_PER_LINE.

    ``error`` is set (``"<ErrorCode>: <ErrorMessage>"``) when Comprehend could not analyse the
    document; it then has no key phrases.
    """

    file: str
    line: int | None
    key_phrases: list[KeyPhrase]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "error": self.error,
            "key_phrases": [
                {
                    "text": p.text,
                    "score": p.score,
                    "begin_offset": p.begin_offset,
                    "end_offset": p.end_offset,
                }
                for p in self.key_phrases
            ],
        }


def read_key_phrases(stream: IO[bytes]) -> Iterator[DocumentKeyPhrases]:
    """Read Comprehend's ``output.tar.gz`` as a stream: one record per document, in order,
    without holding the archive in memory. Raises :class:`ArchiveError` on a corrupt archive or
    a line that is not Comprehend's JSON."""
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                lines = archive.extractfile(member)
                if lines is None:
                    continue
                for number, raw in enumerate(lines, start=1):
                    if raw.strip():
                        yield _record(raw, member.name, number)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise ArchiveError(f"cannot read the output archive: {error}") from error


def _record(raw: bytes, member: str, number: int) -> DocumentKeyPhrases:
    try:
        data = json.loads(raw)
        error = None
        if "ErrorCode" in data:
            error = f"{data['ErrorCode']}: {data.get('ErrorMessage', '')}".rstrip(": ")
        return DocumentKeyPhrases(
            file=data["File"],
            line=data.get("Line"),
            error=error,
            key_phrases=[
                KeyPhrase(
                    text=p["Text"],
                    score=float(p["Score"]),
                    begin_offset=int(p["BeginOffset"]),
                    end_offset=int(p["EndOffset"]),
                )
                for p in data.get("KeyPhrases", [])
            ],
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(
            f"line {number} of {member} is not a key phrases record: {error}"
        ) from error


def split_s3_uri(uri: str) -> tuple[str, str]:
    """The bucket and key of ``s3://bucket/key``; :class:`InvalidInputError` for anything else."""
    # Not urlparse: an S3 key may hold '#' and '?', which are not a fragment or a query here.
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise InvalidInputError(f"not an s3://bucket/key URI: {uri!r}")
    return bucket, key


def in_file_lines(record: DocumentKeyPhrases, first_line: int) -> DocumentKeyPhrases:
    """``record`` with its line numbered in its file, for a part of a split file that starts at
    line ``first_line`` of it (0: a whole file, as it is)."""
    if record.line is None or not first_line:
        return record
    return dataclasses.replace(record, line=int(record.line) + first_line)
