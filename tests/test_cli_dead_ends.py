"""`cdk-kp` where a run cannot go on: a batch name an execution already has is refused before
anything is uploaded, and an execution stopped from outside names every job it may have left
running, with the command that stops it. See tests/cli_support.py for the set-up.
"""

from __future__ import annotations

import io
import re
import threading
from typing import Any

import pytest

from cdk_kp.runtime import cli

from .cli_support import (
    Gate,
    input_objects,
    run_cli,
    run_sharded,
    spy_uploads,
    started_arn,
    stop_commands,
    wait_until_ended,
)
from .cli_support import aws as aws  # fixtures: see tests/cli_support.py
from .cli_support import corpus as corpus
from .cli_support import docs as docs
from .emulator import ComprehendScript, stopped_executions_stay_aborted, write_output


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
