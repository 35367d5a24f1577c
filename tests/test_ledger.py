"""A plan of any number of files holds no per-file objects in memory: its documents, skipped
files and sources are in a ledger (a private SQLite database that spills to a temporary file),
read back a page at a time, in order."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cdk_kp.runtime import ledger as ledger_module
from cdk_kp.runtime.documents import Document, Skipped
from cdk_kp.runtime.ledger import PAGE_ROWS
from cdk_kp.runtime.sharding import plan_shards
from cdk_kp.runtime.transfers import send
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


def peak_python_bytes(work: Callable[[], Any]) -> int:
    """The most memory Python objects took, above what they took before, while ``work`` ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("corpora")
    return corpus(root / "small", 1_000), corpus(root / "large", 6_000)


def test_planning_holds_nothing_per_file_in_python_memory(corpora):
    """Before the ledger, a plan took about 0.7 KB of Python objects a file (the sorted listing,
    each document and skipped file): 5,000 files more took about 3.5 MB more."""
    small, large = corpora
    plans: list[UploadPlan] = []
    used = {}
    for folder in (small, large):

        def planning(folder: Path = folder) -> None:
            plans.append(plan_upload([folder], input_format=PER_FILE))

        used[folder] = peak_python_bytes(planning)
    assert [plan.files for plan in plans] == [980, 5_880]
    assert [len(plan.skipped) for plan in plans] == [20, 120]
    more_files = 5_000
    assert (used[large] - used[small]) / more_files < 50, used  # bytes a file more


def test_sending_holds_nothing_per_file_in_python_memory(corpora):
    """The transfers are read from the plan's ledger as the pool takes them, and the report
    counts them."""

    class NullS3:
        def put_object(self, **_: Any) -> None:
            return None

    used = {}
    for folder in corpora:
        plan = plan_upload([folder], input_format=PER_FILE)
        files, size = plan.shards[0].objects, plan.size

        def sending(plan: UploadPlan = plan, files: int = files, size: int = size) -> None:
            transfers = single_job_transfers(plan, "in/b/")
            report = send(NullS3(), "input", transfers, files=files, size=size, existing=None)
            assert (report.sent, report.already_there) == (files, 0)

        used[folder] = peak_python_bytes(sending)
    small, large = corpora
    assert (used[large] - used[small]) / 5_000 < 50, used


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
