"""`cdk-kp` writing key phrases: an `--out` that cannot be written is a command-line error,
results that cannot be written (or are interrupted) leave no partial file and say how to get
them, and an execution still running has none yet. See tests/cli_support.py for the set-up.
"""

from __future__ import annotations

import io
import shutil
from typing import Any

import pytest

from cdk_kp.runtime import cli

from .cli_support import aws as aws  # fixtures: see tests/cli_support.py
from .cli_support import docs as docs
from .cli_support import input_objects, run_cli, started_arn
from .emulator import ComprehendScript, write_output


def test_results_of_a_running_execution_are_not_ready(aws, capsys, monkeypatch):
    from cdk_kp.runtime.client import KeyPhrasesClient, Outcome

    monkeypatch.setattr(
        KeyPhrasesClient, "describe", lambda self, arn: Outcome(execution_arn=arn, status="RUNNING")
    )
    arn = "arn:aws:states:us-east-1:123456789012:execution:m:e"
    assert cli.main(["results", arn]) == cli.NOT_FINISHED
    assert f"cdk-kp status {arn} --wait" in capsys.readouterr().err


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
