"""`cdk-kp run` of a corpus over one job's limits: its shards run as one batch, and their key
phrases are written to one output. See tests/cli_support.py for the set-up.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator

import pytest

from cdk_kp.runtime import cli

from .cli_support import aws as aws  # fixtures: see tests/cli_support.py
from .cli_support import completes_on_second_describe, input_objects, run_cli, run_sharded
from .cli_support import corpus as corpus
from .emulator import ComprehendScript, ScriptedJob, write_output


def test_run_shards_a_corpus_over_one_jobs_limit_and_writes_one_merged_output(
    aws, corpus, tmp_path, capsys
):
    results = tmp_path / "results.jsonl"
    script = completes_on_second_describe(aws)
    # Shards of at most 6 documents: two 3-line files each, so 4 shards.
    code, _ = run_sharded(aws, script, corpus, "corpus-1", 6, "--out", str(results))
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert "uploaded 7 file(s)" in err
    assert "as 4 shards" in err
    assert "started batch arn:aws:states:" in err
    for shard in range(4):
        # Progress per shard (stderr is not a terminal here: a line per change).
        assert f"corpus-1/shard-{shard:05d}/ COMPLETED job " in err
    assert "from 4 of 4 shard(s)" in err
    records = [json.loads(line) for line in results.read_text().splitlines()]
    documents = sorted((r["file"], r["line"]) for r in records)
    assert documents == sorted((f"report-{n}.txt", line) for n in range(7) for line in range(3))
    assert len(aws.script.jobs) == 4


def test_results_of_a_batch_execution_are_merged_too(aws, corpus, tmp_path, capsys):
    script = completes_on_second_describe(aws)
    code, _ = run_sharded(aws, script, corpus, "corpus-2", 9)
    assert code == cli.OK
    arn = re.search(r"started batch (\S+)", capsys.readouterr().err)
    assert arn is not None
    out = io.StringIO()
    assert cli.main(["results", arn.group(1)], stdout=out) == cli.OK
    assert len(out.getvalue().splitlines()) == 21
    assert "from 3 of 3 shard(s)" in capsys.readouterr().err


def test_a_failed_shard_fails_the_run_and_is_named(aws, corpus, capsys):
    def status(job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        if job.describe_calls < 2:
            return "IN_PROGRESS"
        if job.request["InputDataConfig"]["S3Uri"].endswith("/shard-00001/"):
            return ("FAILED", "scripted failure")
        return "COMPLETED"

    script = ComprehendScript(status=status)
    script.on_complete = write_output(aws)
    code, out = run_sharded(aws, script, corpus, "corpus-3", 6)
    err = capsys.readouterr().err
    assert code == cli.JOB_FAILED, err
    assert "KeyPhrasesBatchFailed" in err
    # The summary after the failure, not only the progress lines, names the shard and its job.
    assert re.search(
        r"^shard corpus-3/shard-00001/ FAILED \(job \w{32}\): scripted failure$", err, re.M
    )
    assert "scripted failure" in err
    assert out == ""  # a failed batch writes nothing


def test_shard_limits_outside_one_job_are_a_command_line_error(aws, corpus, capsys):
    aws.reset(ComprehendScript())
    before = input_objects(aws)
    with pytest.raises(SystemExit) as exit_:
        cli.main(
            ["run", "--stack", "KeyPhrasesStack", str(corpus), "--max-shard-documents", "1000001"]
        )
    assert exit_.value.code == cli.USAGE
    assert (
        "argument --max-shard-documents: max_shard_documents must be from 1 to 1,000,000 "
        "(one job's input); got 1,000,001"
    ) in capsys.readouterr().err
    assert aws.script.jobs == {}
    assert input_objects(aws) == before


def test_a_corpus_needing_shards_on_a_stack_without_a_batch_is_refused_before_upload(
    aws, corpus, monkeypatch, capsys
):
    from cdk_kp.runtime.client import KeyPhrasesClient

    original = KeyPhrasesClient.from_stack

    def without_batch(stack_name: str, **kwargs: object) -> KeyPhrasesClient:
        client = original(stack_name)
        client.batch_state_machine_arn = None  # as a stack built with batch=False
        return client

    monkeypatch.setattr(KeyPhrasesClient, "from_stack", staticmethod(without_batch))
    s3 = aws.session.client("s3")
    before = s3.list_objects_v2(Bucket=aws.outputs["InputBucketName"]).get("KeyCount", 0)
    code, _, _ = run_cli(
        aws,
        ComprehendScript(),
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(corpus),
        "--max-shard-documents",
        "6",
    )
    assert code == cli.INVALID_INPUT
    assert "the corpus needs 4 jobs, and stack KeyPhrasesStack has no KeyPhrasesBatch" in (
        capsys.readouterr().err
    )
    assert s3.list_objects_v2(Bucket=aws.outputs["InputBucketName"]).get("KeyCount", 0) == before


def test_ctrl_c_while_a_batch_runs_leaves_it_running_and_says_how_to_get_results(
    aws, corpus, monkeypatch, capsys
):
    def interrupt(self: cli.Display, progress: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.Display, "batch", interrupt)
    code, _ = run_sharded(aws, completes_on_second_describe(aws), corpus, "corpus-4", 6)
    err = capsys.readouterr().err
    assert code == cli.INTERRUPTED
    assert "interrupted; the batch keeps running" in err
    arn = re.search(r"cdk-kp results (arn:aws:states:\S+:corpus-4) --out FILE", err)
    assert arn is not None
    # The batch did keep running; let it end so that no later test sees its jobs.
    deadline = time.monotonic() + 30
    while aws.sfn.describe_execution(executionArn=arn.group(1))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_file_the_plan_skips_is_not_uploaded_with_a_single_job(aws, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "small.txt").write_text("Seattle and Tacoma are in Washington.\n" * 5)
    (folder / "latin1.txt").write_bytes("Paris is in France, très belle.\n".encode("latin-1"))
    script = completes_on_second_describe(aws)
    code, _, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(folder),
        "--batch",
        "mixed-1",
        "--poll",
        "0.05",
    )
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert f"skipped {folder / 'latin1.txt'}: not UTF-8 (byte 22)" in err
    listed = aws.session.client("s3").list_objects_v2(
        Bucket=aws.outputs["InputBucketName"], Prefix="mixed-1/"
    )
    assert [o["Key"] for o in listed["Contents"]] == ["mixed-1/small.txt"]


def test_ctrl_c_while_writing_a_batchs_results_says_how_to_get_them(
    aws, corpus, monkeypatch, capsys
):
    from cdk_kp.runtime.client import KeyPhrasesClient

    def interrupt(self: KeyPhrasesClient, shards: object) -> Iterator[object]:
        raise KeyboardInterrupt
        yield  # a generator, as the real one

    monkeypatch.setattr(KeyPhrasesClient, "batch_results", interrupt)
    code, _ = run_sharded(aws, completes_on_second_describe(aws), corpus, "corpus-5", 6)
    err = capsys.readouterr().err
    assert code == cli.INTERRUPTED
    # No --out: the results were going to standard output.
    assert "interrupted while writing results to standard output (they are incomplete)" in err
    assert re.search(r"cdk-kp results arn:aws:states:\S+:corpus-5 --out FILE", err)
