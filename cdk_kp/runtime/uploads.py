"""Uploading documents: planned first, without AWS, then sent.

Planning notes the files under the paths given (:func:`find_files`; two that would share a key
are refused before any is read), checks and measures each one as it comes (:func:`measure`:
read once, as a stream, checked as Comprehend would read it, counted and, for
``ONE_DOC_PER_LINE``, cut into parts that each fit a shard, by :mod:`cdk_kp.runtime.scanning`),
and packs the documents into shards that each fit one job (:func:`plan_upload`, with
:mod:`cdk_kp.runtime.sharding`). Memory stays bounded whatever the files' sizes and number: a
file's bytes are never kept, and what the plan knows of each file is kept in its
:class:`~cdk_kp.runtime.ledger.Ledger`, not in Python objects. Sending is separate: a plan is
laid out as transfers, each document with the key it goes to (:func:`single_job_transfers`,
:func:`shard_transfers`), which :mod:`cdk_kp.runtime.transfers` carries out in parallel; a
sharded upload ends with the manifest of its shards (:func:`manifest_body`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeGuard

from cdk_kp import contract
from cdk_kp.runtime.documents import Document, S3Object, Skipped
from cdk_kp.runtime.errors import InvalidInputError
from cdk_kp.runtime.ledger import Ledger, LedgerView
from cdk_kp.runtime.scanning import (
    CHUNK_BYTES,
    Part,
    Scan,
    UnusableFileError,
    scan_file_document,
    scan_lines,
)
from cdk_kp.runtime.sharding import (
    Shard,
    check_limits,
    oversize,
    plan_shards,
)

#: Why a file whose name is not UTF-8 is left out: its key would not be one S3 can take.
NOT_UTF8_NAME = "its name is not UTF-8, as an S3 key must be"
#: The name of a sharded upload's manifest, in its batch's folder.
MANIFEST_NAME = "manifest.json"


@dataclass
class UploadReport:
    """What :meth:`KeyPhrasesClient.upload` did, file by file: nothing is skipped silently.
    ``uploaded`` (each file and the key it went to) and ``skipped`` are read from the plan's
    ledger as they are iterated, so a report of any size holds no list of them."""

    batch_prefix: str
    uploaded: Sequence[tuple[Path | S3Object, str]] = ()
    skipped: Sequence[Skipped] = ()
    #: Bytes of the documents in the batch's folder (sent now, or found there already).
    bytes_uploaded: int = 0
    #: Of ``uploaded``, how many were already in S3 with the same content (a resumed upload).
    already_uploaded: int = 0


@dataclass(frozen=True)
class UploadPlan:
    """What :meth:`KeyPhrasesClient.plan_upload` found: the shards (their totals) and the files
    left out. The documents of each shard, and the files skipped, are kept in the plan's
    :class:`~cdk_kp.runtime.ledger.Ledger` (on disk once it outgrows a few MB) and read from
    there when iterated. :meth:`close` (or a ``with`` block) drops it at once; otherwise it goes
    when the plan does."""

    shards: list[Shard]
    skipped: Sequence[Skipped]
    #: The ``s3://`` URI of a corpus planned where it is in S3, when it is one (``None`` for
    #: local files or several URIs).
    source: str | None = None
    #: True when ``units`` counts bytes as characters (S3 objects planned from their listing).
    units_from_sizes: bool = False
    ledger: Ledger | None = field(default=None, repr=False, compare=False)
    #: Every ``s3://`` URI planned (none for local files).
    uris: tuple[str, ...] = ()

    def close(self) -> None:
        """Drop the plan's ledger: its shards' documents and skipped files cannot be read after."""
        if self.ledger is not None:
            self.ledger.close()

    def __enter__(self) -> UploadPlan:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def documents(self) -> int:
        return sum(shard.documents for shard in self.shards)

    @property
    def size(self) -> int:
        return sum(shard.size for shard in self.shards)

    @property
    def units(self) -> int:
        """The units Comprehend bills for the plan's documents (100 characters each, at least
        3 a document; blank lines not counted)."""
        return sum(shard.units for shard in self.shards)

    @property
    def under_minimum(self) -> list[Shard]:
        """Shards under the 500 bytes a job needs: their jobs will fail."""
        return [shard for shard in self.shards if shard.size < contract.MIN_JOB_BYTES]

    def under_minimum_warnings(self) -> list[str]:
        return [
            f"warning: {shard.name} holds {shard.size:,} bytes, under the "
            f"{contract.MIN_JOB_BYTES:,} bytes a Comprehend job needs: its job will fail"
            for shard in self.under_minimum
        ]

    @property
    def objects(self) -> int:
        """Objects an upload of the plan writes: a file, or a part of a split file."""
        return sum(shard.objects for shard in self.shards)

    @property
    def from_s3(self) -> bool:
        """True when the plan's documents are objects in S3 (copied server-side, not sent)."""
        return bool(self.shards) and isinstance(self.shards[0].files[0].path, S3Object)

    @property
    def files(self) -> int:
        """Files in the plan, a split file once."""
        return self.shards[0].ledger.whole_files() if self.shards else 0


