"""A corpus already in S3, planned where it is.

``s3://BUCKET/PREFIX`` names every object whose key starts with ``PREFIX``; each keeps its key
relative to the folder ``PREFIX`` ends in (``s3://b/corpus/`` gives ``a.txt`` and
``2026/b.txt``). For ``ONE_DOC_PER_FILE`` an object is planned from its listing alone (size and
ETag; its bytes never leave S3, so its UTF-8 is not checked here and its cost estimate counts a
byte as a character, an upper bound). For ``ONE_DOC_PER_LINE`` its lines must be counted (and
a big one cut at line boundaries), so it is read once, streamed, as a local file would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cdk_kp import contract
from cdk_kp.runtime.documents import Document, S3Object, Skipped
from cdk_kp.runtime.scanning import CHUNK_BYTES, Part, Scan, UnusableFileError, units_of
from cdk_kp.runtime.uploads import documents_of, scan_document, split_corpus_uri

#: Why a folder marker (a key ending in ``/``) is left out of a plan. What Comprehend makes of
#: one in its input is not documented, so a folder holding one is copied, without it, rather
#: than read where it is.
FOLDER_MARKER = "a folder marker (its key ends in /), not a document"


def listed_objects(s3: Any, uri: str) -> Iterator[tuple[S3Object, str, int]]:
    """Each object under ``uri``: where it is, its relative key and its size (folder markers,
    keys ending in ``/``, too: see :data:`FOLDER_MARKER`)."""
    bucket, prefix = split_corpus_uri(uri)
    folder = prefix[: prefix.rfind("/") + 1]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"]
            yield S3Object(bucket, key, item["ETag"].strip('"')), key[len(folder) :], item["Size"]


def measure_object(
    s3: Any,
    source: S3Object,
    key: str,
    size: int,
    input_format: str,
    max_bytes: int,
    max_documents: int,
) -> list[Document] | Skipped:
    """The object as the documents of a plan, or why it is left out."""
    try:
        if input_format == contract.InputFormat.ONE_DOC_PER_FILE:
            scan = _listed_document(source, size)
        else:
            scan = scan_document(
                _object_chunks(s3, source), size, input_format, max_bytes, max_documents
            )
    except UnusableFileError as error:
        return Skipped(source, str(error))
    return documents_of(source, key, scan, max_bytes, max_documents)


def _listed_document(source: S3Object, size: int) -> Scan:
    """A ``ONE_DOC_PER_FILE`` object from its listing: refused when empty or over the document
    limit, otherwise estimated at a character a byte."""
    if size == 0:
        raise UnusableFileError("empty")
    limit = contract.MAX_DOCUMENT_BYTES
    if size > limit:
        raise UnusableFileError(f"{size:,} bytes, over Comprehend's {limit:,}-byte document limit")
    units = units_of(size)
    return Scan(size=size, documents=1, units=units, parts=[Part(0, size, 0, 1, units)])


def _object_chunks(s3: Any, source: S3Object) -> Iterator[bytes]:
    body = s3.get_object(Bucket=source.bucket, Key=source.key, IfMatch=f'"{source.etag}"')["Body"]
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()
