"""A plan of any number of files holds no per-file objects in memory: its documents, skipped
files and sources are in a ledger (a private SQLite database that spills to a temporary file),
read back a page at a time, in order."""

from __future__ import annotations

import io
import os
import pathlib
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdk_kp.runtime import cli
from cdk_kp.runtime import ledger as ledger_module
from cdk_kp.runtime.documents import Document, Skipped
from cdk_kp.runtime.ledger import PAGE_ROWS
from cdk_kp.runtime.sharding import plan_shards
from cdk_kp.runtime.transfers import SendReport, send
from cdk_kp.runtime.uploads import UploadPlan, plan_upload, single_job_transfers

DOCUMENT = b"Seattle and Tacoma are cities in Washington State, on the shores of Puget Sound.\n"
PER_FILE = "ONE_DOC_PER_FILE"


def corpus(folder: Path, files: int) -> Path:
    """``files`` documents of about 600 bytes, 100 to a subfolder, with a few skipped files."""
    for number in range(files):
        sub = folder / f"part-{number // 100:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        body = b"" if number % 50 == 0 else DOCUMENT * 7  # every 50th is empty: skipped
        (sub / f"doc-{number:06d}.txt").write_bytes(body)
    return folder


def kept_python_bytes(work: Callable[[], Any]) -> int:
    """The memory Python objects allocated by ``work`` still take when it returns, with what
    it returned still held. Path objects intern their parts in a table the whole process
    shares, whose resizing depends on what ran before: its allocations are left out."""
    tracemalloc.start()
    try:
        result = work()
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    del result
    kept = snapshot.filter_traces([tracemalloc.Filter(False, pathlib.__file__)])
    return sum(stat.size for stat in kept.statistics("filename"))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("corpora")
    return corpus(root / "small", 1_000), corpus(root / "large", 6_000)


def test_a_plan_holds_nothing_per_file_in_python_memory(corpora):
    """Before the ledger, a plan kept about 0.7 KB of Python objects a file (each document and
    skipped file): 5,000 files more kept about 3.5 MB more."""
    small, large = corpora
    plans: dict[Path, UploadPlan] = {}
    kept = {}
    for folder in (small, large):

        def planning(folder: Path = folder) -> UploadPlan:
            plans[folder] = plan_upload([folder], input_format=PER_FILE)
            return plans[folder]

        kept[folder] = kept_python_bytes(planning)
    assert [plans[folder].files for folder in corpora] == [980, 5_880]
    assert [len(plans[folder].skipped) for folder in corpora] == [20, 120]
    assert (kept[large] - kept[small]) / 5_000 < 50, kept  # bytes a file more


def test_sending_holds_nothing_per_file_in_python_memory(corpora):
    """The transfers are read from the plan's ledger as the pool takes them, and the report
    counts them (before, it listed every transfer it sent)."""

    class NullS3:
        def put_object(self, **_: Any) -> None:
            return None

    kept = {}
    for folder in corpora:
        plan = plan_upload([folder], input_format=PER_FILE)
        files, size = plan.shards[0].objects, plan.size

        def sending(plan: UploadPlan = plan, files: int = files, size: int = size) -> SendReport:
            transfers = single_job_transfers(plan, "in/b/")
            report = send(NullS3(), "input", transfers, files=files, size=size, existing=None)
            assert (report.sent, report.already_there) == (files, 0)
            return report

        kept[folder] = kept_python_bytes(sending)
    small, large = corpora
    assert (kept[large] - kept[small]) / 5_000 < 50, kept


def deleted_sqlite_files() -> set[str]:
    """The temporary files SQLite has open in this process (it unlinks them as it opens them)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "etilqs_" in target and target.endswith("(deleted)"):
            found.add(target)
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/fd")
def test_a_plan_bigger_than_the_cache_is_on_disk_until_closed(corpora, monkeypatch):
    monkeypatch.setattr(ledger_module, "CACHE_KIB", 64)
    before = deleted_sqlite_files()
    with plan_upload([corpora[1]], input_format=PER_FILE) as plan:
        spilled = deleted_sqlite_files() - before
        assert spilled, "the plan's ledger never went to disk"
        keys = [document.key for document in plan.shards[0].files]
        assert keys == sorted(keys)
        assert len(keys) == plan.shards[0].objects == 5_880
    assert not spilled & deleted_sqlite_files(), "closing the plan left its file open"


def test_a_shards_documents_come_back_in_order_across_pages():
    count = 3 * PAGE_ROWS + 7
    documents = (Document(Path(f"{n}.txt"), f"{n}.txt", 600, 1) for n in range(count))
    shards = plan_shards(documents, max_documents=2 * PAGE_ROWS)
    assert [shard.objects for shard in shards] == [2 * PAGE_ROWS, PAGE_ROWS + 7]
    first, second = (shard.files for shard in shards)
    assert [d.key for d in first] + [d.key for d in second] == [f"{n}.txt" for n in range(count)]
    assert (first[0].key, first[-1].key, second[-1].key) == (
        "0.txt",
        "1023.txt",
        f"{count - 1}.txt",
    )
    assert [d.key for d in second[1:3]] == ["1025.txt", "1026.txt"]
    with pytest.raises(IndexError):
        second[PAGE_ROWS + 7]


def test_files_are_found_in_the_order_of_sorted_paths_and_folder_links_are_not_followed(tmp_path):
    folder = tmp_path / "corpus"
    names = ["a/x.txt", "a-c.txt", "a.txt", "b/a/z.txt", "B.txt", "é.txt", "a/b/y.txt", "a0.txt"]
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(DOCUMENT * 7)
    (folder / "link-to-a").symlink_to(folder / "a", target_is_directory=True)
    (folder / "link-to-a.txt").symlink_to(folder / "a.txt")
    expected = [
        path.relative_to(folder).as_posix()
        for path in sorted(p for p in folder.rglob("*") if p.is_file())
    ]
    assert "link-to-a/x.txt" not in expected
    assert "link-to-a.txt" in expected
    plan = plan_upload([folder, tmp_path / "missing.txt"], input_format=PER_FILE)
    assert [d.key for d in plan.shards[0].files] == expected
    assert list(plan.skipped) == [Skipped(tmp_path / "missing.txt", "does not exist")]


def test_a_file_whose_name_is_not_utf8_is_skipped_and_shown_escaped(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "ok.txt").write_bytes(DOCUMENT * 7)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as stream:
        stream.write(DOCUMENT * 7)
    plan = plan_upload([folder], input_format=PER_FILE)
    assert [d.key for d in plan.shards[0].files] == ["ok.txt"]
    (skipped,) = plan.skipped
    assert skipped.reason == "its name is not UTF-8, as an S3 key must be"
    out = io.StringIO()
    assert cli.main(["plan", str(folder), "--format", PER_FILE], stdout=out) == cli.OK
    assert f"skipped {folder.as_posix()}/caf\\xe9.txt: its name is not UTF-8" in out.getvalue()
