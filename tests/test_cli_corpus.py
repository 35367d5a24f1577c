"""`cdk-kp` at corpus scale, end to end in the emulator: a file split across shards keeps its
name and its line numbers, an interrupted upload resumes, a corpus already in S3 is read where
it is, and `plan` previews it all. See tests/cli_support.py for the set-up."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from cdk_kp.runtime import cli, sources, transfers
from cdk_kp.runtime.client import KeyPhrasesClient

from .cli_support import aws as aws  # fixtures: see tests/cli_support.py
from .cli_support import completes_on_second_describe, run_cli, run_sharded, spy_uploads
from .cli_support import corpus as corpus
from .emulator import LocalAws

#: A word per line, unique to it, that the emulated Comprehend returns as its key phrase.
WORDS = [f"K{letter * 3}" for letter in "abcdefghijklmnopqrstuvwxy"]


def word_lines(path: Path) -> None:
    path.write_text("".join(f"line with {word} in it\n" for word in WORDS))


def records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_file_over_a_shard_is_split_and_its_lines_keep_their_numbers(aws, tmp_path, capsys):
    folder = tmp_path / "split"
    folder.mkdir()
    word_lines(folder / "big.txt")
    (folder / "small.txt").write_text("Berlin\nParis\n")
    code, out = run_sharded(aws, completes_on_second_describe(aws), folder, "split-1", 10)
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert "as 4 shards" in err
    found = records(out)
    big = {
        r["line"]: [p["text"] for p in r["key_phrases"]] for r in found if r["file"] == "big.txt"
    }
    # Each of the 25 lines once, numbered in the file (Comprehend numbered them 0-9, 0-9, 0-4).
    assert big == {number: [word] for number, word in enumerate(WORDS)}
    small = sorted(
        (r["line"], r["key_phrases"][0]["text"]) for r in found if r["file"] == "small.txt"
    )
    assert small == [(0, "Berlin"), (1, "Paris")]
    # Each part in a shard of its own, named after the line of the file it starts at.
    listed = aws.session.client("s3").list_objects_v2(
        Bucket=aws.outputs["InputBucketName"], Prefix="split-1/"
    )
    assert sorted(item["Key"] for item in listed["Contents"]) == [
        "split-1/manifest.json",
        "split-1/shard-00000/big.txt",
        "split-1/shard-00001-line-10/big.txt",
        "split-1/shard-00002-line-20/big.txt",
        "split-1/shard-00003/small.txt",
    ]


def test_an_interrupted_upload_resumes_sending_only_what_is_missing_or_changed(
    aws, corpus, monkeypatch, capsys
):
    sent: list[str] = []
    original = transfers._transfer

    def fails_after_three(s3: Any, bucket: str, transfer: Any) -> None:
        if len(sent) == 3:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://s3")
        original(s3, bucket, transfer)
        sent.append(transfer.key)

    monkeypatch.setattr(transfers, "_transfer", fails_after_three)
    script = completes_on_second_describe(aws)
    code, _ = run_sharded(aws, script, corpus, "resume-1", 9, "--concurrency", "1")
    assert code == cli.AWS_REFUSED
    assert "Could not connect" in capsys.readouterr().err
    assert sent == [f"resume-1/shard-0000{n // 3}/report-{n}.txt" for n in range(3)]
    monkeypatch.undo()
    # One of the three already sent changes before the run again: it is sent again too.
    (corpus / "report-1.txt").write_text("Changed in Lisbon.\n" * 3)
    again = spy_uploads(monkeypatch)
    code, out = run_sharded(aws, script, corpus, "resume-1", 9)
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert "(resumed: 2 of 7 were already there, unchanged, and were not sent again)" in err
    assert sorted(again) == sorted(
        f"resume-1/shard-0000{n // 3}/report-{n}.txt" for n in (1, 3, 4, 5, 6)
    )
    assert len(records(out)) == 21


@pytest.fixture
def lake(aws: LocalAws, corpus: Path) -> str:
    """The corpus in a bucket of its own, as a data lake holds it."""
    s3 = aws.session.client("s3")
    s3.create_bucket(Bucket="lake")
    for path in sorted(corpus.iterdir()):
        s3.put_object(Bucket="lake", Key=f"reports/2026/{path.name}", Body=path.read_bytes())
    s3.put_object(Bucket="lake", Key="reports/2026/", Body=b"")  # a folder marker
    return "s3://lake/reports/"


def test_a_corpus_in_s3_is_copied_server_side_into_shards(aws, lake, monkeypatch, capsys):
    reads: list[str] = []
    original = sources._object_chunks

    def chunks(s3: Any, source: Any) -> Any:
        reads.append(source.key)
        return original(s3, source)

    monkeypatch.setattr(sources, "_object_chunks", chunks)
    code, out, _ = run_cli(
        aws,
        completes_on_second_describe(aws),
        "run",
        "--stack",
        "KeyPhrasesStack",
        lake,
        "--format",
        "ONE_DOC_PER_FILE",
        "--max-shard-documents",
        "3",
        "--batch",
        "lake-1",
        "--poll",
        "0.05",
    )
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert "copying (server-side) 7 file(s)" in err
    assert reads == []  # one document per object: planned from the listing, never read here
    s3 = aws.session.client("s3")
    copied = s3.head_object(
        Bucket=aws.outputs["InputBucketName"], Key="lake-1/shard-00000/2026/report-0.txt"
    )
    size = copied["ContentLength"]
    assert copied["Metadata"][transfers.FINGERPRINT_METADATA].endswith(f":0-{size}")
    assert sorted(r["file"] for r in records(out)) == sorted(
        f"2026/report-{n}.txt" for n in range(7)
    )


def test_the_objects_of_several_uris_are_said_to_be_copied(aws, lake, capsys):
    code, out, _ = run_cli(
        aws,
        completes_on_second_describe(aws),
        "run",
        "--stack",
        "KeyPhrasesStack",
        "s3://lake/reports/2026/report-1",
        "s3://lake/reports/2026/report-2",
        "--format",
        "ONE_DOC_PER_FILE",
        "--batch",
        "lake-2",
        "--poll",
        "0.05",
    )
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert "copying (server-side) 2 file(s)" in err
    assert sorted(r["file"] for r in records(out)) == ["report-1.txt", "report-2.txt"]


def test_a_corpus_under_the_input_prefix_runs_where_it_is(aws, corpus, capsys):
    s3 = aws.session.client("s3")
    bucket = aws.outputs["InputBucketName"]
    for path in sorted(corpus.iterdir()):
        s3.put_object(Bucket=bucket, Key=f"landed/{path.name}", Body=path.read_bytes())
    code, out, _ = run_cli(
        aws,
        completes_on_second_describe(aws),
        "run",
        "--stack",
        "KeyPhrasesStack",
        f"s3://{bucket}/landed/",
        "--batch",
        "in-place-1",
        "--poll",
        "0.05",
    )
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert f"reading s3://{bucket}/landed/ where it is: nothing is copied" in err
    (job,) = aws.script.jobs.values()
    assert job.request["InputDataConfig"]["S3Uri"] == f"s3://{bucket}/landed/"
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="in-place-1/").get("KeyCount")
    assert len(records(out)) == 21


def test_a_big_object_is_split_by_ranged_server_side_copies(aws):
    s3 = aws.session.client("s3")
    s3.create_bucket(Bucket="lake-big")
    line = b"Seattle and Tacoma are cities in Washington State.\n"
    body = line * (12_500_000 // len(line))
    s3.put_object(Bucket="lake-big", Key="big.txt", Body=body)
    client = KeyPhrasesClient(input_bucket=aws.outputs["InputBucketName"], session=aws.session)
    plan = client.plan_upload(["s3://lake-big/"], max_shard_bytes=6_000_000)
    parts = [document for shard in plan.shards for document in shard.files]
    assert [d.size >= transfers.MIN_COPY_PART_BYTES for d in parts] == [True, True, False]
    upload = client.upload_sharded(plan, batch="big-1")
    copied = b""
    for prefix in upload.shard_prefixes:
        copied += s3.get_object(Bucket=client.input_bucket, Key=f"{prefix}big.txt")["Body"].read()
    assert copied == body


def test_a_big_local_part_is_sent_in_parts_and_rebuilds_the_file(aws, tmp_path):
    line = b"Seattle and Tacoma are cities in Washington State.\n"
    body = line * (20_000_000 // len(line))
    (tmp_path / "big.txt").write_bytes(body)
    client = KeyPhrasesClient(input_bucket=aws.outputs["InputBucketName"], session=aws.session)
    plan = client.plan_upload([tmp_path], max_shard_bytes=9_000_000)
    parts = [document for shard in plan.shards for document in shard.files]
    assert [d.size > transfers.PART_BYTES for d in parts] == [True, True, False]
    upload = client.upload_sharded(plan, batch="big-local-1")
    s3 = aws.session.client("s3")
    copied = b""
    for prefix in upload.shard_prefixes:
        copied += s3.get_object(Bucket=client.input_bucket, Key=f"{prefix}big.txt")["Body"].read()
    assert copied == body
    # Sent again with the same batch, nothing is sent: every part is there, unchanged.
    assert client.upload_sharded(plan, batch="big-local-1").already_uploaded == 3


# -- plan ----------------------------------------------------------------------------------------


def test_plan_prints_shards_skipped_files_and_the_estimate_as_json(tmp_path, capsys):
    word_lines(tmp_path / "big.txt")
    (tmp_path / "latin.txt").write_bytes("Café".encode("latin-1"))
    out = io.StringIO()
    code = cli.main(
        [
            "plan",
            str(tmp_path),
            "--format",
            "ONE_DOC_PER_LINE",
            "--max-shard-documents",
            "10",
            "--json",
            "--price-per-unit",
            "0.001",
        ],
        stdout=out,
    )
    assert code == cli.OK, capsys.readouterr().err
    plan = json.loads(out.getvalue())
    assert [(s["documents"], s["bytes"]) for s in plan["shards"]] == [
        (10, 210),
        (10, 210),
        (5, 105),
    ]
    assert plan["skipped"] == [
        {"path": str(tmp_path / "latin.txt"), "reason": "not UTF-8 (byte 3)"}
    ]
    # Each shard is under a job's 500 bytes (the part before cannot spare lines and keep 500).
    assert plan["under_minimum"] == ["shard-00000", "shard-00001-line-10", "shard-00002-line-20"]
    assert plan["estimate"]["units"] == 75
    assert plan["estimate"]["usd"] == pytest.approx(0.075)


def test_plan_as_text_and_its_usage_errors(tmp_path, capsys):
    word_lines(tmp_path / "big.txt")
    out = io.StringIO()
    assert cli.main(["plan", str(tmp_path), "--format", "ONE_DOC_PER_LINE"], stdout=out) == cli.OK
    assert out.getvalue().splitlines()[0] == "1 shard(s), one job each: 25 documents, 525 bytes"
    assert "estimated charge: 0.01 USD for 75 units" in out.getvalue()
    # One shard of 525 bytes: over a job's minimum, so no warning.
    assert "warning:" not in out.getvalue()
    assert cli.main(["plan", str(tmp_path)], stdout=io.StringIO()) == cli.USAGE
    assert "give --format, or --stack" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["plan", str(tmp_path), "--format", "ONE_DOC_PER_LINE", "--price-per-unit", "-1"])


def test_plan_as_text_lines_its_shards_up_whatever_their_names(tmp_path):
    word_lines(tmp_path / "big.txt")
    out = io.StringIO()
    argv = ["plan", str(tmp_path), "--format", "ONE_DOC_PER_LINE", "--max-shard-documents", "10"]
    assert cli.main(argv, stdout=out) == cli.OK
    rows = [line for line in out.getvalue().splitlines() if line.startswith("  shard-")]
    assert [row.split()[0] for row in rows] == [
        "shard-00000",
        "shard-00001-line-10",
        "shard-00002-line-20",
    ]
    assert len({row.index(" documents") for row in rows}) == 1
    assert len({row.index(" bytes") for row in rows}) == 1


def test_plan_of_a_corpus_in_s3_lists_it(aws, lake, capsys):
    out = io.StringIO()
    code = cli.main(
        ["plan", lake, "--stack", "KeyPhrasesStack", "--format", "ONE_DOC_PER_FILE", "--json"],
        stdout=out,
    )
    assert code == cli.OK, capsys.readouterr().err
    plan = json.loads(out.getvalue())
    assert plan["documents"] == 7
    assert plan["estimate"]["from_sizes"] is True
