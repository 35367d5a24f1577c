"""`cdk-kp` end to end against moto as a server on 127.0.0.1.

The bundled stack's template is deployed into the server; the command uploads, starts, waits and
writes results through the same boto3 calls it makes against AWS. The test plays Comprehend: it
decides the job's status and, on completion, writes a real-format output.tar.gz at the job's
output location (computing "key phrases" from the documents the command uploaded) and reports
its URI as Describe does.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template

from cdk_kp import cli
from cdk_kp.contract import INVALID_INPUT

from .harness import (
    ComprehendScript,
    LocalAws,
    ScriptedJob,
    local_aws,
    phrases_of,
    write_output,
)


@pytest.fixture(scope="module")
def aws(bundled_template: Template) -> Iterator[LocalAws]:
    with local_aws(bundled_template.to_json(), server=True) as local:
        local.make_deployed_executable(local.outputs["StateMachineArn"])
        local.make_deployed_executable(local.outputs["BatchStateMachineArn"])
        yield local


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "alpha.txt").write_text("Amazon Comprehend finds key phrases in Seattle.")
    (folder / "sub" / "beta.txt").write_text("The Space Needle stands in Seattle Center.")
    (folder / "gamma.txt").write_text("Nothing capitalized here except Python.")
    (folder / "latin.txt").write_bytes("Caf\u00e9 au lait".encode("latin-1"))
    (folder / "blank.txt").write_text("   \n")
    return folder


def run_cli(aws: LocalAws, script: ComprehendScript, *argv: str) -> tuple[int, str, str]:
    aws.reset(script)
    out = io.StringIO()
    code = cli.main(list(argv), stdout=out)
    return code, out.getvalue(), ""


def test_run_uploads_starts_waits_and_writes_every_documents_key_phrases(
    aws, docs, tmp_path, capsys
):
    results = tmp_path / "results.jsonl"
    script = ComprehendScript.completes_after(1800)
    script.on_complete = write_output(aws)
    code, _, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(docs),
        "--format",
        "ONE_DOC_PER_FILE",
        "--out",
        str(results),
        "--batch",
        "nightly-1",
        "--poll",
        "0.01",
    )
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert f"skipped {docs / 'latin.txt'}: not UTF-8" in err
    assert f"skipped {docs / 'blank.txt'}: empty" in err
    assert "uploaded 3 file(s)" in err
    assert "COMPLETED: job" in err
    records = [json.loads(line) for line in results.read_text().splitlines()]
    expected = {
        name: [p["Text"] for p in phrases_of((docs / name).read_text())]
        for name in ("alpha.txt", "sub/beta.txt", "gamma.txt")
    }
    assert {r["file"]: [p["text"] for p in r["key_phrases"]] for r in records} == expected
    (job,) = aws.script.jobs.values()
    assert job.request["InputDataConfig"]["S3Uri"].endswith("/nightly-1/")
    assert job.request["InputDataConfig"]["InputFormat"] == "ONE_DOC_PER_FILE"


def test_run_one_doc_per_line_to_csv(aws, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Alice met Bob.\nParis is in France.\n")
    results = tmp_path / "results.csv"
    script = ComprehendScript.completes_after(300)
    script.on_complete = write_output(aws)
    code, _, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(corpus),
        "--language",
        "fr",
        "--out",
        str(results),
        "--poll",
        "0.01",
    )
    assert code == cli.OK, capsys.readouterr().err
    rows = results.read_text().splitlines()
    assert rows[0] == "file,line,text,score,begin_offset,end_offset,error"
    assert rows[1:] == [
        "corpus.txt,0,Alice,0.99,0,5,",
        "corpus.txt,0,Bob,0.99,10,13,",
        "corpus.txt,1,Paris,0.99,0,5,",
        "corpus.txt,1,France,0.99,12,18,",
    ]
    assert not results.with_name("results.csv.partial").exists()
    (job,) = aws.script.jobs.values()
    assert job.request["LanguageCode"] == "fr"


def test_status_and_results_of_a_finished_execution(aws, docs, tmp_path, capsys):
    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    run_cli(
        aws, script, "run", "--stack", "KeyPhrasesStack", str(docs / "alpha.txt"), "--poll", "0.01"
    )
    arn = re.search(r"started (\S+)", capsys.readouterr().err)
    assert arn is not None
    assert cli.main(["status", arn.group(1)]) == cli.OK
    assert "COMPLETED" in capsys.readouterr().err
    out = io.StringIO()
    assert cli.main(["results", arn.group(1)], stdout=out) == cli.OK
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["file"] == "alpha.txt"


def test_a_failed_job_shows_comprehends_message(aws, docs, capsys):
    script = ComprehendScript(
        status=lambda job, t: (
            ("FAILED", "INTERNAL_ERROR: disk on fire") if t > 100 else "IN_PROGRESS"
        )
    )
    code, _, _ = run_cli(
        aws, script, "run", "--stack", "KeyPhrasesStack", str(docs), "--poll", "0.01"
    )
    err = capsys.readouterr().err
    assert code == cli.JOB_FAILED
    assert "KeyPhrasesJobFailed" in err
    assert "INTERNAL_ERROR: disk on fire" in err


def test_a_job_past_the_budget_times_out(aws, docs, capsys):
    code, _, _ = run_cli(
        aws, ComprehendScript(), "run", "--stack", "KeyPhrasesStack", str(docs), "--poll", "0.05"
    )
    assert code == cli.TIMED_OUT
    assert "KeyPhrasesJobTimedOut" in capsys.readouterr().err


def test_invalid_execution_input_has_its_own_exit_code(aws, capsys):
    aws.reset(ComprehendScript())
    arn = aws.sfn.start_execution(
        stateMachineArn=aws.outputs["StateMachineArn"], input=json.dumps({"languageCode": "tlh"})
    )["executionArn"]
    assert cli.main(["status", arn, "--wait", "--poll", "0.01"]) == cli.INVALID_INPUT
    assert INVALID_INPUT in capsys.readouterr().err


def test_nothing_uploadable_is_invalid_input(aws, docs, capsys):
    code, _, _ = run_cli(
        aws, ComprehendScript(), "run", "--stack", "KeyPhrasesStack", str(docs / "latin.txt")
    )
    assert code == cli.INVALID_INPUT
    assert "nothing to upload" in capsys.readouterr().err
    assert aws.script.start_attempts == 0


def test_a_missing_stack(aws, docs, capsys):
    assert cli.main(["run", "--stack", "NoSuchStack", str(docs)]) == cli.NOT_A_PIPELINE
    assert "no stack named 'NoSuchStack'" in capsys.readouterr().err


def test_a_stack_that_is_not_a_cdk_kp_stack(aws, docs, capsys):
    boto3.client("cloudformation").create_stack(
        StackName="SomethingElse",
        TemplateBody=json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}),
    )
    assert cli.main(["run", "--stack", "SomethingElse", str(docs)]) == cli.NOT_A_PIPELINE
    assert "is not a cdk_kp stack: it has no output InputBucketName" in capsys.readouterr().err


def test_no_credentials(monkeypatch, docs, tmp_path, capsys):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # never reached
    assert cli.main(["run", "--stack", "KeyPhrasesStack", str(docs)]) == cli.NO_CREDENTIALS
    assert "no usable AWS credentials or configuration" in capsys.readouterr().err


def test_ctrl_c_leaves_the_execution_running_and_says_how_to_resume(aws, docs, monkeypatch, capsys):
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr("cdk_kp.client.KeyPhrasesClient.wait", interrupted)
    code, _, _ = run_cli(aws, ComprehendScript(), "run", "--stack", "KeyPhrasesStack", str(docs))
    err = capsys.readouterr().err
    assert code == cli.INTERRUPTED
    arn = re.search(r"cdk-kp status (\S+) --wait", err)
    assert arn is not None
    assert "the execution keeps running" in err
    history = aws.sfn.get_execution_history(executionArn=arn.group(1))["events"]
    assert not [e for e in history if e["type"] == "ExecutionAborted"]
    # The execution was left running on purpose; end it so it cannot act in the next test.
    aws.sfn.stop_execution(executionArn=arn.group(1))
    while aws.sfn.describe_execution(executionArn=arn.group(1))["status"] == "RUNNING":
        time.sleep(0.01)


@pytest.mark.parametrize("command", [[], ["run"], ["status"], ["results"]])
def test_help_reads_well(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "usage: cdk-kp" in text
    assert "exit codes:" in text


def test_files_that_would_share_a_key_are_refused_before_any_upload(aws, tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("Alpha")
    (tmp_path / "b" / "x.txt").write_text("Beta")
    code, _, _ = run_cli(
        aws,
        ComprehendScript(),
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(tmp_path / "a" / "x.txt"),
        str(tmp_path / "b" / "x.txt"),
    )
    assert code == cli.INVALID_INPUT
    assert "would be uploaded to the same key" in capsys.readouterr().err
    assert aws.script.start_attempts == 0


@pytest.mark.parametrize("batch", ["run(2)", "a/b", "x" * 81, "has space"])
def test_a_batch_name_outside_both_alphabets_is_refused(aws, docs, batch, capsys):
    code, _, _ = run_cli(
        aws, ComprehendScript(), "run", "--stack", "KeyPhrasesStack", str(docs), "--batch", batch
    )
    assert code == cli.INVALID_INPUT
    assert "batch must be 1 to 80 letters, digits" in capsys.readouterr().err


def test_reusing_a_batch_name_is_refused_by_aws_with_its_message(aws, docs, capsys):
    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    args = (
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(docs / "alpha.txt"),
        "--batch",
        "again",
        "--poll",
        "0.01",
    )
    assert run_cli(aws, script, *args)[0] == cli.OK
    code, _, _ = run_cli(aws, ComprehendScript(), *args)
    assert code == cli.AWS_REFUSED
    assert "ExecutionAlreadyExists" in capsys.readouterr().err


def test_results_of_a_running_execution_are_not_ready(aws, capsys, monkeypatch):
    from cdk_kp.client import KeyPhrasesClient, Outcome

    monkeypatch.setattr(
        KeyPhrasesClient, "describe", lambda self, arn: Outcome(execution_arn=arn, status="RUNNING")
    )
    arn = "arn:aws:states:us-east-1:123456789012:execution:m:e"
    assert cli.main(["results", arn]) == cli.NOT_FINISHED
    assert f"cdk-kp status {arn} --wait" in capsys.readouterr().err


def test_no_region_is_a_configuration_error(monkeypatch, docs, tmp_path, capsys):
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert cli.main(["run", "--stack", "KeyPhrasesStack", str(docs)]) == cli.NO_CREDENTIALS
    assert "You must specify a region" in capsys.readouterr().err


def test_status_uses_the_region_of_the_arn(monkeypatch):
    from cdk_kp.client import KeyPhrasesClient

    client = KeyPhrasesClient.for_execution("arn:aws:states:eu-west-3:123456789012:execution:m:e")
    assert client.session.region_name == "eu-west-3"
    with pytest.raises(Exception, match="not a Step Functions execution ARN"):
        KeyPhrasesClient.for_execution("arn:aws:s3:::bucket")


def test_interrupted_while_writing_leaves_no_partial_file(aws, docs, tmp_path, monkeypatch, capsys):
    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    out = tmp_path / "results.jsonl"

    def records_then_interrupt(self, outcome):
        yield from original(self, outcome)
        raise KeyboardInterrupt

    from cdk_kp.client import KeyPhrasesClient

    original = KeyPhrasesClient.results
    monkeypatch.setattr(KeyPhrasesClient, "results", records_then_interrupt)
    code, _, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(docs),
        "--out",
        str(out),
        "--poll",
        "0.01",
    )
    err = capsys.readouterr().err
    assert code == cli.INTERRUPTED
    assert "interrupted while writing results (nothing was written)" in err
    assert "cdk-kp results " in err
    assert not out.exists()
    assert not out.with_name("results.jsonl.partial").exists()


# -- batches -----------------------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Seven files of three documents (lines) each."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for number in range(7):
        lines = [f"Report {number} line {line} names Berlin and Paris." for line in range(3)]
        (folder / f"report-{number}.txt").write_text("\n".join(lines) + "\n")
    return folder


def run_sharded(
    aws: LocalAws, script: ComprehendScript, paths: Path, batch: str, documents: int, *extra: str
) -> tuple[int, str]:
    """`cdk-kp run` of ``paths`` on the bundled stack, in shards of at most ``documents``
    documents, as batch ``batch``: the exit code and stdout."""
    code, out, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(paths),
        "--max-shard-documents",
        str(documents),
        "--batch",
        batch,
        "--poll",
        "0.05",
        *extra,
    )
    return code, out


def completes_on_second_describe(aws: LocalAws) -> ComprehendScript:
    script = ComprehendScript(
        status=lambda job, elapsed: "COMPLETED" if job.describe_calls >= 2 else "IN_PROGRESS"
    )
    script.on_complete = write_output(aws)
    return script


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


def test_shard_limits_outside_one_job_are_refused_before_any_upload(aws, corpus, capsys):
    code, _, _ = run_cli(
        aws,
        ComprehendScript(),
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(corpus),
        "--max-shard-documents",
        "1000001",
    )
    assert code == cli.INVALID_INPUT
    assert "max_shard_documents must be from 1 to 1,000,000 (one job's input); got 1,000,001" in (
        capsys.readouterr().err
    )
    assert aws.script.jobs == {}


def test_a_corpus_needing_shards_on_a_stack_without_a_batch_is_refused_before_upload(
    aws, corpus, monkeypatch, capsys
):
    from cdk_kp.client import KeyPhrasesClient

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
    (folder / "big.txt").write_text("Paris is in France.\n" * 60)
    script = completes_on_second_describe(aws)
    code, _, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(folder),
        "--max-shard-bytes",
        "700",
        "--batch",
        "mixed-1",
        "--poll",
        "0.05",
    )
    err = capsys.readouterr().err
    assert code == cli.OK, err
    assert f"skipped {folder / 'big.txt'}: 1,200 bytes, over the 700-byte limit of one job" in err
    listed = aws.session.client("s3").list_objects_v2(
        Bucket=aws.outputs["InputBucketName"], Prefix="mixed-1/"
    )
    assert [o["Key"] for o in listed["Contents"]] == ["mixed-1/small.txt"]


def test_ctrl_c_while_writing_a_batchs_results_says_how_to_get_them(
    aws, corpus, monkeypatch, capsys
):
    from cdk_kp.client import KeyPhrasesClient

    def interrupt(self: KeyPhrasesClient, shards: object) -> Iterator[object]:
        raise KeyboardInterrupt
        yield  # a generator, as the real one

    monkeypatch.setattr(KeyPhrasesClient, "batch_results", interrupt)
    code, _ = run_sharded(aws, completes_on_second_describe(aws), corpus, "corpus-5", 6)
    err = capsys.readouterr().err
    assert code == cli.INTERRUPTED
    assert "interrupted while writing results (nothing was written)" in err
    assert re.search(r"cdk-kp results arn:aws:states:\S+:corpus-5 --out FILE", err)
