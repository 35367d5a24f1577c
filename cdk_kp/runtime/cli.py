"""``cdk-kp``: send documents through a deployed key phrase pipeline and read the results.

Importing this module loads no AWS SDK: boto3 and :mod:`cdk_kp.runtime.client` are imported inside
:func:`main`, so that a Ctrl-C while they load ends the command like any other Ctrl-C (one
line, exit 130) and ``--help`` and command-line errors need no SDK.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import shlex
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cdk_kp import contract

if TYPE_CHECKING:
    from cdk_kp.runtime.client import (
        BatchProgress,
        DocumentKeyPhrases,
        KeyPhrasesClient,
        Outcome,
        Progress,
        ShardStatus,
        UploadPlan,
    )

#: Exit codes, each for one kind of ending.
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
    "that needs a batch the stack does not have, or InvalidExecutionInput",
    JOB_FAILED: "the job failed or was stopped (Comprehend's message is shown), or its output "
    "cannot be read; with a batch, a shard failed (it is named) or the batch failed; or the "
    "execution was stopped, and every job it left running is named with the command that "
    "stops it",
    TIMED_OUT: "the job ran past the workflow's time budget (KeyPhrasesJobTimedOut), or the "
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


EXIT_CODES_HELP = _exit_codes_help()


class ResultsNotWrittenError(Exception):
    """The results could not be written to ``where`` (a file, or standard output)."""

    def __init__(self, where: str, error: OSError) -> None:
        super().__init__(f"cannot write the results to {where}: {error.strerror or error}")
        self.where = where


class Display:
    """Progress on stderr: one line rewritten in place on a terminal, a line a change elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self._last: str | None = None
        self._shards: dict[str, str] = {}

    def progress(self, progress: Progress) -> None:
        minutes, seconds = divmod(int(progress.elapsed), 60)
        text = f"{progress.status:<10} {minutes:d}:{seconds:02d} elapsed"
        if self.live:
            self.stream.write(f"\r{text}")
            self.stream.flush()
        elif progress.status != self._last:
            self.stream.write(f"{text}\n")
        self._last = progress.status

    def batch(self, progress: BatchProgress) -> None:
        """A batch's progress: a summary line (rewritten in place on a terminal) and, when not
        on a terminal, a line for each shard whose status changed."""
        minutes, seconds = divmod(int(progress.elapsed), 60)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(progress.counts().items()))
        text = (
            f"{progress.status:<10} {minutes:d}:{seconds:02d} elapsed, "
            f"{len(progress.shards)} shards: {counts}"
        )
        if self.live:
            self.stream.write(f"\r{text}\033[K")
            self.stream.flush()
            self._last = text
            return
        for shard in progress.shards:
            if self._shards.get(shard.input_prefix) != shard.status:
                self._shards[shard.input_prefix] = shard.status
                job = f" job {shard.job_id}" if shard.job_id else ""
                self.stream.write(f"  {shard.input_prefix} {shard.status}{job}\n")
        if text.split(" ", 1)[0] + counts != self._last:
            self.stream.write(f"{text}\n")
        self._last = text.split(" ", 1)[0] + counts
        self.stream.flush()

    def say(self, text: str) -> None:
        if self.live and self._last is not None:
            self.stream.write("\n")
            self._last = None
        self.stream.write(f"{text}\n")
        self.stream.flush()


class _Sink:
    """A text stream whose write errors are :class:`ResultsNotWrittenError` naming ``where``."""

    def __init__(self, stream: TextIO, where: str) -> None:
        self.stream = stream
        self.where = where

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as error:
            raise ResultsNotWrittenError(self.where, error) from error


