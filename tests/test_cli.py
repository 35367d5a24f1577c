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
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk.assertions import Template

from cdk_kp.contract import INVALID_INPUT
from cdk_kp.runtime import cli

from .emulator import (
    ComprehendScript,
    LocalAws,
    ScriptedJob,
    local_aws,
    phrases_of,
    stopped_executions_stay_aborted,
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


def input_objects(aws: LocalAws) -> dict[str, str]:
    """Every object of the input bucket, by key, with its ETag."""
    s3 = aws.session.client("s3")
    found: dict[str, str] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.outputs["InputBucketName"])
    for page in pages:
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def spy_uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the key of every file the client uploads from now on."""
    from cdk_kp.runtime.client import KeyPhrasesClient

    uploads: list[str] = []
    original = KeyPhrasesClient._put_file

    def put_file(self: KeyPhrasesClient, path: Path, key: str) -> None:
        uploads.append(key)
        original(self, path, key)

    monkeypatch.setattr(KeyPhrasesClient, "_put_file", put_file)
    return uploads


def started_arn(err: str) -> str:
    """The execution ARN `cdk-kp run` reported starting."""
    found = re.search(r"^started (?:batch )?(arn:\S+)$", err, re.M)
    assert found is not None, err
    return found.group(1)


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


def test_a_missing_stack_names_the_region_and_account_searched(aws, docs, capsys):
    assert cli.main(["run", "--stack", "NoSuchStack", str(docs)]) == cli.NOT_A_PIPELINE
    assert (
        "no stack named 'NoSuchStack' in Region us-east-1 of account 123456789012 (the Region "
        "and account come from your AWS configuration"
    ) in capsys.readouterr().err


def test_a_stack_in_another_region_is_not_found_there_and_the_region_is_named(
    aws, docs, monkeypatch, capsys
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert cli.main(["run", "--stack", "KeyPhrasesStack", str(docs)]) == cli.NOT_A_PIPELINE
    err = capsys.readouterr().err
    assert "no stack named 'KeyPhrasesStack' in Region eu-west-3 of account 123456789012" in err
    assert "Traceback" not in err


def test_without_the_account_the_region_is_still_named(aws, docs, monkeypatch, capsys):
    # STS alone is unreachable (a closed port; one attempt): GetCallerIdentity fails.
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert cli.main(["run", "--stack", "KeyPhrasesStack", str(docs)]) == cli.NOT_A_PIPELINE
    err = capsys.readouterr().err
    assert "no stack named 'KeyPhrasesStack' in Region eu-west-3 (the Region and account" in err
    assert "account 1" not in err


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

    monkeypatch.setattr("cdk_kp.runtime.client.KeyPhrasesClient.wait", interrupted)
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
def test_a_batch_name_outside_both_alphabets_is_a_command_line_error(aws, docs, batch, capsys):
    aws.reset(ComprehendScript())
    before = input_objects(aws)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--stack", "KeyPhrasesStack", str(docs), "--batch", batch])
    assert exit_.value.code == cli.USAGE
    err = capsys.readouterr().err
    assert "argument --batch: batch must be 1 to 80 letters, digits, '-' or '_'" in err
    assert repr(batch) in err
    assert input_objects(aws) == before
    assert aws.script.start_attempts == 0


def test_reusing_an_ended_batch_name_is_refused_before_anything_is_uploaded(
    aws, docs, monkeypatch, capsys
):
    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    args = ("run", "--stack", "KeyPhrasesStack", "--batch", "again", "--poll", "0.01")
    assert run_cli(aws, script, *args, str(docs / "alpha.txt"))[0] == cli.OK
    arn = started_arn(capsys.readouterr().err)
    before = input_objects(aws)
    uploads = spy_uploads(monkeypatch)
    (docs / "alpha.txt").write_text("Changed since the first run, in Lisbon.")
    code, _, _ = run_cli(aws, ComprehendScript(), *args, str(docs))
    err = capsys.readouterr().err
    assert code == cli.AWS_REFUSED
    assert (
        f"--batch again is taken: execution {arn} ended SUCCEEDED (an execution name cannot "
        f"be used again); its results: cdk-kp results {arn} --out FILE"
    ) in err
    assert "nothing was uploaded; run again with another --batch" in err
    assert uploads == []
    assert input_objects(aws) == before
    assert aws.script.start_attempts == 0


def test_results_of_a_running_execution_are_not_ready(aws, capsys, monkeypatch):
    from cdk_kp.runtime.client import KeyPhrasesClient, Outcome

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
    from cdk_kp.runtime.client import KeyPhrasesClient

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

    from cdk_kp.runtime.client import KeyPhrasesClient

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


# -- dead ends: --out, a batch name in use, a stopped execution ----------------------------------


class Gate:
    """A Comprehend whose Describe blocks until the test opens the gate, then reports ``then``.

    An execution polling its job stays RUNNING, inside its DescribeJob task, for as long as the
    test keeps the gate shut: interleavings are driven by the test, not by timing. ``entered``
    is set once ``jobs`` different jobs have been described (each of them exists by then).
    """

    def __init__(self, aws: LocalAws, *, jobs: int = 1, then: str = "IN_PROGRESS") -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.jobs = jobs
        self.then = then
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.script = ComprehendScript(status=self._status)
        self.script.on_complete = write_output(aws)

    def _status(self, job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        with self._lock:
            self._seen.add(job.job_id)
            if len(self._seen) >= self.jobs:
                self.entered.set()
        if not self.opened.wait(timeout=60):
            # A safety net only (a test opens the gate itself): end the job, and with it the
            # execution, so that a test gone wrong fails instead of hanging.
            return ("FAILED", "the test never opened the gate")
        return self.then

    def wait_entered(self) -> None:
        assert self.entered.wait(timeout=30), f"{self.jobs} job(s) never described"

    def open(self, then: str) -> None:
        self.then = then
        self.opened.set()


def wait_until_ended(aws: LocalAws, arn: str) -> str:
    """Wait (in real time, bounded) for an execution the test let go to end; its status."""
    deadline = time.monotonic() + 30
    while True:
        status: str = aws.sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            return status
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.01)


@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
@pytest.mark.parametrize("command", ["run", "results"])
def test_an_out_that_cannot_be_written_is_a_command_line_error_before_anything_runs(
    aws, docs, tmp_path, where, command, monkeypatch, capsys
):
    from cdk_kp.runtime.client import KeyPhrasesClient

    if where == "missing-folder":
        out = tmp_path / "no-such-folder" / "results.jsonl"
        problem = f"argument --out: {out}: folder {out.parent} does not exist (create it first)"
    else:
        out = tmp_path / "existing"
        out.mkdir()
        problem = f"argument --out: {out} is a folder; give a file name in it"

    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command line is checked before any AWS call")

    monkeypatch.setattr(KeyPhrasesClient, "from_stack", no_aws)
    monkeypatch.setattr(KeyPhrasesClient, "for_execution", no_aws)
    aws.reset(ComprehendScript())
    before = input_objects(aws)
    if command == "run":
        argv = ["run", "--stack", "KeyPhrasesStack", str(docs), "--out", str(out)]
    else:
        argv = ["results", "arn:aws:states:us-east-1:123456789012:execution:m:e", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == cli.USAGE
    err = capsys.readouterr().err
    assert problem in err
    assert "Traceback" not in err
    assert input_objects(aws) == before
    assert aws.script.start_attempts == 0
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.parametrize("mishap", ["out-became-a-folder", "folder-removed"])
def test_results_that_cannot_be_written_say_so_and_leave_no_partial_file(
    aws, docs, tmp_path, mishap, monkeypatch, capsys
):
    from cdk_kp.runtime.client import KeyPhrasesClient

    folder = tmp_path / "results"
    folder.mkdir()
    out = folder / "results.jsonl"
    original = KeyPhrasesClient.wait

    def wait_then_mishap(self: KeyPhrasesClient, arn: str, **kwargs: Any) -> Any:
        outcome = original(self, arn, **kwargs)
        # Between the check at start-up and the writing: what a long job gives time for.
        if mishap == "out-became-a-folder":
            out.mkdir()
        else:
            shutil.rmtree(folder)
        return outcome

    monkeypatch.setattr(KeyPhrasesClient, "wait", wait_then_mishap)
    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    code, _, _ = run_cli(
        aws, script, "run", "--stack", "KeyPhrasesStack", str(docs), "--out", str(out), "--poll",
        "0.01",
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == cli.NOT_WRITTEN, err
    reason = "Is a directory" if mishap == "out-became-a-folder" else "No such file or directory"
    assert f"cannot write the results to {out}: {reason}; nothing was written" in err
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("*.partial"))
    arn = started_arn(err)
    assert f"the results stay in S3; write them with:\n  cdk-kp results {arn} --out FILE" in err
    # ... and they do.
    monkeypatch.undo()
    elsewhere = tmp_path / "again.jsonl"
    assert cli.main(["results", arn, "--out", str(elsewhere)]) == cli.OK
    assert len(elsewhere.read_text().splitlines()) == 3


def test_a_broken_standard_output_is_reported_with_its_own_exit_code(aws, docs, capsys):
    class BrokenPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    aws.reset(script)
    argv = ["run", "--stack", "KeyPhrasesStack", str(docs / "alpha.txt"), "--poll", "0.01"]
    assert cli.main(argv, stdout=BrokenPipe()) == cli.NOT_WRITTEN
    err = capsys.readouterr().err
    assert "cannot write the results to standard output: Broken pipe; the output is incomplete" in (
        err
    )
    assert "Traceback" not in err


def test_the_same_batch_while_it_runs_is_refused_before_anything_is_uploaded(
    aws, docs, tmp_path, monkeypatch, capsys
):
    from cdk_kp.runtime.client import KeyPhrasesClient

    gate = Gate(aws)
    aws.reset(gate.script)
    argv = ["run", "--stack", "KeyPhrasesStack", "--batch", "busy", "--poll", "0.01"]

    def leave_it_running(self: KeyPhrasesClient, arn: str, **kwargs: Any) -> Any:
        gate.wait_entered()  # its job exists, and the execution is polling it
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(KeyPhrasesClient, "wait", leave_it_running)
        assert cli.main([*argv, str(docs / "alpha.txt")]) == cli.INTERRUPTED
    arn = started_arn(capsys.readouterr().err)
    assert aws.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    before = input_objects(aws)
    uploads = spy_uploads(monkeypatch)
    (docs / "alpha.txt").write_text("A second run's text about Oslo.")
    try:
        # Not run_cli: the first execution is still playing against the gate's script.
        code = cli.main([*argv, str(docs)], stdout=io.StringIO())
        err = capsys.readouterr().err
        assert code == cli.AWS_REFUSED, err
        assert (
            f"--batch busy is taken: execution {arn} is RUNNING; follow it with: "
            f"cdk-kp status {arn} --wait"
        ) in err
        assert "nothing was uploaded" in err
        assert uploads == []
        assert input_objects(aws) == before
        assert aws.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
        assert len(aws.script.jobs) == 1
    finally:
        gate.open("COMPLETED")
    assert wait_until_ended(aws, arn) == "SUCCEEDED"


def test_the_same_batch_name_while_a_batch_runs_is_refused_before_anything_is_uploaded(
    aws, corpus, tmp_path, monkeypatch, capsys
):
    from cdk_kp.runtime.client import KeyPhrasesClient

    gate = Gate(aws)
    aws.reset(gate.script)
    argv = ["run", "--stack", "KeyPhrasesStack", "--max-shard-documents", "6", "--batch"]

    def leave_it_running(self: KeyPhrasesClient, arn: str, *args: Any, **kwargs: Any) -> Any:
        gate.wait_entered()
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(KeyPhrasesClient, "wait_batch", leave_it_running)
        assert cli.main([*argv, "busy-batch", str(corpus)]) == cli.INTERRUPTED
    arn = started_arn(capsys.readouterr().err)
    before = input_objects(aws)
    uploads = spy_uploads(monkeypatch)
    (corpus / "report-0.txt").write_text("Changed: Madrid and Rome.\n" * 3)
    try:
        code = cli.main([*argv, "busy-batch", str(corpus)], stdout=io.StringIO())
        err = capsys.readouterr().err
        assert code == cli.AWS_REFUSED, err
        assert f"--batch busy-batch is taken: execution {arn} is RUNNING" in err
        assert ":execution:KeyPhrasesStack-BatchStateMachine" in arn
        assert uploads == []
        assert input_objects(aws) == before
    finally:
        gate.open("COMPLETED")
    assert wait_until_ended(aws, arn) == "SUCCEEDED"
    aws.wait_for_child_executions()


def test_a_name_the_other_state_machine_used_is_refused_too(aws, docs, corpus, monkeypatch, capsys):
    # Both name their executions after the batch and read <batch>/: a batch named like an
    # earlier single job would upload its shards where that job read its documents.
    script = ComprehendScript.completes_after(60)
    script.on_complete = write_output(aws)
    single = ["run", "--stack", "KeyPhrasesStack", str(docs / "alpha.txt"), "--batch", "shared"]
    assert run_cli(aws, script, *single, "--poll", "0.01")[0] == cli.OK
    arn = started_arn(capsys.readouterr().err)
    before = input_objects(aws)
    uploads = spy_uploads(monkeypatch)
    code, _ = run_sharded(aws, ComprehendScript(), corpus, "shared", 6)
    err = capsys.readouterr().err
    assert code == cli.AWS_REFUSED
    assert f"--batch shared is taken: execution {arn} ended SUCCEEDED" in err
    assert ":execution:KeyPhrasesStack-PipelineStateMachine" in arn
    assert uploads == []
    assert input_objects(aws) == before
    assert aws.script.start_attempts == 0


def stop_commands(err: str) -> dict[str, str]:
    """The stop commands printed: job ID -> Region."""
    return dict(
        re.findall(
            r"^  aws comprehend stop-key-phrases-detection-job --job-id (\S+) --region (\S+)$",
            err,
            re.M,
        )
    )


def test_a_stopped_execution_names_its_running_job_and_how_to_stop_it(
    aws, docs, monkeypatch, capsys
):
    gate = Gate(aws)
    original = cli.Display.progress

    def stop_it_once_its_job_runs(self: cli.Display, progress: Any) -> None:
        if not gate.opened.is_set():
            gate.wait_entered()
            aws.sfn.stop_execution(executionArn=progress.execution_arn)  # as stop-execution does
            gate.open("IN_PROGRESS")  # the job goes on: nothing stops it
        original(self, progress)

    monkeypatch.setattr(cli.Display, "progress", stop_it_once_its_job_runs)
    code, out, _ = run_cli(
        aws, gate.script, "run", "--stack", "KeyPhrasesStack", str(docs), "--poll", "0.01"
    )
    err = capsys.readouterr().err
    assert code == cli.JOB_FAILED, err
    (job_id,) = aws.script.jobs
    arn = started_arn(err)
    expected = [
        f"ABORTED: execution {arn} was stopped",
        f"Comprehend job {job_id} may still be running (IN_PROGRESS); stopping an execution "
        "does not stop its job. Stop it with:",
        f"  aws comprehend stop-key-phrases-detection-job --job-id {job_id} --region us-east-1",
    ]
    assert "\n".join(expected) in err
    assert "None" not in err
    assert out == ""
    monkeypatch.undo()
    for command in (["status", arn], ["status", arn, "--wait"], ["results", arn]):
        results = io.StringIO()
        assert cli.main(command, stdout=results) == cli.JOB_FAILED, command
        assert "\n".join(expected) in capsys.readouterr().err, command
        assert results.getvalue() == ""
    # A job whose status cannot be read may be running: it is named, with its stop command.
    aws.script.fail_describe.append("AccessDeniedException")
    assert cli.main(["status", arn]) == cli.JOB_FAILED
    unreadable = capsys.readouterr().err
    assert (
        f"Comprehend job {job_id} may still be running (its status could not be read: An "
        "error occurred (AccessDeniedException)"
    ) in unreadable
    assert stop_commands(unreadable) == {job_id: "us-east-1"}
    # The command printed stops that job.
    ((printed_id, region),) = stop_commands(err).items()
    aws.session.client("comprehend", region_name=region).stop_key_phrases_detection_job(
        JobId=printed_id
    )
    assert cli.main(["status", arn]) == cli.JOB_FAILED
    err = capsys.readouterr().err
    assert f"Comprehend job {job_id} is being stopped (STOP_REQUESTED): nothing to stop" in err
    assert stop_commands(err) == {}


@pytest.mark.parametrize("start_creates_the_job", [False, True])
def test_an_execution_stopped_while_starting_its_job(
    aws, docs, start_creates_the_job, monkeypatch, capsys
):
    """Stopped while StartKeyPhrasesDetectionJob was in flight: its result is never recorded.
    The call fails here; when it had created the job all the same (as a call that times out
    can), the job is found by its name and output location."""
    from moto.comprehend.models import ComprehendBackend
    from moto.core.exceptions import JsonRESTError

    started = threading.Event()
    go_on = threading.Event()
    harness_start = ComprehendBackend.start_key_phrases_detection_job

    def start(backend: ComprehendBackend, **kwargs: Any) -> Any:
        started.set()
        go_on.wait(timeout=60)
        if start_creates_the_job:
            harness_start(backend, **kwargs)
        raise JsonRESTError("InvalidRequestException", "the call failed after the stop")

    def stop_it_while_it_starts(self: cli.Display, progress: Any) -> None:
        if not go_on.is_set():
            assert started.wait(timeout=30)
            aws.sfn.stop_execution(executionArn=progress.execution_arn)
            go_on.set()

    monkeypatch.setattr(ComprehendBackend, "start_key_phrases_detection_job", start)
    monkeypatch.setattr(cli.Display, "progress", stop_it_while_it_starts)
    with stopped_executions_stay_aborted():  # moto would turn the failed call into FAILED
        code, _, _ = run_cli(
            aws,
            ComprehendScript(),
            "run",
            "--stack",
            "KeyPhrasesStack",
            str(docs),
            "--poll",
            "0.01",
        )
    err = capsys.readouterr().err
    assert code == cli.JOB_FAILED, err
    arn = started_arn(err)
    assert f"ABORTED: execution {arn} was stopped" in err
    if start_creates_the_job:
        (job_id,) = aws.script.jobs
        assert f"Comprehend job {job_id} may still be running (SUBMITTED)" in err
        assert stop_commands(err) == {job_id: "us-east-1"}
        aws.session.client("comprehend").stop_key_phrases_detection_job(JobId=job_id)
    else:
        assert aws.script.jobs == {}
        assert "the execution started no Comprehend job: nothing to stop" in err
        assert stop_commands(err) == {}


def test_a_stopped_batch_names_every_job_still_running(aws, corpus, monkeypatch, capsys):
    gate = Gate(aws, jobs=4)
    original = cli.Display.batch

    def stop_it_once_every_shard_runs(self: cli.Display, progress: Any) -> None:
        if not gate.entered.is_set():
            gate.wait_entered()
            aws.sfn.stop_execution(executionArn=progress.execution_arn)
        original(self, progress)

    monkeypatch.setattr(cli.Display, "batch", stop_it_once_every_shard_runs)
    try:
        with stopped_executions_stay_aborted():  # moto: the stopped Map's shards fail it
            code, out = run_sharded(aws, gate.script, corpus, "stopped-batch", 6)
        err = capsys.readouterr().err
        assert code == cli.JOB_FAILED, err
        arn = started_arn(err)
        assert f"ABORTED: execution {arn} was stopped" in err
        assert len(aws.script.jobs) == 4
        assert re.search(
            r"^the batch started 4 Comprehend job\(s\), named key-phrases-batch-\w{64}; "
            r"4 may still be running$",
            err,
            re.M,
        )
        for job_id in aws.script.jobs:
            # The gate holds every job before its first status: still as Start left it.
            assert f"Comprehend job {job_id} may still be running (SUBMITTED)" in err
        assert stop_commands(err) == dict.fromkeys(aws.script.jobs, "us-east-1")
        assert out == ""
        monkeypatch.undo()
        assert cli.main(["status", arn]) == cli.JOB_FAILED
        assert stop_commands(capsys.readouterr().err) == dict.fromkeys(aws.script.jobs, "us-east-1")
    finally:
        gate.open("COMPLETED")
    aws.wait_for_child_executions()
    # Once the jobs have ended, there is nothing to stop.
    assert cli.main(["status", arn]) == cli.JOB_FAILED
    err = capsys.readouterr().err
    assert re.search(
        r"named key-phrases-batch-\w{64}; 0 may still be running: nothing to stop", err
    )
    assert stop_commands(err) == {}
    # Jobs that cannot be listed may be running: the command says so, and how to list them.
    aws.script.fail_list.append("AccessDeniedException")
    assert cli.main(["status", arn]) == cli.JOB_FAILED
    err = capsys.readouterr().err
    assert (
        "its Comprehend jobs could not be looked up (An error occurred (AccessDeniedException)"
        in (err)
    )
    assert "  aws comprehend list-key-phrases-detection-jobs --region us-east-1" in err
