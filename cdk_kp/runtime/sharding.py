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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from cdk_kp import contract
from cdk_kp.runtime.documents import Document, S3Object
from cdk_kp.runtime.ledger import Ledger, LedgerView

__all__ = [
    "LINE_MARK",
    "Document",
    "S3Object",
    "Shard",
    "check_limits",
    "count_documents",
    "first_line_of",
    "oversize",
    "plan_shards",
]

#: What a shard's name carries before the line its split file's part starts at.
LINE_MARK = "-line-"
#: The ledger's shard number for files waiting for a shard of whole files.
WAITING = -1


def first_line_of(shard_prefix: str) -> int:
    """The line of its file that a shard's part starts at, from the shard's input prefix
    (``…/shard-00002-line-20/`` gives 20; 0 for a shard of whole files)."""
    name = shard_prefix.rstrip("/").rpartition("/")[2]
    mark = name.rfind(LINE_MARK)
    tail = name[mark + len(LINE_MARK) :] if mark >= 0 else ""
    return int(tail) if tail.isdigit() else 0


@dataclass(eq=False, slots=True)
class Shard:
    """Files that go to one job, under ``<batch prefix>shard-<index>/``: the shard's totals,
    with its documents kept in its plan's :class:`~cdk_kp.runtime.ledger.Ledger` (read from
    there, a page at a time, by :attr:`files`)."""

    index: int
    ledger: Ledger = field(repr=False)
    size: int = 0
    documents: int = 0
    #: What Comprehend bills for the shard's documents.
    units: int = 0
    #: Objects in the shard: files, or a part of a split file.
    objects: int = 0
    #: The line of its file that the shard's first document starts at (a part of a split file).
    first_line: int = 0

    @property
    def name(self) -> str:
        """``shard-<index>``, and for a part of a split file that does not start it,
        ``-line-<n>``: the file's line that is the part's line 0 (Comprehend numbers the lines
        of each part from 0; the client adds ``n`` back)."""
        first = self.first_line
        return f"shard-{self.index:05d}" + (f"{LINE_MARK}{first}" if first else "")

    @property
    def files(self) -> Sequence[Document]:
        """The shard's documents, in order, read from the ledger when asked."""
        return LedgerView(
            lambda: self.objects,
            partial(self.ledger.document_at, self.index),
            partial(self.ledger.documents, self.index),
        )

    def add(self, document: Document) -> None:
        """Record ``document`` as the shard's last."""
        self.ledger.add_document(document, self.index)
        if not self.objects:
            self.first_line = document.first_line
        self._count(document.size, document.documents, document.units, 1)

    def take(self, other: Shard) -> None:
        """Take every document of ``other`` (documents come earlier than this shard's, as
        whole files whose first line is 0), leaving it empty."""
        self.ledger.move_shard(other.index, self.index)
        self._count(other.size, other.documents, other.units, other.objects)
        if other.objects:
            self.first_line = 0
        other.size = other.documents = other.units = other.objects = 0

    def take_last(self, other: Shard, document: Document) -> None:
        """Take ``document``, the last of ``other``, as this shard's first (whole files only)."""
        self.ledger.move_last(other.index, self.index)
        other._count(-document.size, -document.documents, -document.units, -1)
        self._count(document.size, document.documents, document.units, 1)

    def _count(self, size: int, documents: int, units: int, objects: int) -> None:
        self.size += size
        self.documents += documents
        self.units += units
        self.objects += objects


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
    documents: Iterable[Document],
    *,
    max_bytes: int = contract.MAX_JOB_BYTES,
    max_documents: int = contract.MAX_JOB_DOCUMENTS,
    ledger: Ledger | None = None,
) -> list[Shard]:
    """Pack ``documents`` in order into shards of at most ``max_bytes`` and ``max_documents``,
    recording each in ``ledger`` (by default a new one): only the shards' totals are held in
    memory, so any number of documents can be packed.

    Every document lands in exactly one shard, a shard's documents in the order they came;
    each part of a split file has a shard to itself.
    Files that a split file would leave in a shard under Comprehend's 500-byte minimum wait for
    the next shard of whole files (or join the last one). When the last shard would hold fewer
    than Comprehend's 500-byte minimum, files move to it from the end of the one before, as
    long as that one keeps the minimum (when no file can move, the last shard stays small, and
    its job fails as a single job that small would). Raises ``ValueError`` for a document that
    fits no shard (see :func:`oversize`) or limits outside one job's.
    """
    check_limits(max_bytes, max_documents)
    ledger = ledger if ledger is not None else Ledger()
    shards: list[Shard] = []
    current = Shard(0, ledger)
    # Files of a shard under a job's minimum that a split file would have closed: they wait
    # for the next shard of whole files (a part's shard is its own).
    waiting = Shard(WAITING, ledger)

    def close() -> Shard:
        shards.append(current)
        return Shard(len(shards), ledger)

    for document in documents:
        problem = oversize(document, max_bytes, max_documents)
        if problem is not None:
            raise ValueError(f"{document.key}: {problem}")
        split = document.parts > 1
        if split and document.part == 0 and 0 < current.size < contract.MIN_JOB_BYTES:
            waiting.take(current)
        if current.objects and (
            (split and document.part == 0) or not _fit(max_bytes, max_documents, current, document)
        ):
            current = close()
        joins = waiting.objects and not split and not current.objects
        if joins and _fit(max_bytes, max_documents, waiting, document):
            current.take(waiting)
        current.add(document)
        if split:
            # A part has its shard to itself, so the shard's name can say where in its file
            # the part starts (see Shard.name): the next document starts another shard.
            current = close()
    if waiting.objects:
        if current.objects and not _fit(max_bytes, max_documents, waiting, current):
            current = close()
        current.take(waiting)
    if current.objects:
        close()
    if len(shards) > 1:
        _top_up_last(shards[-2], shards[-1], max_bytes, max_documents)
    return shards


def _fit(max_bytes: int, max_documents: int, *together: Shard | Document) -> bool:
    size = sum(item.size for item in together)
    return size <= max_bytes and sum(item.documents for item in together) <= max_documents


def _top_up_last(previous: Shard, last: Shard, max_bytes: int, max_documents: int) -> None:
    ledger = last.ledger
    while last.size < contract.MIN_JOB_BYTES and previous.objects > 1:
        moved = ledger.last_document(previous.index)
        if (
            moved is None
            or previous.size - moved.size < contract.MIN_JOB_BYTES
            or not _fit(max_bytes, max_documents, last, moved)
        ):
            return
        last.take_last(previous, moved)