def write_results(
    records: Iterable[DocumentKeyPhrases], out: Path | None, stdout: TextIO
) -> tuple[int, int]:
    """Write records as JSON lines, or CSV when ``out`` ends in ``.csv``: (documents, documents
    Comprehend could not analyse). A file is written whole or not at all: through a
    ``.partial`` file renamed at the end, removed if anything goes wrong. An OSError while
    writing is a :class:`ResultsNotWrittenError`."""
    if out is None:
        return _write_records(records, _Sink(stdout, "standard output"), as_csv=False)
    partial = out.with_name(out.name + ".partial")
    try:
        handle = partial.open("w", newline="", encoding="utf-8")
    except OSError as error:
        raise ResultsNotWrittenError(str(out), error) from error
    try:
        try:
            counts = _write_records(
                records, _Sink(handle, str(out)), as_csv=out.suffix.lower() == ".csv"
            )
        finally:
            try:
                handle.close()
            except OSError as error:
                raise ResultsNotWrittenError(str(out), error) from error
        try:
            partial.replace(out)
        except OSError as error:
            raise ResultsNotWrittenError(str(out), error) from error
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
    return counts


def _write_records(
    records: Iterable[DocumentKeyPhrases], sink: _Sink, *, as_csv: bool
) -> tuple[int, int]:
    documents = failed = 0
    if as_csv:
        writer = csv.writer(sink)
        writer.writerow(["file", "line", "text", "score", "begin_offset", "end_offset", "error"])
        for record in records:
            documents += 1
            failed += record.error is not None
            line = "" if record.line is None else record.line
            if record.error is not None:
                writer.writerow([record.file, line, "", "", "", "", record.error])
            for phrase in record.key_phrases:
                writer.writerow(
                    [
                        record.file,
                        line,
                        phrase.text,
                        phrase.score,
                        phrase.begin_offset,
                        phrase.end_offset,
                        "",
                    ]
                )
    else:
        for record in records:
            documents += 1
            failed += record.error is not None
            sink.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
    return documents, failed


# -- command-line values: each checked as it is parsed (exit 2, before any AWS call) ------------


def _batch_value(value: str) -> str:
    from cdk_kp.runtime.client import InvalidInputError, check_batch_name

    try:
        check_batch_name(value)
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _execution_arn_value(value: str) -> str:
    from cdk_kp.runtime.client import InvalidInputError, check_execution_arn

    try:
        check_execution_arn(value)
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _out_value(value: str) -> Path:
    """A file the results can be written to: not a folder, in a folder that exists and can be
    written (its ``.partial`` file goes there too)."""
    path = Path(value)
    if value.endswith(("/", os.sep)) or path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; give a file name in it")
    folder = path.parent
    if not folder.exists():
        raise argparse.ArgumentTypeError(
            f"{value}: folder {folder} does not exist (create it first)"
        )
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{value}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{value}: folder {folder} is not writable")
    return path


def _whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {value!r}") from None


def _shard_bytes_value(value: str) -> int:
    from cdk_kp.runtime.sharding import check_limits

    number = _whole_number(value)
    try:
        check_limits(number, contract.MAX_JOB_DOCUMENTS)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return number


def _shard_documents_value(value: str) -> int:
    from cdk_kp.runtime.sharding import check_limits

    number = _whole_number(value)
    try:
        check_limits(contract.MAX_JOB_BYTES, number)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return number


