"""What a plan or an upload knows about each file, kept on disk rather than in memory, so the
client's memory does not grow with the number of files in a corpus.

Each :class:`Ledger` is a private SQLite database opened with an empty file name: SQLite keeps
it in its page cache while it is small and writes it to a temporary file, deleted when the
ledger is closed, once it outgrows that cache (https://www.sqlite.org/inmemorydb.html, "Temporary
Databases"). The page cache is capped at :data:`CACHE_KIB`, so a plan of ten files and one of
ten million hold the same memory; only the shards' totals (a few numbers a shard) stay in
Python objects. The file goes where SQLite puts temporary files (``SQLITE_TMPDIR``, else
``TMPDIR``, else ``/var/tmp``; https://www.sqlite.org/tempfiles.html) and takes about 300 to
550 bytes a file planned, depending on the length of its path (paths and keys are stored with
their indexes).

A ledger holds, in order:

- ``sources``: the files (or S3 objects) found under the paths given, before any is read, so
  that two that would share a key are refused first and the files are then read in a stable
  order;
- ``documents``: each document of the plan (a file, or a part of a split one) and its shard;
- ``skipped``: each file left out, and why;
- ``keys``: the objects already in a batch's folder (key and size), each marked once an upload
  is found to write it.

A ledger may be used from several threads (calls are serialised); its iterators read a page of
rows at a time, so none holds the database between pages.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from cdk_kp.runtime.documents import Document, S3Object, Skipped

#: SQLite's page cache for a ledger, in KiB: the most of it held in memory.
CACHE_KIB = 8 * 1024
#: Rows read at a time by the ledger's iterators.
PAGE_ROWS = 512

_SCHEMA = """
CREATE TABLE sources (
    seq INTEGER PRIMARY KEY, sort BLOB NOT NULL, kind TEXT NOT NULL, location BLOB NOT NULL,
    bucket TEXT, etag TEXT, key BLOB NOT NULL, size INTEGER NOT NULL);
CREATE UNIQUE INDEX sources_in_order ON sources (sort);
CREATE INDEX sources_by_key ON sources (key);
CREATE TABLE documents (
    seq INTEGER PRIMARY KEY, shard INTEGER NOT NULL, kind TEXT NOT NULL, location BLOB NOT NULL,
    bucket TEXT, etag TEXT, key BLOB NOT NULL, size INTEGER NOT NULL,
    documents INTEGER NOT NULL, offset INTEGER NOT NULL, first_line INTEGER NOT NULL,
    part INTEGER NOT NULL, parts INTEGER NOT NULL, units INTEGER NOT NULL,
    fingerprint TEXT NOT NULL);
CREATE INDEX documents_by_shard ON documents (shard, seq);
CREATE TABLE skipped (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, location BLOB NOT NULL, bucket TEXT,
    etag TEXT, reason TEXT NOT NULL);
