"""Sending an upload's transfers: in parallel, resumable, with progress.

:func:`send` carries out transfers with a bounded pool of threads (``concurrency`` at once; at
most twice that many queued, so a corpus of any number of files holds a bounded number of
pending requests). Before sending, it lists what the batch's folder already holds: a key that
is there with the same size and the same fingerprint (object metadata ``cdk-kp-fingerprint``,
the SHA-256 of a local file's bytes or an S3 source's ETag and range) is left as it is, so an
interrupted upload run again sends only what is missing or different.

A local file (or a part of one) under :data:`PART_BYTES` is sent with one PutObject; a bigger
one with a multipart upload of parts of that size, one part at a time per transfer. Either way
the request's body is a window on the file that botocore reads in chunks, never the bytes
themselves, so memory does not grow with the files' sizes nor with ``concurrency``. A document
already in S3 is copied server-side: a whole object with CopyObject, a part of one of at least
5 MB with a multipart upload of ranged UploadPartCopy calls (each part at least 5 MB but the
last); a part smaller than that, which S3 documents no ranged copy for, is read through a
temporary file, a chunk at a time, and put. Retries are botocore's, as the session configures
them (it seeks a body back to its start to send it again).
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdk_kp.runtime.documents import Document, S3Object
from cdk_kp.runtime.ledger import Ledger
from cdk_kp.runtime.scanning import CHUNK_BYTES
from cdk_kp.runtime.uploads import Transfer

#: Uploads at once, unless ``concurrency`` says otherwise.
DEFAULT_CONCURRENCY = 16
#: Size of each part of a multipart upload, and the size from which one is used.
PART_BYTES = 8 * 1024 * 1024
#: The most a request body's read returns at once (see :meth:`FileWindow.read`).
READ_BYTES = 64 * 1024
#: S3's smallest part (all but the last) and smallest source of a ranged copy.
MIN_COPY_PART_BYTES = 5 * 1024 * 1024
#: The object metadata that identifies an uploaded document's content.
FINGERPRINT_METADATA = "cdk-kp-fingerprint"


@dataclass
class SendProgress:
    """How far a :func:`send` is: files and bytes done (sent, or found already there) of all."""

    files: int
    size: int
    files_done: int = 0
    bytes_done: int = 0
    already_there: int = 0
    #: Of ``bytes_done``, the bytes sent (or copied) by this run.
    bytes_sent: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Bytes sent a second so far (what was found already there is not counted)."""
        elapsed = time.monotonic() - self.started
        return self.bytes_sent / elapsed if elapsed > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        return (self.size - self.bytes_done) / rate if rate > 0 else None


@dataclass(frozen=True)
class SendReport:
    """How many transfers were sent, and how many were found already there."""

    sent: int
    already_there: int


