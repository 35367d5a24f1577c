"""Reading documents as streams: the checks and counts do not depend on how the bytes arrive,
a file too big for one shard is cut at line boundaries into parts that rebuild it exactly, and
planning a file runs in bounded memory (under a limit a whole-file read cannot meet)."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdk_kp import contract
from cdk_kp.runtime.cli.display import Display, upload_bar
from cdk_kp.runtime.estimate import estimate
from cdk_kp.runtime.scanning import CHUNK_BYTES, UnusableFileError, scan_lines, units_of
from cdk_kp.runtime.sharding import first_line_of
from cdk_kp.runtime.transfers import SendProgress
from cdk_kp.runtime.uploads import plan_upload

from .conftest import ROOT

LINES = [
    "Seattle is in Washington.",
    "",
    "Zürich liegt in der Schweiz — 🙂",
    "   ",
    "x" * 250,
    "Tokyo\r",
]
DATA = ("\n".join(LINES) + "\n").encode()


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, len(DATA)])
def test_the_scan_does_not_depend_on_where_chunks_end(chunk):
    whole = scan_lines([DATA], max_bytes=300, max_documents=4)
    pieces = scan_lines(chunked(DATA, chunk), max_bytes=300, max_documents=4)
    assert pieces == whole


#: Lines ended as Comprehend reads them: LF, CR or CRLF (a CR then an LF is one end).
MIXED_ENDS = b"one\rtwo\r\nthree\n\rfour\r"


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, len(MIXED_ENDS)])
def test_lf_cr_and_crlf_each_end_a_line_wherever_the_chunks_end(chunk):
    scan = scan_lines(chunked(MIXED_ENDS, chunk), max_bytes=300, max_documents=2)
    assert scan.documents == len(MIXED_ENDS.splitlines()) == 5
    parts = [MIXED_ENDS[p.offset : p.offset + p.size] for p in scan.parts]
    assert parts == [b"one\rtwo\r\n", b"three\n\r", b"four\r"]
    assert [p.first_line for p in scan.parts] == [0, 2, 4]


def test_parts_rebuild_the_file_and_each_fits_a_shard():
    scan = scan_lines(chunked(DATA, 5), max_bytes=300, max_documents=2)
    assert b"".join(DATA[p.offset : p.offset + p.size] for p in scan.parts) == DATA
    assert [(p.first_line, p.lines) for p in scan.parts] == [(0, 2), (2, 2), (4, 2)]
    assert all(p.size <= 300 and p.lines <= 2 for p in scan.parts)
    assert scan.documents == len(LINES)
    assert scan.size == len(DATA)


def test_a_part_ends_where_the_next_line_would_pass_the_byte_limit():
    sizes = [len(line.encode()) + 1 for line in LINES]
    scan = scan_lines([DATA], max_bytes=300, max_documents=100)
    # Lines 0 to 3 fit in 300 bytes; line 4 (251 bytes) would pass it, so it starts a part.
    assert sum(sizes[:5]) > 300 >= sum(sizes[4:])
    assert [(p.first_line, p.size) for p in scan.parts] == [
        (0, sum(sizes[:4])),
        (4, sum(sizes[4:])),
    ]


def test_a_last_part_under_a_jobs_minimum_takes_lines_from_the_part_before():
    data = b"".join(b"line %09d\n" % number for number in range(1001))  # 15 bytes a line
    scan = scan_lines(chunked(data, 97), max_bytes=10**6, max_documents=500)
    # Greedy cutting leaves one line (15 bytes) last; 34 lines move so it reaches 500 bytes.
    assert [(p.first_line, p.lines, p.size) for p in scan.parts] == [
        (0, 500, 7500),
        (500, 467, 7005),
        (967, 34, 510),
    ]
    assert b"".join(data[p.offset : p.offset + p.size] for p in scan.parts) == data
    assert sum(p.units for p in scan.parts) == scan.units == 1001 * 3


def test_units_are_billed_per_document_blank_lines_not_counted():
    scan = scan_lines([DATA], max_bytes=contract.MAX_JOB_BYTES, max_documents=100)
    characters = [25, 0, len(LINES[2]), 0, 250, 5]
    assert scan.units == sum(units_of(n) for n in characters if n)
    assert units_of(1) == 3
    assert units_of(301) == 4


def test_invalid_utf8_is_found_at_its_byte_in_the_file_whatever_the_chunks():
    data = DATA + "Café\n".encode("latin-1")
    for chunk in (1, 4, 1000):
        with pytest.raises(UnusableFileError, match=rf"^not UTF-8 \(byte {len(DATA) + 3}\)$"):
            scan_lines(chunked(data, chunk), max_bytes=10_000, max_documents=100)


def test_a_line_over_the_document_limit_stops_the_read_at_once():
    read = []

    def endless() -> Iterator[bytes]:
        while True:
            read.append(CHUNK_BYTES)
            yield b"y" * CHUNK_BYTES

    with pytest.raises(UnusableFileError, match="line 1 is over Comprehend's 1,048,576-byte"):
        scan_lines(endless(), max_bytes=contract.MAX_JOB_BYTES, max_documents=10)
    assert len(read) == 2


def test_a_line_over_a_shard_is_refused_naming_it():
    with pytest.raises(UnusableFileError, match="line 5 is 251 bytes, over the 200-byte limit"):
        scan_lines([DATA], max_bytes=200, max_documents=10)


def test_a_plan_names_each_part_with_its_file_and_first_line(tmp_path):
    (tmp_path / "a.txt").write_text("".join(f"Line {n}\n" for n in range(25)))
    (tmp_path / "b.txt").write_text("Berlin\nParis\n")
    plan = plan_upload([tmp_path], input_format="ONE_DOC_PER_LINE", max_shard_documents=10)
    assert [[(d.key, d.part, d.first_line, d.documents) for d in s.files] for s in plan.shards] == [
        [("a.txt", 0, 0, 10)],
        [("a.txt", 1, 10, 10)],
        [("a.txt", 2, 20, 5)],
        [("b.txt", 0, 0, 2)],
    ]
    # A part's shard is named after the line of its file it starts at.
    assert [shard.name for shard in plan.shards] == [
        "shard-00000",
        "shard-00001-line-10",
        "shard-00002-line-20",
        "shard-00003",
    ]
    assert [first_line_of(f"batch/{shard.name}/") for shard in plan.shards] == [0, 10, 20, 0]
    assert plan.files == 2
    assert plan.documents == 27
    found = estimate(plan, price_per_unit=0.5)
    assert (found.documents, found.units, found.usd) == (27, 81, 40.5)


def test_the_progress_bar_shows_files_bytes_rate_and_time_left(monkeypatch):
    progress = SendProgress(
        files=400,
        size=4_000_000,
        files_done=100,
        bytes_done=1_000_000,
        bytes_sent=1_000_000,
        started=100.0,
    )
    monkeypatch.setattr(time, "monotonic", lambda: 102.0)
    bar = upload_bar(progress, width=8)
    assert bar == "[##------] 100/400 files, 1.0/4.0 MB, 0.5 MB/s, 0:06 left"


def test_the_rate_of_a_resumed_upload_counts_only_what_it_sends(monkeypatch):
    # 2 MB were found already there at once; 1 MB was sent in 2 s: 1 MB left at 0.5 MB/s.
    progress = SendProgress(
        files=400,
        size=4_000_000,
        files_done=300,
        bytes_done=3_000_000,
        already_there=200,
        bytes_sent=1_000_000,
        started=100.0,
    )
    monkeypatch.setattr(time, "monotonic", lambda: 102.0)
    assert upload_bar(progress, width=8).endswith(", 0.5 MB/s, 0:02 left")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_is_drawn_on_a_terminal_only_and_always_for_the_last_file():
    progress = SendProgress(files=2, size=200, files_done=1, bytes_done=100)
    elsewhere = io.StringIO()
    Display(elsewhere).upload(progress)
    assert elsewhere.getvalue() == ""
    terminal = Terminal()
    display = Display(terminal)
    display.upload(progress)
    progress.files_done, progress.bytes_done = 2, 200
    display.upload(progress)  # at once after the first: drawn only because it is the last
    assert terminal.getvalue().count("\r[") == 2
    assert "2/2 files" in terminal.getvalue()


# -- bounded memory ----------------------------------------------------------------------------

#: The address space the planning process may use: well under the file's size.
MEMORY_LIMIT = 160 * 1024 * 1024
FILE_BYTES = 200 * 1024 * 1024


def limited(command: list[str]) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        command, capture_output=True, text=True, preexec_fn=limit, cwd=ROOT, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.txt"
    line = ("Seattle and Tacoma are cities in Washington State. " * 20 + "\n").encode()
    with path.open("wb") as stream:
        block = line * (CHUNK_BYTES // len(line))
        while stream.tell() < FILE_BYTES:
            stream.write(block)
    return path


def test_a_whole_file_read_fails_under_the_limit(big_file):
    found = limited([sys.executable, "-c", f"open({str(big_file)!r}, 'rb').read()"])
    assert found.returncode != 0
    assert "MemoryError" in found.stderr


def test_planning_the_file_streams_under_the_same_limit_without_aws(big_file):
    code = (
        "import sys; from cdk_kp.runtime import cli; "
        f"code = cli.main(['plan', {str(big_file)!r}, '--format', 'ONE_DOC_PER_LINE', "
        "'--max-shard-bytes', '100000000', '--json']); "
        "print('boto3 loaded' if 'boto3' in sys.modules else 'no boto3', file=sys.stderr); "
        "sys.exit(code)"
    )
    found = limited([sys.executable, "-c", code])
    assert found.returncode == 0, found.stderr
    assert "no boto3" in found.stderr
    plan = json.loads(found.stdout)
    size = big_file.stat().st_size
    with big_file.open("rb") as stream:
        line = len(stream.readline())
    # Split at line boundaries into shards of at most 100 MB: two full ones and the rest.
    full = 100_000_000 - 100_000_000 % line
    assert [shard["bytes"] for shard in plan["shards"]] == [full, full, size - 2 * full]
    assert sum(shard["documents"] for shard in plan["shards"]) == size // line
    assert plan["bytes"] == size
    assert plan["skipped"] == []