def _poll_value(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0; got {value!r}")
    return seconds


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cdk_kp")
    except PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cdk-kp",
        description="Run Amazon Comprehend key phrase detection through a deployed cdk_kp "
        "pipeline: upload documents, start a job, watch it, and write its key phrases.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="upload files or folders, run a job, write its key phrases",
        description="Upload PATHs under a new batch prefix of the stack's input bucket, start "
        "an execution for that batch, show its progress, and write the key phrases. A corpus "
        "too big for one job (5 GB or 1,000,000 documents) is split into shards that run as "
        "one batch (the stack's KeyPhrasesBatch, at most 10 jobs at once), and the key phrases "
        "of every shard are written to one output.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders")
    run.add_argument("--stack", required=True, help="name of the deployed KeyPhrasesStack")
    run.add_argument("--language", choices=contract.LANGUAGE_CODES, help="default: the stack's")
    run.add_argument(
        "--format",
        choices=contract.INPUT_FORMATS,
        help="one document per file, or per line (default: the stack's)",
    )
    run.add_argument(
        "--batch",
        type=_batch_value,
        help="batch name: 1 to 80 letters, digits, - and _ (default: batch-<time>-<random>); "
        "it names the upload prefix and the execution. A name an execution already has (of the "
        "pipeline or of the batch state machine) is refused before anything is uploaded",
    )
    run.add_argument(
        "--out",
        type=_out_value,
        help="results.jsonl or results.csv, in a folder that exists (default: JSON lines on "
        "stdout)",
    )
    run.add_argument("--poll", type=_poll_value, default=10.0, help="seconds between status checks")
    run.add_argument(
        "--max-shard-bytes",
        type=_shard_bytes_value,
        default=contract.MAX_JOB_BYTES,
        help="a corpus over this size (default: 5 GB, one job's limit) is split into shards "
        "run as one batch",
    )
    run.add_argument(
        "--max-shard-documents",
        type=_shard_documents_value,
        default=contract.MAX_JOB_DOCUMENTS,
        help="likewise for the number of documents (default: 1,000,000)",
    )

    status = commands.add_parser(
        "status",
        help="show an execution's status (and wait for it with --wait)",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("execution_arn", type=_execution_arn_value, metavar="EXECUTION_ARN")
    status.add_argument("--wait", action="store_true", help="wait until it ends")
    status.add_argument(
        "--poll", type=_poll_value, default=10.0, help="seconds between status checks"
    )

    results = commands.add_parser(
        "results",
        help="write the key phrases of a completed execution",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    results.add_argument("execution_arn", type=_execution_arn_value, metavar="EXECUTION_ARN")
    results.add_argument(
        "--out",
        type=_out_value,
        help="results.jsonl or results.csv, in a folder that exists (default: stdout)",
    )
    return top


# -- how executions ended ------------------------------------------------------------------------


def is_batch(outcome: Outcome) -> bool:
    """Whether ``outcome`` is a succeeded KeyPhrasesBatch execution (its output names the Map
    Run's results)."""
    return outcome.succeeded and "resultsManifest" in (outcome.output or {})


def stop_job_command(job_id: str, region: str) -> str:
    """The AWS CLI command that stops key phrase job ``job_id``."""
    return (
        f"aws comprehend stop-key-phrases-detection-job --job-id {shlex.quote(job_id)} "
        f"--region {shlex.quote(region)}"
    )


def _ended(client: KeyPhrasesClient, outcome: Outcome, display: Display) -> int:
    if is_batch(outcome):
        output = outcome.output or {}
        display.say(
            f"SUCCEEDED: every shard's result listed in "
            f"s3://{output.get('resultsBucket')}/{output.get('resultsManifest')}"
        )
        return OK
    if outcome.succeeded:
        output = outcome.output or {}
        display.say(f"COMPLETED: job {output.get('jobId')}, results at {output.get('outputS3Uri')}")
        return OK
    if outcome.status in ("ABORTED", "TIMED_OUT"):
        # Step Functions ended the execution from outside its definition (StopExecution, or
        # the state machine's timeout): nothing in the workflow stopped its jobs.
        if outcome.status == "ABORTED":
            how = "was stopped"
        else:
            how = "ran past its state machine's timeout"
        reason = ": ".join(str(part) for part in (outcome.error, outcome.cause) if part)
        display.say(
            f"{outcome.status}: execution {outcome.execution_arn} {how}"
            + (f" ({reason})" if reason else "")
        )
        _report_jobs(client, outcome, display)
        return TIMED_OUT if outcome.status == "TIMED_OUT" else JOB_FAILED
    display.say(f"{outcome.status}: {outcome.error}: {outcome.cause}")
    if outcome.error == contract.INVALID_INPUT:
        return INVALID_INPUT
    if outcome.error == contract.JOB_TIMED_OUT:
        return TIMED_OUT
    return JOB_FAILED


def _report_jobs(client: KeyPhrasesClient, outcome: Outcome, display: Display) -> None:
    """Name the jobs a stopped execution started that may still run, each with the command
    that stops it; say so when it started none, or when they have all ended."""
    import botocore.exceptions

    from cdk_kp.runtime.client import region_of

    region = region_of(outcome.execution_arn)
    try:
        found = client.execution_jobs(outcome.execution_arn)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        display.say(
            f"its Comprehend jobs could not be looked up ({error}) and may still be running; "
            f"list them with:\n  aws comprehend list-key-phrases-detection-jobs --region {region}"
        )
        return
    if not found.jobs:
        what = "the batch" if found.batch_job_name else "the execution"
        display.say(f"{what} started no Comprehend job: nothing to stop")
        return
    jobs = found.jobs
    if found.batch_job_name is not None:
        jobs = [job for job in found.jobs if job.may_be_running]
        display.say(
            f"the batch started {len(found.jobs)} Comprehend job(s), named "
            f"{found.batch_job_name}; {len(jobs)} may still be running"
            + ("" if jobs else ": nothing to stop")
        )
    for job in jobs:
        if not job.may_be_running:
            how = "is being stopped" if job.status == "STOP_REQUESTED" else "has ended"
            display.say(f"Comprehend job {job.job_id} {how} ({job.status}): nothing to stop")
            continue
        status = job.status or f"its status could not be read: {job.problem}"
        display.say(
            f"Comprehend job {job.job_id} may still be running ({status}); stopping an "
            f"execution does not stop its job. Stop it with:\n"
            f"  {stop_job_command(job.job_id, found.region)}"
        )


# -- the commands ----------------------------------------------------------------------------------


@dataclass
class _Progress:
    """How far the command got, for the message a Ctrl-C prints."""

    arn: str | None = None
    batch: bool = False
    ended: bool = False
    #: Where results are being written (a file, or standard output), while they are.
    writing: str | None = None


def _wait(client: KeyPhrasesClient, arn: str, display: Display, poll: float) -> Outcome:
    from cdk_kp.runtime.client import ExecutionFailedError

    try:
        return client.wait(arn, on_progress=display.progress, poll_seconds=poll)
    except ExecutionFailedError as failed:
        return failed.outcome


def _write(
    client: KeyPhrasesClient,
    outcome: Outcome,
    out: Path | None,
    stdout: TextIO,
    display: Display,
    progress: _Progress,
) -> int:
    progress.writing = str(out) if out else "standard output"
    if is_batch(outcome):
        return _write_batch(client, outcome, out, stdout, display)
    documents, failed = write_results(client.results(outcome), out, stdout)
    where = f" to {out}" if out else ""
    display.say(f"wrote key phrases of {documents} document(s){where}")
    if failed:
        display.say(f"{failed} document(s) could not be analysed: see their error field")
    return OK


def _write_batch(
    client: KeyPhrasesClient, outcome: Outcome, out: Path | None, stdout: TextIO, display: Display
) -> int:
    """Write the key phrases of every completed shard to one output; list the shards that
    failed (tolerated by the batch): exit 0 only when none did."""
    shards = client.batch_shards(outcome)
    failed_shards = [shard for shard in shards if shard.status != "SUCCEEDED"]
    documents, failed = write_results(client.batch_results(shards), out, stdout)
    where = f" to {out}" if out else ""
    display.say(
        f"wrote key phrases of {documents} document(s) from "
        f"{len(shards) - len(failed_shards)} of {len(shards)} shard(s){where}"
    )
    if failed:
        display.say(f"{failed} document(s) could not be analysed: see their error field")
    for shard in failed_shards:
        display.say(_shard_line(shard))
    return JOB_FAILED if failed_shards else OK


def _shard_line(shard: ShardStatus) -> str:
    job = f" (job {shard.job_id})" if shard.job_id else ""
    if shard.error:
        reason = f": {shard.error}: {shard.cause}"
    else:
        reason = f": {shard.cause}" if shard.cause else ""
    return f"shard {shard.input_prefix} {shard.status}{job}{reason}"


def _name_taken(batch: str, outcome: Outcome) -> str:
    arn = outcome.execution_arn
    if outcome.status == "RUNNING":
        follow = f"follow it with: cdk-kp status {arn} --wait"
        return f"--batch {batch} is taken: execution {arn} is RUNNING; {follow}"
    if outcome.succeeded:
        see = f"its results: cdk-kp results {arn} --out FILE"
    else:
        see = f"how it ended: cdk-kp status {arn}"
    return (
        f"--batch {batch} is taken: execution {arn} ended {outcome.status} (an execution name "
        f"cannot be used again); {see}"
    )


def _run(args: argparse.Namespace, display: Display, stdout: TextIO, progress: _Progress) -> int:
    from cdk_kp.runtime.client import KeyPhrasesClient, new_batch_name

    client = KeyPhrasesClient.from_stack(args.stack)
    batch = args.batch or new_batch_name()
    # Before any file is read or uploaded: a run must not add files under the prefix of an
    # execution that reads it (or did), nor be handed that execution back by StartExecution.
    taken = client.executions_named(batch)
    if taken:
        for outcome in taken:
            display.say(_name_taken(batch, outcome))
        display.say("nothing was uploaded; run again with another --batch")
        return AWS_REFUSED
    plan = client.plan_upload(
        args.paths,
        input_format=args.format,
        max_shard_bytes=args.max_shard_bytes,
        max_shard_documents=args.max_shard_documents,
    )
    for skipped in plan.skipped:
        display.say(f"skipped {skipped.path}: {skipped.reason}")
    if not plan.shards:
        display.say("nothing to upload: no file can be a Comprehend document")
        return INVALID_INPUT
    sharded = len(plan.shards) > 1
    if sharded and client.batch_state_machine_arn is None:
        display.say(
            f"the corpus needs {len(plan.shards)} jobs, and stack {args.stack} has no "
            "KeyPhrasesBatch to run them (no BatchStateMachineArn output)"
        )
        return INVALID_INPUT
    if sharded:
        return _run_batch(client, plan, batch, args, display, stdout, progress)
    report = client.upload_plan(plan, batch=batch)
    display.say(
        f"uploaded {len(report.uploaded)} file(s), {report.bytes_uploaded:,} bytes, to "
        f"s3://{client.input_bucket}/{client.input_prefix}{report.batch_prefix}"
    )
    arn = client.start(
        input_prefix=report.batch_prefix,
        language_code=args.language,
        input_format=args.format,
        name=batch,
    )
    progress.arn = arn
    display.say(f"started {arn}")
    outcome = _wait(client, arn, display, args.poll)
    progress.ended = True
    code = _ended(client, outcome, display)
    if code == OK:
        code = _write(client, outcome, args.out, stdout, display, progress)
    return code


def _run_batch(
    client: KeyPhrasesClient,
    plan: UploadPlan,
    batch: str,
    args: argparse.Namespace,
    display: Display,
    stdout: TextIO,
    progress: _Progress,
) -> int:
    """Upload the shards, start the batch, follow every shard, write the merged key phrases."""
    from cdk_kp.runtime.client import ExecutionFailedError

    upload = client.upload_sharded(plan, batch=batch)
    display.say(
        f"uploaded {upload.files_uploaded} file(s), {upload.bytes_uploaded:,} bytes, as "
        f"{len(upload.shards)} shards under "
        f"s3://{client.input_bucket}/{client.input_prefix}{upload.batch_prefix}"
    )
    arn = client.start_batch(
        manifest=upload.manifest,
        language_code=args.language,
        input_format=args.format,
        name=batch,
    )
    progress.arn = arn
    progress.batch = True
    display.say(f"started batch {arn}")
    try:
        outcome = client.wait_batch(
            arn, upload.shard_prefixes, on_progress=display.batch, poll_seconds=args.poll
        )
    except ExecutionFailedError as failed:
        progress.ended = True
        code = _ended(client, failed.outcome, display)
        if failed.outcome.status in ("ABORTED", "TIMED_OUT"):
            return code  # its jobs are listed, with the commands that stop them
        shards = client.batch_progress(arn, upload.shard_prefixes)
        for shard in shards.shards:
            if shard.status == "PENDING":
                display.say(f"shard {shard.input_prefix} started no job (not run, or failed first)")
            elif shard.status != "COMPLETED":
                display.say(_shard_line(shard))
        return code
    progress.ended = True
    _ended(client, outcome, display)
    return _write(client, outcome, args.out, stdout, display, progress)


def _follow(args: argparse.Namespace, display: Display, stdout: TextIO, progress: _Progress) -> int:
    """``status`` and ``results`` of an execution."""
    from cdk_kp.runtime.client import KeyPhrasesClient

    arn: str = args.execution_arn
    progress.arn = arn
    client = KeyPhrasesClient.for_execution(arn)
    if args.command == "status":
        outcome = _wait(client, arn, display, args.poll) if args.wait else client.describe(arn)
        if outcome.status == "RUNNING":
            display.say(f"RUNNING: {arn}")
            return OK
        progress.ended = True
        return _ended(client, outcome, display)
    outcome = client.describe(arn)
    if outcome.status == "RUNNING":
        display.say(f"RUNNING: no results yet; wait with: cdk-kp status {arn} --wait")
        return NOT_FINISHED
    progress.ended = True
    code = _ended(client, outcome, display)
    if code == OK:
        code = _write(client, outcome, args.out, stdout, display, progress)
    return code


def _interrupted(progress: _Progress) -> str:
    arn = progress.arn
    if arn is None:
        return "interrupted before any execution started"
    if progress.writing is not None:
        if progress.writing == "standard output":
            return (
                "interrupted while writing results to standard output (they are incomplete); "
                f"get them with:\n  cdk-kp results {arn} --out FILE"
            )
        return (
            f"interrupted while writing results (nothing was written); get them with:\n"
            f"  cdk-kp results {arn} --out FILE"
        )
    if progress.ended:
        return (
            f"interrupted; the execution had ended. See how with:\n  cdk-kp status {arn}\n"
            f"and write its results with:\n  cdk-kp results {arn} --out FILE"
        )
    if progress.batch:
        return (
            f"interrupted; the batch keeps running. Get its results once it ends with:\n"
            f"  cdk-kp results {arn} --out FILE"
        )
    return (
        f"interrupted; the execution keeps running. Watch it again with:\n"
        f"  cdk-kp status {arn} --wait"
    )


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """The ``cdk-kp`` command; its exit code. A Ctrl-C anywhere in it (the SDK's import and
    argument parsing included) ends it with a message and :data:`INTERRUPTED`, never a
    traceback."""
    stdout = stdout or sys.stdout
    display = Display(sys.stderr)
    progress = _Progress()
    try:
        return _main(argv, stdout, display, progress)
    except KeyboardInterrupt:
        display.say(_interrupted(progress))
        return INTERRUPTED


def _main(argv: Sequence[str] | None, stdout: TextIO, display: Display, progress: _Progress) -> int:
    args = parser().parse_args(argv)
    # Imported here, not with the module: see the module's docstring.
    import botocore.exceptions

    from cdk_kp.runtime.client import (
        ArchiveError,
        InvalidInputError,
        NotAKeyPhrasesStackError,
        StackNotFoundError,
    )

    try:
        if args.command == "run":
            return _run(args, display, stdout, progress)
        return _follow(args, display, stdout, progress)
    except ResultsNotWrittenError as error:
        if error.where == "standard output":
            display.say(f"{error}; the output is incomplete")
        else:
            display.say(f"{error}; nothing was written, and no partial file is left")
        if progress.arn:
            display.say(
                f"the results stay in S3; write them with:\n  cdk-kp results {progress.arn} "
                "--out FILE"
            )
        return NOT_WRITTEN
    except (
        botocore.exceptions.NoCredentialsError,
        botocore.exceptions.PartialCredentialsError,
        botocore.exceptions.NoRegionError,
        botocore.exceptions.ProfileNotFound,
        botocore.exceptions.TokenRetrievalError,
    ) as error:
        display.say(f"no usable AWS credentials or configuration: {error}")
        return NO_CREDENTIALS
    except (StackNotFoundError, NotAKeyPhrasesStackError) as error:
        display.say(str(error))
        return NOT_A_PIPELINE
    except InvalidInputError as error:
        display.say(str(error))
        return INVALID_INPUT
    except ArchiveError as error:
        display.say(str(error))
        return JOB_FAILED
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        display.say(f"AWS refused a request: {error}")
        return AWS_REFUSED


if __name__ == "__main__":
    raise SystemExit(main())