@dataclass
class ShardedUpload:
    """What :meth:`KeyPhrasesClient.upload_sharded` did: the shards, each under
    ``<batch prefix>shard-<n>/``, and the manifest the batch reads."""

    batch_prefix: str
    manifest: str
    shards: list[Shard] = field(default_factory=list)
    skipped: Sequence[Skipped] = ()
    #: Of the objects, how many were already in S3 with the same content (a resumed upload).
    already_uploaded: int = 0

    @property
    def bytes_uploaded(self) -> int:
        return sum(shard.size for shard in self.shards)

    @property
    def files_uploaded(self) -> int:
        """Objects in the shards: a file, or a part of a split file."""
        return sum(shard.objects for shard in self.shards)

    @property
    def shard_prefixes(self) -> list[str]:
        """Each shard's input prefix, relative to the pipeline's, in manifest order."""
        return [f"{self.batch_prefix}{shard.name}/" for shard in self.shards]


@dataclass(frozen=True)
class Transfer:
    """One document to send (a file, a part of one, or an S3 object to copy), and its key in
    the input bucket."""

    document: Document
    key: str

    @property
    def path(self) -> Path | S3Object:
        return self.document.path


# -- the documents -------------------------------------------------------------------------------


def check_document(path: Path, input_format: str) -> str | None:
    """Why ``path`` cannot be a Comprehend input, or ``None`` when it can. The file is read as
    a stream (a ``ONE_DOC_PER_LINE`` file of any size is fine: it is split into parts)."""
    found = measure(
        path, path.name, input_format, contract.MAX_JOB_BYTES, contract.MAX_JOB_DOCUMENTS
    )
    return found.reason if isinstance(found, Skipped) else None


def check_document_data(data: bytes, input_format: str) -> str | None:
    """Why a file holding ``data`` cannot be a Comprehend input, or ``None`` when it can."""
    try:
        scan_document(
            iter([data]),
            len(data),
            input_format,
            contract.MAX_JOB_BYTES,
            contract.MAX_JOB_DOCUMENTS,
        )
    except UnusableFileError as error:
        return str(error)
    return None


def scan_document(
    chunks: Iterator[bytes], size: int, input_format: str, max_bytes: int, max_documents: int
) -> Scan:
    """Scan a file of ``size`` bytes given as ``chunks``; :class:`UnusableFileError` says why
    it cannot be a document. A ``ONE_DOC_PER_FILE`` file over the document limit is refused
    from its size, unread."""
    if input_format == contract.InputFormat.ONE_DOC_PER_LINE:
        return scan_lines(chunks, max_bytes=max_bytes, max_documents=max_documents)
    limit = contract.MAX_DOCUMENT_BYTES
    if size > limit:
        raise UnusableFileError(f"{size:,} bytes, over Comprehend's {limit:,}-byte document limit")
    return scan_file_document(b"".join(chunks))


