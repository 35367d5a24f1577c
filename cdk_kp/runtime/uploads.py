"""Uploading documents: planned first, without AWS, then sent.

Planning finds the files under the paths given (:func:`unique_files`), checks and measures each
one as it comes (:func:`measure`: read once, checked as Comprehend would read it, counted), and
packs the documents into shards that each fit one job (:func:`plan_upload`, with
:mod:`cdk_kp.runtime.sharding`). Sending is separate: a plan is laid out as transfers, each file
with the key it goes to (:func:`single_job_transfers`, :func:`shard_transfers`), which the client
carries out one by one; a sharded upload ends with the manifest of its shards
(:func:`manifest_body`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cdk_kp import contract
from cdk_kp.runtime.errors import InvalidInputError
from cdk_kp.runtime.sharding import (
    Document,
    Shard,
    check_limits,
    count_documents,
    oversize,
    plan_shards,
)

#: The name of a sharded upload's manifest, in its batch's folder.
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass
class UploadReport:
    """What :meth:`KeyPhrasesClient.upload` did, file by file: nothing is skipped silently."""

    batch_prefix: str
    uploaded: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(path.stat().st_size for path, _ in self.uploaded)


@dataclass(frozen=True)
class UploadPlan:
    """What :meth:`KeyPhrasesClient.plan_upload` found: the shards and the files left out."""

    shards: list[Shard]
    skipped: list[Skipped]


@dataclass
class ShardedUpload:
    """What :meth:`KeyPhrasesClient.upload_sharded` did: the shards, each under
    ``<batch prefix>shard-<n>/``, and the manifest the batch reads."""

    batch_prefix: str
    manifest: str
    shards: list[Shard] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(shard.size for shard in self.shards)

    @property
    def files_uploaded(self) -> int:
        return sum(len(shard.files) for shard in self.shards)

    @property
    def shard_prefixes(self) -> list[str]:
        """Each shard's input prefix, relative to the pipeline's, in manifest order."""
        return [f"{self.batch_prefix}{shard.name}/" for shard in self.shards]


@dataclass(frozen=True)
class Transfer:
    """One file to send, and its key in the input bucket."""

    path: Path
    key: str


# -- the documents -------------------------------------------------------------------------------


def check_document(path: Path, input_format: str) -> str | None:
    """Why ``path`` cannot be a Comprehend input, or ``None`` when it can."""
    data = read_document(path)
    return data if isinstance(data, str) else check_document_data(data, input_format)


def read_document(path: Path) -> bytes | str:
    """The file's bytes, or why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        return f"unreadable: {error.strerror or error}"


def check_document_data(data: bytes, input_format: str) -> str | None:
    """Why a file holding ``data`` cannot be a Comprehend input, or ``None`` when it can."""
    if not data.strip():
        return "empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 (byte {error.start})"
    limit = contract.MAX_DOCUMENT_BYTES
    if input_format == contract.InputFormat.ONE_DOC_PER_FILE and len(data) > limit:
        return f"{len(data):,} bytes, over Comprehend's {limit:,}-byte document limit"
    if input_format == contract.InputFormat.ONE_DOC_PER_LINE:
        for number, line in enumerate(text.splitlines(), start=1):
            if len(line.encode("utf-8")) > limit:
                return f"line {number} is over Comprehend's {limit:,}-byte document limit"
    return None


# -- planning ------------------------------------------------------------------------------------


def find_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """Each file under ``paths`` with the key it gets, relative to the folder given."""
    for given in map(Path, paths):
        if given.is_dir():
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                yield path, path.relative_to(given).as_posix()
        else:
            yield given, given.name


def unique_files(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """The files under ``paths`` with their keys; raise if two would share a key."""
    files = list(find_files(paths))
    by_key: dict[str, list[Path]] = {}
    for path, relative in files:
        by_key.setdefault(relative, []).append(path)
    clashes = {key: found for key, found in by_key.items() if len(found) > 1}
    if clashes:
        shown = "; ".join(
            f"{key} <- {', '.join(map(str, found))}" for key, found in sorted(clashes.items())
        )
        raise InvalidInputError(
            f"these files would be uploaded to the same key, one overwriting another: {shown}"
        )
    return files


def measure(
    path: Path, key: str, input_format: str, max_bytes: int, max_documents: int
) -> Document | Skipped:
    """The file at ``path`` as a document of a plan, or why it is left out. The file is read
    once: checked as Comprehend would read it, then measured against one shard's limits."""
    if not path.exists():
        return Skipped(path, "does not exist")
    data = read_document(path)
    if isinstance(data, str):
        return Skipped(path, data)
    problem = check_document_data(data, input_format)
    if problem is not None:
        return Skipped(path, problem)
    document = Document(path, key, len(data), count_documents(data, input_format))
    problem = oversize(document, max_bytes, max_documents)
    return document if problem is None else Skipped(path, problem)


def plan_upload(
    paths: Iterable[str | Path],
    *,
    input_format: str,
    max_shard_bytes: int = contract.MAX_JOB_BYTES,
    max_shard_documents: int = contract.MAX_JOB_DOCUMENTS,
) -> UploadPlan:
    """Check and measure the files under ``paths`` and pack them, in order and whole, into
    shards of at most ``max_shard_bytes`` and ``max_shard_documents``; a file that cannot be a
    document, or is too big for one shard, is skipped and reported. Uploads nothing."""
    try:
        check_limits(max_shard_bytes, max_shard_documents)
    except ValueError as error:
        raise InvalidInputError(str(error)) from error
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for path, key in unique_files(paths):
        found = measure(path, key, input_format, max_shard_bytes, max_shard_documents)
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            documents.append(found)
    shards = plan_shards(documents, max_bytes=max_shard_bytes, max_documents=max_shard_documents)
    return UploadPlan(shards=shards, skipped=skipped)


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
            yield Transfer(document.path, f"{prefix}{document.key}")


def shard_transfers(plan: UploadPlan, prefix: str) -> Iterator[Transfer]:
    """The files of every shard of ``plan``, shard ``n`` under ``<prefix>shard-<n>/``, each
    keeping its layout."""
    for shard in plan.shards:
        for document in shard.files:
            yield Transfer(document.path, f"{prefix}{shard.name}/{document.key}")


def manifest_body(shard_prefixes: Iterable[str]) -> bytes:
    """The manifest a batch reads: each shard's input prefix, in order."""
    return json.dumps([{contract.INPUT_PREFIX: prefix} for prefix in shard_prefixes]).encode()