CREATE TABLE keys (
    key TEXT PRIMARY KEY, size INTEGER NOT NULL, planned INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""

_DOCUMENT_COLUMNS = (
    "kind, location, bucket, etag, key, size, documents, offset, first_line, part, parts, "
    "units, fingerprint"
)

#: A source as stored: kind, location, bucket, ETag.
_Source = tuple[str, bytes, str | None, str | None]


def _encode(path: str | Path | S3Object) -> _Source:
    """A file's path (as the file system's bytes, so any name survives) or an S3 object."""
    if isinstance(path, S3Object):
        return "s3", path.key.encode(), path.bucket, path.etag
    return "file", os.fsencode(path), None, None


def _decode(kind: str, location: bytes, bucket: str | None, etag: str | None) -> Path | S3Object:
    if kind == "s3":
        return S3Object(bucket or "", location.decode(), etag or "")
    return Path(os.fsdecode(location))


def _key(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def _unkey(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


class Ledger:
    """A private, temporary SQLite database of a plan's files (see the module's text)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")
        self._closed = False
        #: Rows not yet inserted, by statement: written in batches, before any other statement.
        self._pending: dict[str, list[Sequence[Any]]] = {}

    def close(self) -> None:
        """Drop the database (and its temporary file); the ledger cannot be read after."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def _insert(self, sql: str, row: Sequence[Any]) -> None:
        """Insert ``row`` with ``sql``, in a batch of rows (any other statement writes the
        batch first)."""
        with self._lock:
            rows = self._pending.setdefault(sql, [])
            rows.append(row)
            if len(rows) >= PAGE_ROWS:
                self._flush()

    def _flush(self) -> None:
        while self._pending:
            # Taken out first, so that an error leaves no batch to be written twice.
            sql, rows = self._pending.popitem()
            self._db.executemany(sql, rows)

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        with self._lock:
            self._flush()
            self._db.execute(sql, parameters)

    def _rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            self._flush()
            return self._db.execute(sql, parameters).fetchall()

    def _pages(self, sql: str, parameters: Sequence[Any], after: object = -1) -> Iterator[Any]:
        """The rows of ``sql``, a page at a time: ``sql`` takes ``column > ?`` as its last
        parameter, orders by that column (unique) and returns it first; ``after`` is below
        every value of it."""
        while True:
            rows = self._rows(f"{sql} LIMIT {PAGE_ROWS}", (*parameters, after))
            yield from rows
            if len(rows) < PAGE_ROWS:
                return
            after = rows[-1][0]

    # -- sources: the files found, before any is read --------------------------------------------

    def add_source(self, sort: bytes, path: str | Path | S3Object, key: str, size: int = 0) -> None:
        """Note a file (or object) found, to be read in the order of ``sort``."""
        self._insert(
            "INSERT INTO sources (sort, kind, location, bucket, etag, key, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sort, *_encode(path), _key(key), size),
        )

    def clashes(self, limit: int = 10) -> list[tuple[str, list[Path | S3Object]]]:
        """Keys that more than one source would be uploaded to, with those sources (at most
        ``limit`` keys, in key order)."""
        keys = self._rows(
            "SELECT key FROM sources GROUP BY key HAVING count(*) > 1 ORDER BY key LIMIT ?",
            (limit,),
        )
        found = []
        for (key,) in keys:
            rows = self._rows(
                "SELECT kind, location, bucket, etag FROM sources WHERE key = ? ORDER BY sort",
                (key,),
            )
            found.append((_unkey(key), [_decode(*row) for row in rows]))
        return found

    def sources(self) -> Iterator[tuple[Path | S3Object, str, int]]:
        """The sources in order: where each is, its key and size."""
        sql = (
            "SELECT sort, kind, location, bucket, etag, key, size FROM sources WHERE sort > ? "
            "ORDER BY sort"
        )
        for _, kind, location, bucket, etag, key, size in self._pages(sql, (), after=b""):
            yield _decode(kind, location, bucket, etag), _unkey(key), size

    # -- documents: each document of the plan and its shard --------------------------------------

    def add_document(self, document: Document, shard: int) -> None:
        """Record ``document`` as the last in ``shard`` (a shard's documents are in the order
        they were recorded)."""
        self._insert(
            f"INSERT INTO documents (shard, {_DOCUMENT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                shard,
                *_encode(document.path),
                _key(document.key),
                document.size,
                document.documents,
                document.offset,
                document.first_line,
                document.part,
                document.parts,
                document.units,
                document.fingerprint,
            ),
        )

    def move_shard(self, from_shard: int, to_shard: int) -> None:
        """Move every document of ``from_shard`` to ``to_shard``."""
        self._execute("UPDATE documents SET shard = ? WHERE shard = ?", (to_shard, from_shard))

    def move_last(self, from_shard: int, to_shard: int) -> None:
        """Move the last document of ``from_shard`` to ``to_shard``."""
        self._execute(
            "UPDATE documents SET shard = ? WHERE seq = "
            "(SELECT max(seq) FROM documents WHERE shard = ?)",
            (to_shard, from_shard),
        )

    def last_document(self, shard: int) -> Document | None:
        rows = self._rows(
            f"SELECT seq, {_DOCUMENT_COLUMNS} FROM documents WHERE shard = ? "
            "ORDER BY seq DESC LIMIT 1",
            (shard,),
        )
        return _document(rows[0]) if rows else None

    def documents(self, shard: int) -> Iterator[Document]:
        """The documents of ``shard``, in order."""
        sql = (
            f"SELECT seq, {_DOCUMENT_COLUMNS} FROM documents WHERE shard = ? AND seq > ? "
            "ORDER BY seq"
        )
        return map(_document, self._pages(sql, (shard,)))

    def document_at(self, shard: int, index: int) -> Document:
        rows = self._rows(
            f"SELECT seq, {_DOCUMENT_COLUMNS} FROM documents WHERE shard = ? "
            "ORDER BY seq LIMIT 1 OFFSET ?",
            (shard, index),
        )
        if not rows:
            raise IndexError(index)
        return _document(rows[0])

    def whole_files(self) -> int:
        """Files in the documents of shards, a split file once."""
        return int(self._rows("SELECT count(*) FROM documents WHERE part = 0 AND shard >= 0")[0][0])

    # -- skipped: the files left out ---------------------------------------------------------------

    def add_skipped(self, skipped: Skipped) -> None:
        self._insert(
            "INSERT INTO skipped (kind, location, bucket, etag, reason) VALUES (?, ?, ?, ?, ?)",
            (*_encode(skipped.path), skipped.reason),
        )

    def skipped(self) -> Iterator[Skipped]:
        sql = (
            "SELECT seq, kind, location, bucket, etag, reason FROM skipped WHERE seq > ? "
            "ORDER BY seq"
        )
        for _, kind, location, bucket, etag, reason in self._pages(sql, ()):
            yield Skipped(_decode(kind, location, bucket, etag), reason)

    def skipped_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM skipped")[0][0])

    def skipped_at(self, index: int) -> Skipped:
        rows = self._rows(
            "SELECT kind, location, bucket, etag, reason FROM skipped ORDER BY seq LIMIT 1 "
            "OFFSET ?",
            (index,),
        )
        if not rows:
            raise IndexError(index)
        *source, reason = rows[0]
        return Skipped(_decode(*source), reason)

    # -- keys: object keys and their sizes ---------------------------------------------------------

    def add_keys(self, items: Iterable[tuple[str, int]]) -> None:
        """Note objects (key, size) found in S3."""
        with self._lock:
            self._flush()
            self._db.executemany("INSERT OR REPLACE INTO keys (key, size) VALUES (?, ?)", items)

    def key_size(self, key: str) -> int | None:
        """The size of the object noted at ``key``, or ``None``."""
        rows = self._rows("SELECT size FROM keys WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else None

    def key_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM keys")[0][0])

    def mark_planned(self, keys: Iterable[str]) -> None:
        """Mark the noted objects at ``keys`` as ones an upload writes."""
        with self._lock:
            self._flush()
            self._db.executemany("UPDATE keys SET planned = 1 WHERE key = ?", ((k,) for k in keys))

    def unplanned(self, limit: int) -> tuple[int, list[str]]:
        """How many noted objects are not marked, and the first ``limit`` of their keys."""
        count = int(self._rows("SELECT count(*) FROM keys WHERE planned = 0")[0][0])
        rows = self._rows("SELECT key FROM keys WHERE planned = 0 ORDER BY key LIMIT ?", (limit,))
        return count, [key for (key,) in rows]


def _document(row: Sequence[Any]) -> Document:
    (_, kind, location, bucket, etag, key, size, documents, offset, first_line, part, parts,
     units, fingerprint) = row  # fmt: skip
    return Document(
        _decode(kind, location, bucket, etag),
        _unkey(key),
        size,
        documents,
        offset=offset,
        first_line=first_line,
        part=part,
        parts=parts,
        units=units,
        fingerprint=fingerprint,
    )


T = TypeVar("T")


class LedgerView(Sequence[T], Generic[T]):
    """A read-only sequence over rows of a ledger: its length and items are read when asked."""

    def __init__(
        self,
        length: Callable[[], int],
        item: Callable[[int], T],
        items: Callable[[], Iterator[T]],
    ) -> None:
        self._length = length
        self._item = item
        self._items = items

    def __len__(self) -> int:
        return int(self._length())

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if index < 0:
            raise IndexError(index)
        return self._item(index)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<{len(self):,} item(s) in a ledger>"
