"""The client's pieces that need no AWS: the output archive reader and the document checks."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from cdk_kp.contract import MAX_DOCUMENT_BYTES
from cdk_kp.runtime.client import (
    ArchiveError,
    DocumentKeyPhrases,
    KeyPhrase,
    check_document,
    read_key_phrases,
)


def archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def line(file: str, phrases: list[tuple[str, float, int, int]], number: int | None = None) -> bytes:
    record: dict[str, object] = {
        "File": file,
        "KeyPhrases": [
            {"Text": t, "Score": s, "BeginOffset": b, "EndOffset": e} for t, s, b, e in phrases
        ],
    }
    if number is not None:
        record["Line"] = number
    return json.dumps(record).encode() + b"\n"


class CountingStream(io.RawIOBase):
    """A read-only stream that records how much was read at most in one call."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self.largest_read = max(self.largest_read, len(chunk))
        return len(chunk)


def test_reads_one_record_per_document_in_order():
    data = archive(
        {
            "output": line("a.txt", [("Amazon Comprehend", 0.99, 0, 17)], 0)
            + line("a.txt", [("key phrases", 0.97, 5, 16)], 1)
            + line("b.txt", [], 0)
        }
    )
    records = list(read_key_phrases(io.BytesIO(data)))
    assert records == [
        DocumentKeyPhrases("a.txt", 0, [KeyPhrase("Amazon Comprehend", 0.99, 0, 17)]),
        DocumentKeyPhrases("a.txt", 1, [KeyPhrase("key phrases", 0.97, 5, 16)]),
        DocumentKeyPhrases("b.txt", 0, []),
    ]


def test_one_doc_per_file_records_have_no_line():
    data = archive({"output": line("doc.txt", [("x", 0.5, 0, 1)])})
    (record,) = read_key_phrases(io.BytesIO(data))
    assert record.line is None
    assert record.as_dict() == {
        "file": "doc.txt",
        "line": None,
        "error": None,
        "key_phrases": [{"text": "x", "score": 0.5, "begin_offset": 0, "end_offset": 1}],
    }


def test_streams_without_holding_the_archive_in_memory():
    body = b"".join(line(f"doc-{i}.txt", [("phrase", 0.9, 0, 6)], 0) for i in range(20_000))
    data = archive({"output": body})
    assert len(gzip.decompress(data)) > 1_000_000
    stream = CountingStream(data)
    reader = read_key_phrases(io.BufferedReader(stream, buffer_size=8192))
    first = next(reader)
    assert first.file == "doc-0.txt"
    assert stream.largest_read <= 64 * 1024
    assert sum(1 for _ in reader) == 19_999


def test_an_empty_archive_has_no_records():
    assert list(read_key_phrases(io.BytesIO(archive({})))) == []


def test_a_corrupt_archive_is_an_archive_error():
    data = archive({"output": line("a.txt", [], 0)})
    with pytest.raises(ArchiveError, match="cannot read the output archive"):
        list(read_key_phrases(io.BytesIO(data[: len(data) // 2] + b"\x00garbage")))


def test_a_zero_byte_object_is_an_archive_error():
    with pytest.raises(ArchiveError, match="cannot read the output archive"):
        list(read_key_phrases(io.BytesIO(b"")))


def test_a_line_that_is_not_a_record_names_member_and_line():
    data = archive({"output": line("a.txt", [], 0) + b'{"KeyPhrases": []}\n'})
    with pytest.raises(ArchiveError, match=r"line 2 of output is not a key phrases record"):
        list(read_key_phrases(io.BytesIO(data)))


@pytest.mark.parametrize(
    ("content", "input_format", "problem"),
    [
        (b"Plain words.", "ONE_DOC_PER_FILE", None),
        (b"  \n", "ONE_DOC_PER_FILE", "empty"),
        ("caf\u00e9".encode("latin-1"), "ONE_DOC_PER_FILE", "not UTF-8 (byte 3)"),
        (b"x" * (MAX_DOCUMENT_BYTES + 1), "ONE_DOC_PER_FILE", "1,048,577 bytes, over"),
        (b"x" * (MAX_DOCUMENT_BYTES + 1), "ONE_DOC_PER_LINE", "line 1 is over"),
        (b"short\n" * 300_000, "ONE_DOC_PER_LINE", None),
        (b"x" * MAX_DOCUMENT_BYTES, "ONE_DOC_PER_FILE", None),
    ],
    ids=["fine", "empty", "latin-1", "big-file", "big-line", "many-lines", "at-limit"],
)
def test_document_checks(tmp_path: Path, content, input_format, problem):
    path = tmp_path / "doc.txt"
    path.write_bytes(content)
    found = check_document(path, input_format)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)


def test_an_unreadable_file_is_reported(tmp_path: Path):
    missing = tmp_path / "folder-not-file"
    missing.mkdir()
    assert (check_document(missing, "ONE_DOC_PER_FILE") or "").startswith("unreadable")


def test_comprehends_per_document_errors_are_kept():
    failed = {
        "File": "big.txt",
        "Line": 3,
        "ErrorCode": "DOCUMENT_SIZE_EXCEEDED",
        "ErrorMessage": "Document size exceeds maximum size limit 102400 bytes.",
    }
    data = archive({"output": line("a.txt", [("x", 0.5, 0, 1)], 0) + json.dumps(failed).encode()})
    ok, bad = read_key_phrases(io.BytesIO(data))
    assert ok.error is None
    assert bad == DocumentKeyPhrases(
        "big.txt",
        3,
        [],
        "DOCUMENT_SIZE_EXCEEDED: Document size exceeds maximum size limit 102400 bytes.",
    )
