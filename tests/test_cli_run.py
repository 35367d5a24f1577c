"""`cdk-kp` end to end, one job at a time: `run` uploads, starts, waits and writes the key
phrases; `status` and `results` follow an execution; and what ends a run before it starts (no
stack, no credentials, nothing uploadable). See tests/cli_support.py for the set-up.
"""

from __future__ import annotations

import io
import json
import re
import time
from typing import Any

import boto3
import pytest

from cdk_kp.contract import INVALID_INPUT
from cdk_kp.runtime import cli

from .cli_support import aws as aws  # fixtures: see tests/cli_support.py
from .cli_support import docs as docs
from .cli_support import run_cli
from .emulator import ComprehendScript, phrases_of, write_output


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
    # Three tiny files: AWS would refuse a job that small; the emulator runs it.
    assert "warning: shard-00000 holds " in err
    assert "under the 500 bytes a Comprehend job needs: its job will fail" in err
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
    # moto can only stop an execution once its interpreter has begun (its first event).
    while not aws.sfn.get_execution_history(executionArn=arn.group(1))["events"]:
        time.sleep(0.01)
    aws.sfn.stop_execution(executionArn=arn.group(1))
    while aws.sfn.describe_execution(executionArn=arn.group(1))["status"] == "RUNNING":
        time.sleep(0.01)


@pytest.mark.parametrize("command", [[], ["run"], ["plan"], ["status"], ["results"]])
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
