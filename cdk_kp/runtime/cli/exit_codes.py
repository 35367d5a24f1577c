"""``cdk-kp``'s exit codes, each for one kind of ending, and what each means."""

from __future__ import annotations

import textwrap

from cdk_kp import contract

OK = 0
USAGE = 2
NO_CREDENTIALS = 3
NOT_A_PIPELINE = 4
INVALID_INPUT = 5
JOB_FAILED = 6
TIMED_OUT = 7
AWS_REFUSED = 8
NOT_FINISHED = 9
NOT_WRITTEN = 10
INTERRUPTED = 130

#: What each exit code means, as ``--help`` shows it. The README's table says the same of each
#: code (each of its lines starts with this text), which tests/test_cli_contract.py checks.
EXIT_CODES: dict[int, str] = {
    OK: "the job completed (with a batch, every shard's job), or the command did what it was asked",
    USAGE: "the command line is wrong: the message names the argument and its value (checked "
    "before any AWS call or file read)",
    NO_CREDENTIALS: "no usable AWS credentials or configuration (profile, Region)",
    NOT_A_PIPELINE: "the stack does not exist in the Region and account named, or is not a "
    "cdk_kp stack",
    INVALID_INPUT: "invalid input: nothing uploadable, files that would share a key, a corpus "
    f"that needs a batch the stack does not have, or {contract.INVALID_INPUT}",
    JOB_FAILED: "the job failed or was stopped (Comprehend's message is shown), or its output "
    "cannot be read; with a batch, a shard failed (it is named) or the batch failed; or the "
    "execution was stopped, and every job it left running is named with the command that "
    "stops it",
    TIMED_OUT: f"the job ran past the workflow's time budget ({contract.JOB_TIMED_OUT}), or the "
    "execution past its state machine's timeout",
    AWS_REFUSED: "AWS refused a request (the message is shown), or would have: a --batch name "
    "that an execution already has is refused before anything is uploaded, naming that "
    "execution and its status",
    NOT_FINISHED: "results of an execution that has not finished",
    NOT_WRITTEN: "the results could not be written (the message names the file and why); no "
    "partial file is left, and the results stay in S3 for cdk-kp results",
    INTERRUPTED: "interrupted (Ctrl-C): an execution already started keeps running, and the "
    "command prints how to follow it",
}


def _exit_codes_help() -> str:
    lines = ["exit codes:"]
    for code, meaning in EXIT_CODES.items():
        lines += textwrap.wrap(
            meaning, width=96, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7
        )
    return "\n".join(lines) + "\n"


#: The exit codes as every command's ``--help`` ends.
EXIT_CODES_HELP = _exit_codes_help()