class FileWindow(io.RawIOBase):
    """``size`` bytes of a file from ``offset``, as a seekable binary stream."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._offset = offset
        self._size = size
        self._position = 0
        self._file.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, min(self._size, base + position))
        self._file.seek(self._offset + self._position)
        return self._position

    def read(self, size: int = -1) -> bytes:
        """The rest of the window (``size`` negative), or at most :data:`READ_BYTES` of it
        however many are asked for: botocore reads a body in 1 MiB chunks (for its checksums),
        and a thread's freed chunks stay with its allocator, so smaller reads keep each
        sending thread's memory small. A raw stream may return fewer bytes than asked; its
        readers ask again until it returns none."""
        if size < 0:
            return self.readall()
        buffer = bytearray(min(size, READ_BYTES, max(0, self._size - self._position)))
        read = self.readinto(buffer)
        return bytes(buffer[:read])

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._size - self._position)
        if wanted <= 0:
            return 0
        read = self._file.readinto(view[:wanted])
        self._position += read
        return read

    def close(self) -> None:
        self._file.close()
        super().close()


def existing_objects(s3: Any, bucket: str, prefix: str) -> Ledger | None:
    """A ledger of the keys under ``prefix`` and their sizes (on disk beyond a few MB, however
    many there are); ``None`` when the caller may not list them (``grant_write_input`` alone
    does not allow it): then everything is sent, as if nothing were there."""
    import botocore.exceptions

    found = Ledger()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.add_keys((item["Key"], item["Size"]) for item in page.get("Contents", []))
    except BaseException as error:
        found.close()
        denied = isinstance(error, botocore.exceptions.ClientError) and (
            error.response.get("Error", {}).get("Code") == "AccessDenied"
        )
        if denied:
            return None
        raise
    return found


def send(
    s3: Any,
    bucket: str,
    planned: Iterable[Transfer],
    *,
    files: int,
    size: int,
    existing: Ledger | None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: Callable[[SendProgress], None] | None = None,
) -> SendReport:
    """Carry out the ``planned`` transfers (``files`` of them, ``size`` bytes in all, taken as
    they come) into ``bucket``, ``concurrency`` at once; a key in ``existing`` with the same
    size and fingerprint is left as it is (``existing`` ``None``: nothing could be listed,
    everything is sent). The first error stops the sending (what was sent stays, and a run
    again resumes from it) and is raised."""
    progress = SendProgress(files, size)
    lock = threading.Lock()

    def one(transfer: Transfer) -> None:
        uploaded = not _already_there(s3, bucket, transfer, existing)
        if uploaded:
            _transfer(s3, bucket, transfer)
        with lock:
            progress.files_done += 1
            progress.bytes_done += transfer.document.size
            progress.bytes_sent += transfer.document.size if uploaded else 0
            progress.already_there += 0 if uploaded else 1
            if on_progress is not None:
                on_progress(progress)

    _bounded(one, planned, concurrency)
    there = progress.already_there
    return SendReport(sent=progress.files_done - there, already_there=there)


def _bounded(work: Callable[[Transfer], None], items: Iterable[Transfer], concurrency: int) -> None:
    """Run ``work`` on each item, ``concurrency`` at once, at most twice that many queued. The
    first error (or a Ctrl-C) cancels what is queued, lets what is running end, and is
    raised."""
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cdk-kp-upload")
    pending: set[Future[None]] = set()
    try:
        for item in items:
            if len(pending) >= 2 * concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                _raise_first(done)
            pending.add(pool.submit(work, item))
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            _raise_first(done)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _raise_first(done: set[Future[None]]) -> None:
    for future in done:
        error = future.exception()
        if error is not None:
            raise error


def _already_there(s3: Any, bucket: str, transfer: Transfer, existing: Ledger | None) -> bool:
    if existing is None or existing.key_size(transfer.key) != transfer.document.size:
        return False
    head = s3.head_object(Bucket=bucket, Key=transfer.key)
    return bool(head.get("Metadata", {}).get(FINGERPRINT_METADATA) == transfer.document.fingerprint)


def _transfer(s3: Any, bucket: str, transfer: Transfer) -> None:
    document = transfer.document
    metadata = {FINGERPRINT_METADATA: document.fingerprint}
    source = document.path
    if not isinstance(source, S3Object):
        if document.size < PART_BYTES:
            # One request, its body streamed from the file (botocore reads it in chunks).
            with FileWindow(source, document.offset, document.size) as window:
                s3.put_object(Bucket=bucket, Key=transfer.key, Body=window, Metadata=metadata)
        else:
            _upload_parts(s3, bucket, transfer.key, source, document, metadata)
    elif document.parts == 1:
        s3.copy_object(
            Bucket=bucket,
            Key=transfer.key,
            CopySource={"Bucket": source.bucket, "Key": source.key},
            CopySourceIfMatch=f'"{source.etag}"',
            MetadataDirective="REPLACE",
            Metadata=metadata,
        )
    elif document.size < MIN_COPY_PART_BYTES:
        _get_and_put(s3, bucket, transfer.key, source, document, metadata)
    else:
        _copy_range(s3, bucket, transfer.key, source, document, metadata)


def _get_and_put(
    s3: Any, bucket: str, key: str, source: S3Object, document: Document, metadata: dict[str, str]
) -> None:
    """Put a range of ``source`` under 5 MB (which S3 documents no ranged copy for) as an
    object: read through a temporary file, a chunk at a time, so memory holds one chunk."""
    last = document.offset + document.size - 1
    body = s3.get_object(
        Bucket=source.bucket,
        Key=source.key,
        Range=f"bytes={document.offset}-{last}",
        IfMatch=f'"{source.etag}"',
    )["Body"]
    with tempfile.TemporaryFile() as spool:
        try:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                spool.write(chunk)
        finally:
            body.close()
        spool.seek(0)
        s3.put_object(Bucket=bucket, Key=key, Body=spool, Metadata=metadata)


def _upload_parts(
    s3: Any, bucket: str, key: str, path: Path, document: Document, metadata: dict[str, str]
) -> None:
    """Upload ``document`` (a file, or a part of one) as a multipart upload, each part's body
    streamed from the file."""

    def part(upload_id: str, number: int, start: int, end: int) -> str:
        with FileWindow(path, start, end - start) as window:
            sent = s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=window
            )
        return str(sent["ETag"])

    _multipart(s3, bucket, key, document, metadata, part)


def _copy_range(
    s3: Any, bucket: str, key: str, source: S3Object, document: Document, metadata: dict[str, str]
) -> None:
    """Copy ``document`` (a range of ``source`` of at least 5 MB) as one object, server-side:
    ranged UploadPartCopy calls."""

    def part(upload_id: str, number: int, start: int, end: int) -> str:
        copied = s3.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": source.bucket, "Key": source.key},
            CopySourceIfMatch=f'"{source.etag}"',
            CopySourceRange=f"bytes={start}-{end - 1}",
        )
        return str(copied["CopyPartResult"]["ETag"])

    _multipart(s3, bucket, key, document, metadata, part)


def _multipart(
    s3: Any,
    bucket: str,
    key: str,
    document: Document,
    metadata: dict[str, str],
    send_part: Callable[[str, int, int, int], str],
) -> None:
    """Write ``document``'s bytes (``size`` from ``offset`` of its source) as one object, a
    multipart upload of :data:`PART_BYTES` parts (the last taking the rest, so every part is at
    least 5 MB), one part at a time: ``send_part(upload_id, number, start, end)`` sends one
    and returns its ETag. On any error the upload is aborted, leaving no parts behind."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata=metadata)
    upload_id = upload["UploadId"]
    end_of_all = document.offset + document.size
    try:
        starts = list(range(document.offset, end_of_all, PART_BYTES))
        if len(starts) > 1 and end_of_all - starts[-1] < MIN_COPY_PART_BYTES:
            starts.pop()
        parts = []
        for number, start in enumerate(starts, start=1):
            end = starts[number] if number < len(starts) else end_of_all
            parts.append({"ETag": send_part(upload_id, number, start, end), "PartNumber": number})
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
