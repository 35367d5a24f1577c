"""`cdk-kp`'s contract with its users, without AWS: the exit codes the module defines and
`--help` shows are the same (tests/test_readme.py holds docs/cli-and-client.md's table to them);
command-line errors exit 2 before any AWS call; `--version`; and a Ctrl-C during start-up (the
SDK's import, argument parsing, the stack lookup) ends the command with one line and exit 130,
never a traceback."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest

from cdk_kp.runtime import cli

from .conftest import ROOT


def normalized(text: str) -> str:
    """Text as a reader sees it: no Markdown code marks, single spaces."""
    return " ".join(text.replace("`", "").split())


def help_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[int, str]:
    """The exit codes as `cdk-kp [COMMAND] --help` prints them (an entry may wrap)."""
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    found: dict[int, str] = {}
    code: int | None = None
    for line in text.split("exit codes:", 1)[1].splitlines():
        entry = re.match(r"^  (\d+)\s+(.*)$", line)
        if entry:
            code = int(entry.group(1))
            assert code not in found, f"code {code} shown twice"
            found[code] = entry.group(2)
        elif line.strip():
            assert code is not None, line
            assert line.startswith(" " * 7), line
            found[code] += " " + line.strip()
    return {code: normalized(meaning) for code, meaning in found.items()}


def defined_exit_codes() -> dict[str, int]:
    """The exit-code constants of cdk_kp.runtime.cli (upper-case module-level integers)."""
    return {
        name: value
        for name, value in vars(cli).items()
        if name.isupper() and isinstance(value, int) and not isinstance(value, bool)
    }


@pytest.mark.parametrize("command", [[], ["run"], ["status"], ["results"]])
def test_help_shows_every_exit_code_the_command_defines_with_its_meaning(command, capsys):
    shown = help_exit_codes(command, capsys)
    assert sorted(shown) == sorted(set(defined_exit_codes().values()))
    assert shown == {code: normalized(meaning) for code, meaning in cli.EXIT_CODES.items()}


def test_every_exit_code_is_one_kind_of_ending():
    codes = defined_exit_codes()
    assert len(set(codes.values())) == len(codes), codes
    assert codes["USAGE"] == 2  # argparse's own exit code for a command-line error


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"cdk-kp {version('cdk_kp')}\n"


# -- command-line errors: exit 2, naming the argument and value, before any AWS call ---------

ARN = "arn:aws:states:us-east-1:123456789012:execution:machine:name"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "--stack", "S", "docs", "--batch", "run(2)"],
            "argument --batch: batch must be 1 to 80 letters, digits, '-' or '_' (it names the "
            "execution and the job); got 'run(2)'",
        ),
        (
            ["run", "--stack", "S", "docs", "--batch", ""],
            "argument --batch: batch must be 1 to 80",
        ),
        (
            ["status", "arn:aws:s3:::bucket"],
            "argument EXECUTION_ARN: not a Step Functions execution ARN (arn:<partition>:states:"
            "<region>:<account>:execution:<state machine>:<name>): 'arn:aws:s3:::bucket'",
        ),
        (
            ["results", ARN.replace(":us-east-1:", "::")],
            "argument EXECUTION_ARN: not a Step Functions execution ARN",
        ),
        (
            ["status", ARN.replace(":execution:", ":stateMachine:")],
            "argument EXECUTION_ARN: not a Step Functions execution ARN",
        ),
        (
            ["run", "--stack", "S", "docs", "--max-shard-documents", "0"],
            "argument --max-shard-documents: max_shard_documents must be from 1 to 1,000,000 "
            "(one job's input); got 0",
        ),
        (
            ["run", "--stack", "S", "docs", "--max-shard-bytes", "499"],
            "argument --max-shard-bytes: max_shard_bytes must be from 500 to 5,000,000,000",
        ),
        (
            ["run", "--stack", "S", "docs", "--max-shard-bytes", "5GB"],
            "argument --max-shard-bytes: expected a whole number; got '5GB'",
        ),
        (
            ["run", "--stack", "S", "docs", "--poll", "-1"],
            "argument --poll: must be a number of seconds above 0; got '-1'",
        ),
        (
            ["status", ARN, "--poll", "nan"],
            "argument --poll: must be a number of seconds above 0; got 'nan'",
        ),
        (
            ["run", "--stack", "S", "docs", "--language", "tlh"],
            "argument --language: invalid choice: 'tlh'",
        ),
        (
            ["run", "--stack", "S", "docs", "--format", "ONE_DOC_PER_PAGE"],
            "argument --format: invalid choice: 'ONE_DOC_PER_PAGE'",
        ),
        (
            ["plan", "s3:///reports/", "--format", "ONE_DOC_PER_LINE"],
            "argument PATH: not an s3://bucket/prefix URI: 's3:///reports/'",
        ),
    ],
    ids=[
        "batch-alphabet",
        "batch-empty",
        "arn-service",
        "arn-region",
        "arn-resource",
        "shard-documents",
        "shard-bytes",
        "shard-bytes-number",
        "poll-negative",
        "poll-nan",
        "language",
        "format",
        "s3-uri-without-bucket",
    ],
)
def test_command_line_errors_exit_2_before_any_aws_call(argv, message, monkeypatch, capsys):
    from cdk_kp.runtime.client import KeyPhrasesClient

    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command line is checked before any AWS call")

    monkeypatch.setattr(KeyPhrasesClient, "from_stack", no_aws)
    monkeypatch.setattr(KeyPhrasesClient, "for_execution", no_aws)
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == cli.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


# -- Ctrl-C during start-up ------------------------------------------------------------------


def test_importing_the_command_loads_no_aws_sdk():
    """The console script imports cdk_kp.runtime.cli outside main(): nothing heavy may load
    there."""
    probe = (
        "import sys, cdk_kp.runtime.cli; "
        "print(sorted(m for m in sys.modules if m.startswith('boto')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]"


#: Runs ``cdk-kp`` with the arguments given, then says on its last line of stderr how it exited
#: and which modules of the AWS SDK it had loaded.
RUN_AND_LIST_SDK = textwrap.dedent(
    """
    import sys
    from cdk_kp.runtime import cli

    try:
        code = cli.main(sys.argv[1:])
    except SystemExit as exit_:
        code = exit_.code
    loaded = sorted(m for m in sys.modules if m.startswith("boto"))
    sys.stderr.write(f"\\nexit {code}; loaded {loaded}\\n")
    """
)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["run", "--help"], 0),
        (["run", "--stack", "S", "docs", "--batch", "run(2)"], 2),
        (["status", "arn:aws:s3:::bucket"], 2),
        (["run", "--stack", "S", "docs", "--max-shard-bytes", "499"], 2),
        (["run", "--stack", "S", "docs", "--out", "no-such-folder/results.jsonl"], 2),
    ],
    ids=["help", "run-help", "batch", "execution-arn", "shard-bytes", "out"],
)
def test_help_and_command_line_errors_load_no_aws_sdk(argv, code, tmp_path):
    ended = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_SDK, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert ended.stderr.splitlines()[-1] == f"exit {code}; loaded []", ended.stderr


#: Runs the installed console script (``cdk-kp``) as pip wrote it, after installing an import
#: hook that raises KeyboardInterrupt when ``sys.argv[1]`` is first imported: what a Ctrl-C
#: while that module loads does.
INTERRUPT_AT_IMPORT = textwrap.dedent(
    """
    import runpy, sys

    target = sys.argv.pop(1)

    class CtrlC:
        def find_spec(self, name, path=None, module=None):
            if name == target:
                raise KeyboardInterrupt
            return None

    sys.meta_path.insert(0, CtrlC())
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("botocore", ["run", "--stack", "KeyPhrasesStack", "docs"]),
        ("boto3", ["status", ARN]),
        # --batch is checked as the command line is parsed: the check loads the client.
        ("cdk_kp.runtime.client", ["run", "--stack", "KeyPhrasesStack", "docs", "--batch", "b1"]),
    ],
    ids=["sdk-run", "sdk-status", "while-parsing"],
)
def test_ctrl_c_while_the_console_script_starts_is_one_line_and_exit_130(module, argv, tmp_path):
    script = Path(sys.executable).with_name("cdk-kp")
    assert script.is_file(), f"the console script is installed next to {sys.executable}"
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # never reached
    ended = subprocess.run(
        [sys.executable, "-c", INTERRUPT_AT_IMPORT, module, str(script), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert ended.returncode == cli.INTERRUPTED, ended.stderr
    assert ended.stderr == "interrupted before any execution started\n"
    assert ended.stdout == ""


def test_ctrl_c_during_argument_parsing(monkeypatch, capsys):
    def interrupted(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", interrupted)
    assert cli.main(["status", ARN]) == cli.INTERRUPTED
    assert capsys.readouterr().err == "interrupted before any execution started\n"


def test_ctrl_c_during_the_stack_lookup(monkeypatch, capsys):
    from cdk_kp.runtime.client import KeyPhrasesClient

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(KeyPhrasesClient, "from_stack", interrupted)
    out = io.StringIO()
    assert cli.main(["run", "--stack", "KeyPhrasesStack", "docs"], stdout=out) == cli.INTERRUPTED
    assert capsys.readouterr().err == "interrupted before any execution started\n"
    assert out.getvalue() == ""