def file_chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes, ``CHUNK_BYTES`` at a time."""
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def documents_of(
    path: Path | S3Object, key: str, scan: Scan, max_bytes: int, max_documents: int
) -> list[Document] | Skipped:
    """A scanned file as the documents of a plan (one, or one per part), or why it is left
    out: too big for one shard."""
    if len(scan.parts) == 1:
        part = scan.parts[0]
        whole = Document(
            path,
            key,
            scan.size,
            scan.documents,
            units=scan.units,
            fingerprint=_fingerprint(path, part, scan),
        )
        problem = oversize(whole, max_bytes, max_documents)
        return [whole] if problem is None else Skipped(path, problem)
    return [
        Document(
            path,
            key,
            part.size,
            part.lines,
            offset=part.offset,
            first_line=part.first_line,
            part=index,
            parts=len(scan.parts),
            units=part.units,
            fingerprint=_fingerprint(path, part, scan),
        )
        for index, part in enumerate(scan.parts)
    ]


def _fingerprint(path: Path | S3Object, part: Part, scan: Scan) -> str:
    """What identifies a document's content: a local file's SHA-256 (and a part's byte range),
    or an S3 source's ETag and byte range."""
    if isinstance(path, S3Object):
        return f"{path.etag}:{part.offset}-{part.offset + part.size}"
    if len(scan.parts) == 1:
        return f"sha256:{scan.sha256}"
    return f"sha256:{scan.sha256}:{part.offset}-{part.offset + part.size}"


# -- planning ------------------------------------------------------------------------------------


def find_files(paths: Iterable[str | Path], ledger: Ledger) -> None:
    """Note in ``ledger`` each file under ``paths``, with the key it gets (relative to the
    folder given, or a file's name), in order: the paths in the order given, a folder's files in
    the order of their paths' parts. Nothing is read, and only the folders still to list are
    held in memory."""
    for index, given in enumerate(map(Path, paths)):
        order = index.to_bytes(4, "big")
        found: Iterable[tuple[str, str]] = (
            _walk(given, ledger) if given.is_dir() else [(str(given), given.name)]
        )
        for path, key in found:
            try:
                encoded = key.encode("utf-8")
            except UnicodeEncodeError:
                ledger.add_skipped(Skipped(Path(path), NOT_UTF8_NAME))
                continue
            # The order of the paths' parts (as sorting Path objects gives): "/" sorts first.
            ledger.add_source(order + encoded.replace(b"/", b"\0"), path, key)


def _walk(folder: Path, ledger: Ledger) -> Iterator[tuple[str, str]]:
    """Every file under ``folder`` and its path relative to it, in no particular order (links
    to folders are not followed, as ``Path.rglob`` does not; a subfolder that cannot be listed
    is skipped, with why)."""
    pending = [("", str(folder))]
    while pending:
        relative, listing = pending.pop()
        try:
            with os.scandir(listing) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((f"{relative}{entry.name}/", entry.path))
                    elif entry.is_file():
                        yield entry.path, f"{relative}{entry.name}"
        except OSError as error:
            reason = f"folder unreadable: {error.strerror or error}"
            ledger.add_skipped(Skipped(Path(listing), reason))


def refuse_clashes(ledger: Ledger) -> None:
    """Raise :class:`InvalidInputError` if two of the sources noted in ``ledger`` would be
    uploaded to one key (the first 10 such keys are named)."""
    clashes = ledger.clashes()
    if clashes:
        shown = "; ".join(f"{key} <- {', '.join(map(str, paths))}" for key, paths in clashes)
        raise InvalidInputError(
            f"these files would be uploaded to the same key, one overwriting another: {shown}"
        )


def measure(
    path: Path, key: str, input_format: str, max_bytes: int, max_documents: int
) -> list[Document] | Skipped:
    """The file at ``path`` as the documents of a plan, or why it is left out. The file is read
    once, as a stream: checked as Comprehend would read it, counted, and cut into parts where
    it does not fit one shard."""
    try:
        size = path.stat().st_size
        scan = scan_document(file_chunks(path), size, input_format, max_bytes, max_documents)
    except FileNotFoundError:
        return Skipped(path, "does not exist")
    except OSError as error:
        return Skipped(path, f"unreadable: {error.strerror or error}")
    except UnusableFileError as error:
        return Skipped(path, str(error))
    return documents_of(path, key, scan, max_bytes, max_documents)


def plan_upload(
    paths: Iterable[str | Path],
    *,
    input_format: str,
    max_shard_bytes: int = contract.MAX_JOB_BYTES,
    max_shard_documents: int = contract.MAX_JOB_DOCUMENTS,
) -> UploadPlan:
    """Check and measure the files under ``paths`` and pack them, in order, into shards of at
    most ``max_shard_bytes`` and ``max_shard_documents``; a file that cannot be a document, or
    is too big for one shard, is skipped and reported. A ``ONE_DOC_PER_LINE`` file too big for
    one shard is split at line boundaries across as many as it needs. Uploads nothing. Two
    files that would share a key are refused before any file is read."""
    check_shard_limits(max_shard_bytes, max_shard_documents)
    ledger = Ledger()
    try:
        find_files(paths, ledger)
        refuse_clashes(ledger)
        measured = (
            measure(path, key, input_format, max_shard_bytes, max_shard_documents)
            for path, key, _ in ledger.sources()
            if isinstance(path, Path)
        )
        return pack(measured, max_shard_bytes, max_shard_documents, ledger)
    except BaseException:
        ledger.close()
        raise


def is_s3_uri(path: object) -> TypeGuard[str]:
    """Whether ``path`` is an ``s3://`` URI (a corpus in S3) rather than a local path."""
    return isinstance(path, str) and path.startswith("s3://")


def split_corpus_uri(uri: str) -> tuple[str, str]:
    """The bucket and key prefix of ``s3://bucket[/prefix]``; :class:`InvalidInputError` for
    anything else."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not is_s3_uri(uri) or not bucket:
        raise InvalidInputError(f"not an s3://bucket/prefix URI: {uri!r}")
    return bucket, prefix


def check_mixed(paths: Iterable[str | Path]) -> None:
    """Raise :class:`InvalidInputError` when ``paths`` mix local paths and ``s3://`` URIs."""
    kinds = {is_s3_uri(path) for path in paths}
    if len(kinds) > 1:
        raise InvalidInputError("give local files and folders, or s3:// URIs, not both")


def check_shard_limits(max_shard_bytes: int, max_shard_documents: int) -> None:
    try:
        check_limits(max_shard_bytes, max_shard_documents)
    except ValueError as error:
        raise InvalidInputError(str(error)) from error


def pack(
    measured: Iterable[list[Document] | Skipped],
    max_shard_bytes: int,
    max_shard_documents: int,
    ledger: Ledger,
    uris: Sequence[str] = (),
    units_from_sizes: bool = False,
) -> UploadPlan:
    """The plan of what was measured (from the ``s3://`` ``uris``, if any): the documents
    packed into shards, the rest skipped, each kept in ``ledger`` as it comes."""

    def documents() -> Iterator[Document]:
        for found in measured:
            if isinstance(found, Skipped):
                ledger.add_skipped(found)
            else:
                yield from found

    shards = plan_shards(
        documents(), max_bytes=max_shard_bytes, max_documents=max_shard_documents, ledger=ledger
    )
    skipped = LedgerView(ledger.skipped_count, ledger.skipped_at, ledger.skipped)
    source = uris[0] if len(uris) == 1 else None
    return UploadPlan(shards, skipped, source, units_from_sizes, ledger, tuple(uris))


# -- sending -------------------------------------------------------------------------------------


def require_one_job(plan: UploadPlan) -> None:
    """Raise :class:`InvalidInputError` when ``plan`` needs more than one job."""
    if len(plan.shards) > 1:
        raise InvalidInputError(
            f"the files need {len(plan.shards)} jobs (one job reads at most 5 GB and "
            "1,000,000 documents): upload them with upload_sharded and run them with "
            "start_batch"
        )


def single_job_transfers(plan: UploadPlan, prefix: str) -> Iterator[Transfer]:
    """The files of a one-job plan under ``prefix``, each keeping its layout."""
    for shard in plan.shards:
        for document in shard.files:
            yield Transfer(document, f"{prefix}{document.key}")


def uploaded_files(plan: UploadPlan, prefix: str) -> Sequence[tuple[Path | S3Object, str]]:
    """Each file of a one-job plan and the key it goes to under ``prefix``, read from the
    plan's ledger when asked."""
    if not plan.shards:
        return ()
    files = plan.shards[0].files

    def pair(document: Document) -> tuple[Path | S3Object, str]:
        return document.path, f"{prefix}{document.key}"

    return LedgerView(files.__len__, lambda i: pair(files[i]), lambda: map(pair, files))


def shard_transfers(plan: UploadPlan, prefix: str) -> Iterator[Transfer]:
    """The files of every shard of ``plan``, shard ``n`` under ``<prefix>shard-<n>/``, each
    keeping its layout."""
    for shard in plan.shards:
        for document in shard.files:
            yield Transfer(document, f"{prefix}{shard.name}/{document.key}")


def manifest_body(shard_prefixes: Iterable[str]) -> bytes:
    """The manifest a batch reads: each shard's input prefix, in order."""
    return json.dumps([{contract.INPUT_PREFIX: prefix} for prefix in shard_prefixes]).encode()
