"""Split a corpus into shards that each fit one Comprehend job. No AWS calls here.

One asynchronous key phrase job reads at most 5 GB and 1,000,000 documents (files for
``ONE_DOC_PER_FILE``, lines for ``ONE_DOC_PER_LINE``), each document at most 1 MB, and needs at
least 500 bytes. :func:`plan_shards` packs documents, in order, into as few shards as those limits
allow. A file goes whole into one shard when it fits one; a ``ONE_DOC_PER_LINE`` file that does
not comes as parts (cut at line boundaries by :mod:`cdk_kp.runtime.scanning`), each in a
shard of its own. A part keeps its file's key in a shard of its own, so Comprehend's
``File`` field still names the file, and the shard's name carries the part's first line, which
maps Comprehend's line numbers back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cdk_kp import contract

#: What a shard's name carries before the line its split file's part starts at.
LINE_MARK = "-line-"


def first_line_of(shard_prefix: str) -> int:
    """The line of its file that a shard's part starts at, from the shard's input prefix
    (``…/shard-00002-line-20/`` gives 20; 0 for a shard of whole files)."""
    name = shard_prefix.rstrip("/").rpartition("/")[2]
    mark = name.rfind(LINE_MARK)
    tail = name[mark + len(LINE_MARK) :] if mark >= 0 else ""
    return int(tail) if tail.isdigit() else 0


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


@dataclass
class Shard:
    """Files that go to one job, under ``<batch prefix>shard-<index>/``."""

    index: int
    files: list[Document] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``shard-<index>``, and for a part of a split file that does not start it,
        ``-line-<n>``: the file's line that is the part's line 0 (Comprehend numbers the lines
        of each part from 0; the client adds ``n`` back)."""
        first = self.files[0].first_line if self.files else 0
        return f"shard-{self.index:05d}" + (f"{LINE_MARK}{first}" if first else "")

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def documents(self) -> int:
        return sum(f.documents for f in self.files)


def count_documents(data: bytes, input_format: str) -> int:
    """Documents in a file's bytes: 1 per file, or its lines (every line counts, blank or not,
    so the count never falls short of Comprehend's)."""
    if input_format == contract.InputFormat.ONE_DOC_PER_FILE:
        return 1
    return len(data.splitlines())


def check_limits(max_bytes: int, max_documents: int) -> None:
    """Raise ``ValueError`` naming the field unless the limits are within one job's."""
    if not contract.MIN_JOB_BYTES <= max_bytes <= contract.MAX_JOB_BYTES:
        raise ValueError(
            f"max_shard_bytes must be from {contract.MIN_JOB_BYTES:,} to "
            f"{contract.MAX_JOB_BYTES:,} (one job's input); got {max_bytes:,}"
        )
    if not 1 <= max_documents <= contract.MAX_JOB_DOCUMENTS:
        raise ValueError(
            f"max_shard_documents must be from 1 to {contract.MAX_JOB_DOCUMENTS:,} (one job's "
            f"input); got {max_documents:,}"
        )


def oversize(document: Document, max_bytes: int, max_documents: int) -> str | None:
    """Why ``document`` cannot fit in any shard, or ``None``."""
    if document.size > max_bytes:
        return f"{document.size:,} bytes, over the {max_bytes:,}-byte limit of one job"
    if document.documents > max_documents:
        return (
            f"{document.documents:,} documents, over the {max_documents:,}-document limit of "
            "one job; split the file"
        )
    return None


def plan_shards(
    documents: Sequence[Document],
    *,
    max_bytes: int = contract.MAX_JOB_BYTES,
    max_documents: int = contract.MAX_JOB_DOCUMENTS,
) -> list[Shard]:
    """Pack ``documents`` in order into shards of at most ``max_bytes`` and ``max_documents``.

    Every document lands in exactly one shard; each part of a split file has one to itself.
    Files that a split file would leave in a shard under Comprehend's 500-byte minimum wait for
    the next shard of whole files (or join the last one). When the last shard would hold fewer
    than
    Comprehend's 500-byte minimum, files move to it from the end of the one before, as long as
    that one keeps the minimum (when no file can move, the last shard stays small, and its job
    fails as a single job that small would). Raises ``ValueError`` for a document that fits no
    shard (see :func:`oversize`) or limits outside one job's.
    """
    check_limits(max_bytes, max_documents)
    shards: list[Shard] = []
    current = Shard(0)
    size = count = 0
    # Files of a shard under a job's minimum that a split file would have closed: they wait
    # for the next shard of whole files (a part's shard is its own).
    waiting: list[Document] = []
    for document in documents:
        problem = oversize(document, max_bytes, max_documents)
        if problem is not None:
            raise ValueError(f"{document.key}: {problem}")
        split = document.parts > 1
        if split and document.part == 0 and 0 < size < contract.MIN_JOB_BYTES:
            waiting, current.files = waiting + current.files, []
            size = count = 0
        if current.files and (
            (split and document.part == 0)
            or size + document.size > max_bytes
            or count + document.documents > max_documents
        ):
            shards.append(current)
            current = Shard(len(shards))
            size = count = 0
        joins = waiting and not split and not current.files
        if joins and _fits([*waiting, document], max_bytes, max_documents):
            current.files, waiting = waiting, []
            size, count = _totals(current.files)
        current.files.append(document)
        size += document.size
        count += document.documents
        if split:
            # A part has its shard to itself, so the shard's name can say where in its file
            # the part starts (see Shard.name): the next document starts another shard.
            shards.append(current)
            current = Shard(len(shards))
            size = count = 0
    if waiting:
        if current.files and _fits(waiting + current.files, max_bytes, max_documents):
            current.files = waiting + current.files
        else:
            if current.files:
                shards.append(current)
                current = Shard(len(shards))
            current.files = waiting
    if current.files:
        shards.append(current)
    if len(shards) > 1:
        _top_up_last(shards[-2], shards[-1], max_bytes, max_documents)
    return shards


def _totals(documents: list[Document]) -> tuple[int, int]:
    return sum(d.size for d in documents), sum(d.documents for d in documents)


def _fits(documents: list[Document], max_bytes: int, max_documents: int) -> bool:
    size, count = _totals(documents)
    return size <= max_bytes and count <= max_documents


def _top_up_last(previous: Shard, last: Shard, max_bytes: int, max_documents: int) -> None:
    while last.size < contract.MIN_JOB_BYTES and len(previous.files) > 1:
        moved = previous.files[-1]
        if (
            previous.size - moved.size < contract.MIN_JOB_BYTES
            or last.size + moved.size > max_bytes
            or last.documents + moved.documents > max_documents
        ):
            return
        last.files.insert(0, previous.files.pop())
