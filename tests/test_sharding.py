"""Sharding a corpus into one-job shards, at the edges of Comprehend's limits. No AWS here."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from cdk_kp import contract
from cdk_kp.runtime.client import InvalidInputError, KeyPhrasesClient
from cdk_kp.runtime.sharding import Document, Shard, check_limits, count_documents, plan_shards


def doc(key: str, size: int, documents: int = 1) -> Document:
    return Document(Path(key), key, size, documents)


def layout(shards: list[Shard]) -> list[list[str]]:
    return [[d.key for d in shard.files] for shard in shards]


def test_the_limits_are_one_jobs():
    assert contract.MAX_JOB_BYTES == 5_000_000_000  # 5 GB, the smaller reading of "5 GB"
    assert contract.MAX_JOB_DOCUMENTS == 1_000_000
    assert contract.MIN_JOB_BYTES == 500
    assert contract.MAX_DOCUMENT_BYTES == 1024 * 1024


def test_a_shard_holds_exactly_the_byte_limit_and_not_one_byte_more():
    at_limit = [doc("a", 600), doc("b", 400)]
    assert layout(plan_shards(at_limit, max_bytes=1000)) == [["a", "b"]]
    over = [doc("a", 600), doc("b", 401)]
    assert layout(plan_shards(over, max_bytes=1000)) == [["a"], ["b"]]


def test_a_shard_holds_exactly_the_document_limit_and_not_one_more():
    at_limit = [doc("a", 600, 3), doc("b", 600, 2)]
    assert layout(plan_shards(at_limit, max_documents=5)) == [["a", "b"]]
    over = [doc("a", 600, 3), doc("b", 600, 3)]
    assert layout(plan_shards(over, max_documents=5)) == [["a"], ["b"]]


def test_the_default_limits_at_their_edges():
    half = contract.MAX_JOB_BYTES // 2
    assert len(plan_shards([doc("a", half), doc("b", half)])) == 1
    assert len(plan_shards([doc("a", half), doc("b", half + 1)])) == 2
    million = contract.MAX_JOB_DOCUMENTS
    assert len(plan_shards([doc("a", 1000, million - 1), doc("b", 1000, 1)])) == 1
    assert len(plan_shards([doc("a", 1000, million - 1), doc("b", 1000, 2)])) == 2


def test_every_document_lands_in_exactly_one_shard_in_order():
    documents = [doc(f"f{i:03d}", 700 + (i * 37) % 300, 1 + i % 4) for i in range(200)]
    shards = plan_shards(documents, max_bytes=5000, max_documents=12)
    assert [d.key for shard in shards for d in shard.files] == [d.key for d in documents]
    assert [shard.index for shard in shards] == list(range(len(shards)))
    for shard in shards:
        assert shard.size <= 5000
        assert shard.documents <= 12
        assert shard.name == f"shard-{shard.index:05d}"


def test_a_document_that_fits_no_shard_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^big: 1,001 bytes, over the 1,000-byte limit"):
        plan_shards([doc("small", 600), doc("big", 1001)], max_bytes=1000)
    with pytest.raises(ValueError, match=r"^lines: 6 documents, over the 5-document limit"):
        plan_shards([doc("lines", 600, 6)], max_documents=5)


def test_a_last_shard_under_500_bytes_takes_files_from_the_one_before():
    documents = [doc("a", 400), doc("b", 300), doc("c", 250), doc("d", 100)]
    # Greedy: [a, b, c] = 950 and [d] = 100, under Comprehend's 500-byte minimum.
    shards = plan_shards(documents, max_bytes=1000)
    assert layout(shards) == [["a", "b"], ["c", "d"]]
    assert [s.size for s in shards] == [700, 350]  # moving more would starve the first


def test_a_last_shard_is_topped_up_only_while_the_one_before_keeps_500_bytes():
    documents = [doc("a", 450), doc("b", 300), doc("c", 450), doc("d", 50)]
    # Greedy: [a, b] = 750 and [c, d] = 500: nothing to do.
    assert layout(plan_shards(documents, max_bytes=900)) == [["a", "b"], ["c", "d"]]
    starving = [doc("a", 450), doc("b", 450), doc("c", 50)]
    # Moving b would leave [a] at 450: the last shard stays small (best effort, documented).
    assert layout(plan_shards(starving, max_bytes=900)) == [["a", "b"], ["c"]]
    tight = [doc("a", 500), doc("b", 10)]
    assert layout(plan_shards(tight, max_bytes=500)) == [["a"], ["b"]]  # nothing can move


def test_no_documents_no_shards():
    assert plan_shards([]) == []


@pytest.mark.parametrize(
    ("max_bytes", "max_documents", "message"),
    [
        (499, 10, "max_shard_bytes must be from 500 to 5,000,000,000 (one job's input); got 499"),
        (5_000_000_001, 10, "got 5,000,000,001"),
        (1000, 0, "max_shard_documents must be from 1 to 1,000,000 (one job's input); got 0"),
        (1000, 1_000_001, "got 1,000,001"),
    ],
)
def test_limits_outside_one_job_are_refused(max_bytes, max_documents, message):
    with pytest.raises(ValueError, match="must be from") as raised:
        check_limits(max_bytes, max_documents)
    assert message in str(raised.value)


def test_limits_at_one_jobs_are_accepted():
    check_limits(contract.MIN_JOB_BYTES, 1)
    check_limits(contract.MAX_JOB_BYTES, contract.MAX_JOB_DOCUMENTS)


def test_documents_are_files_or_lines():
    assert count_documents(b"one\ntwo\n\nfour", "ONE_DOC_PER_LINE") == 4
    assert count_documents(b"one\ntwo\n", "ONE_DOC_PER_FILE") == 1


# -- the client's plan ----------------------------------------------------------------------


@pytest.fixture
def client() -> KeyPhrasesClient:
    return KeyPhrasesClient(input_bucket="docs", session=boto3.Session(region_name="us-east-1"))


def test_plan_checks_each_file_and_skips_what_cannot_be_a_document(client, tmp_path):
    (tmp_path / "ok.txt").write_text("Seattle is in Washington.\n" * 40)
    (tmp_path / "long-line.txt").write_text("x" * (contract.MAX_DOCUMENT_BYTES + 1) + "\n")
    (tmp_path / "bad.txt").write_bytes(b"fine\n\xff\n")
    (tmp_path / "blank.txt").write_text(" \n\n")
    plan = client.plan_upload([tmp_path], max_shard_documents=40)
    skipped = {Path(str(s.path)).name: s.reason for s in plan.skipped}
    assert skipped == {
        "long-line.txt": "line 1 is over Comprehend's 1,048,576-byte document limit",
        "bad.txt": "not UTF-8 (byte 5)",
        "blank.txt": "empty",
    }
    assert [d.key for shard in plan.shards for d in shard.files] == ["ok.txt"]


def test_a_file_over_a_shards_documents_is_split_not_skipped(client, tmp_path):
    (tmp_path / "ok.txt").write_text("Seattle is in Washington.\n" * 40)
    (tmp_path / "many.txt").write_text("Paris\n" * 81)
    plan = client.plan_upload([tmp_path], max_shard_documents=40)
    assert plan.skipped == []
    assert [[(d.key, d.first_line, d.documents) for d in shard.files] for shard in plan.shards] == [
        [("many.txt", 0, 40)],
        [("many.txt", 40, 40)],
        [("many.txt", 80, 1)],
        [("ok.txt", 0, 40)],
    ]


def test_plan_refuses_limits_outside_one_job_naming_the_field(client, tmp_path):
    with pytest.raises(InvalidInputError, match="max_shard_bytes must be from 500"):
        client.plan_upload([tmp_path], max_shard_bytes=100)


def test_files_a_split_would_leave_under_the_minimum_wait_for_the_next_whole_shard():
    def part(index: int, size: int) -> Document:
        return Document(Path("big"), "big.txt", size, 10, part=index, parts=2)

    small, after = doc("small", 60), doc("after", 900)
    shards = plan_shards([small, part(0, 800), part(1, 700), after], max_documents=10)
    assert layout(shards) == [["big.txt"], ["big.txt"], ["small", "after"]]
    # With nothing after the split file, they end up in a shard of their own.
    assert layout(plan_shards([small, part(0, 800), part(1, 700)], max_documents=10)) == [
        ["big.txt"],
        ["big.txt"],
        ["small"],
    ]
