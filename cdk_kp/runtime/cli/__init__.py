"""``cdk-kp``: send documents through a deployed key phrase pipeline and read the results.

Importing this package loads no AWS SDK: boto3 and :mod:`cdk_kp.runtime.client` are imported
inside :func:`main` (by the commands, once the command line is parsed), so that a Ctrl-C while
they load ends the command like any other Ctrl-C (one line, exit 130) and ``--help`` and
command-line errors need no SDK (the values are checked with the client's modules that import
none).

The package: :mod:`~cdk_kp.runtime.cli.exit_codes` (each kind of ending),
:mod:`~cdk_kp.runtime.cli.arguments` (the command line), :mod:`~cdk_kp.runtime.cli.commands`
(``run``, ``status``, ``results``), :mod:`~cdk_kp.runtime.cli.endings` (how an execution
ended), :mod:`~cdk_kp.runtime.cli.display` (progress on stderr) and
:mod:`~cdk_kp.runtime.cli.output` (writing the key phrases).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from cdk_kp.runtime.cli.arguments import parser
from cdk_kp.runtime.cli.commands import CommandProgress, dispatch
from cdk_kp.runtime.cli.display import Display
from cdk_kp.runtime.cli.endings import is_batch, stop_job_command
from cdk_kp.runtime.cli.exit_codes import (
    AWS_REFUSED,
    EXIT_CODES,
    EXIT_CODES_HELP,
    INTERRUPTED,
    INVALID_INPUT,
    JOB_FAILED,
    NO_CREDENTIALS,
    NOT_A_PIPELINE,
    NOT_FINISHED,
    NOT_WRITTEN,
    OK,
    TIMED_OUT,
    USAGE,
)
from cdk_kp.runtime.cli.output import ResultsNotWrittenError, write_results

__all__ = [
    "AWS_REFUSED",
    "EXIT_CODES",
    "EXIT_CODES_HELP",
    "INTERRUPTED",
    "INVALID_INPUT",
    "JOB_FAILED",
    "NOT_A_PIPELINE",
    "NOT_FINISHED",
    "NOT_WRITTEN",
    "NO_CREDENTIALS",
    "OK",
    "TIMED_OUT",
    "USAGE",
    "Display",
    "ResultsNotWrittenError",
    "is_batch",
    "main",
    "parser",
    "stop_job_command",
    "write_results",
]


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """The ``cdk-kp`` command; its exit code. A Ctrl-C anywhere in it (the SDK's import and
    argument parsing included) ends it with a message and :data:`INTERRUPTED`, never a
    traceback."""
    stdout = stdout or sys.stdout
    display = Display(sys.stderr)
    progress = CommandProgress()
    try:
        args = parser().parse_args(argv)
        return dispatch(args, display, stdout, progress)
    except KeyboardInterrupt:
        display.say(progress.interrupted())
        return INTERRUPTED
