"""``cdk-kp``: send documents through a deployed key phrase pipeline and read the results."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import botocore.exceptions

from cdk_kp import contract
from cdk_kp.client import (
    ArchiveError,
    BatchProgress,
    DocumentKeyPhrases,
    ExecutionFailedError,
    InvalidInputError,
    KeyPhrasesClient,
    NotAKeyPhrasesStackError,
    Outcome,
    Progress,
    ShardStatus,
    StackNotFoundError,
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
INTERRUPTED = 130

EXIT_CODES = f"""exit codes:
  {OK}    the job (every job of a batch) completed, or the command did what it was asked
  {USAGE}    the command line is wrong
  {NO_CREDENTIALS}    no usable AWS credentials or configuration (profile, Region)
  {NOT_A_PIPELINE}    the stack does not exist or is not a cdk_kp stack
  {INVALID_INPUT}    invalid input: nothing uploadable, an unknown language or format
  {JOB_FAILED}    the job, or a shard of a batch, failed or was stopped (the message is shown)
  {TIMED_OUT}    the job ran past the workflow's time budget and was stopped
  {AWS_REFUSED}    AWS refused a request (the message is shown)
  {NOT_FINISHED}    the execution has not finished yet (results)
  {INTERRUPTED}  interrupted (Ctrl-C): the execution keeps running
"""


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


def write_results(
    records: Iterable[DocumentKeyPhrases], out: Path | None, stdout: TextIO
) -> tuple[int, int]:
    """Write records as JSON lines, or CSV when ``out`` ends in ``.csv``: (documents, documents
    Comprehend could not analyse). A file is written whole or not at all (through a
    ``.partial`` file renamed at the end)."""
    documents = failed = 0
    partial = out.with_name(out.name + ".partial") if out is not None else None
    handle = partial.open("w", newline="", encoding="utf-8") if partial else stdout
    try:
        if out is not None and out.suffix.lower() == ".csv":
            writer = csv.writer(handle)
            writer.writerow(
                ["file", "line", "text", "score", "begin_offset", "end_offset", "error"]
            )
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
                handle.write(json.dumps(record.as_dict(), ensure_ascii=False) + "\n")
    except BaseException:
        if partial is not None:
            handle.close()
            partial.unlink(missing_ok=True)
        raise
    if partial is not None and out is not None:
        handle.close()
        partial.replace(out)
    return documents, failed


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="cdk-kp",
        description="Run Amazon Comprehend key phrase detection through a deployed cdk_kp "
        "pipeline: upload documents, start a job, watch it, and write its key phrases.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="upload files or folders, run a job, write its key phrases",
        description="Upload PATHs under a new batch prefix of the stack's input bucket, start "
        "an execution for that batch, show its progress, and write the key phrases. A corpus "
        "too big for one job (5 GB or 1,000,000 documents) is split into shards that run as "
        "one batch (the stack's KeyPhrasesBatch, at most 10 jobs at once), and the key phrases "
        "of every shard are written to one output.",
        epilog=EXIT_CODES,
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
        help="batch name: letters, digits, - and _ (default: batch-<time>-<random>); it names "
        "the upload prefix and the execution",
    )
    run.add_argument(
        "--out", type=Path, help="results.jsonl or results.csv (default: JSON lines on stdout)"
    )
    run.add_argument("--poll", type=float, default=10.0, help="seconds between status checks")
    run.add_argument(
        "--max-shard-bytes",
        type=int,
        default=contract.MAX_JOB_BYTES,
        help="a corpus over this size (default: 5 GB, one job's limit) is split into shards "
        "run as one batch",
    )
    run.add_argument(
        "--max-shard-documents",
        type=int,
        default=contract.MAX_JOB_DOCUMENTS,
        help="likewise for the number of documents (default: 1,000,000)",
    )

    status = commands.add_parser(
        "status",
        help="show an execution's status (and wait for it with --wait)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("execution_arn", metavar="EXECUTION_ARN")
    status.add_argument("--wait", action="store_true", help="wait until it ends")
    status.add_argument("--poll", type=float, default=10.0, help="seconds between status checks")

    results = commands.add_parser(
        "results",
        help="write the key phrases of a completed execution",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    results.add_argument("execution_arn", metavar="EXECUTION_ARN")
    results.add_argument("--out", type=Path, help="results.jsonl or results.csv (default: stdout)")
    return top


def is_batch(outcome: Outcome) -> bool:
    """Whether ``outcome`` is a succeeded KeyPhrasesBatch execution (its output names the Map
    Run's results)."""
    return outcome.succeeded and "resultsManifest" in (outcome.output or {})


def _ended(outcome: Outcome, display: Display) -> int:
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
    display.say(f"{outcome.status}: {outcome.error}: {outcome.cause}")
    if outcome.error == contract.INVALID_INPUT:
        return INVALID_INPUT
    if outcome.error == contract.JOB_TIMED_OUT or outcome.status == "TIMED_OUT":
        return TIMED_OUT
    return JOB_FAILED


def _wait(client: KeyPhrasesClient, arn: str, display: Display, poll: float) -> Outcome:
    try:
        return client.wait(arn, on_progress=display.progress, poll_seconds=poll)
    except ExecutionFailedError as failed:
        return failed.outcome


def _write(
    client: KeyPhrasesClient, outcome: Outcome, out: Path | None, stdout: TextIO, display: Display
) -> int:
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


class _BatchInterruptedError(Exception):
    """Ctrl-C while a batch runs (or, ``finished``, while its results are written)."""

    def __init__(self, arn: str, *, finished: bool = False) -> None:
        super().__init__(arn)
        self.arn = arn
        self.finished = finished


def _run_batch(
    client: KeyPhrasesClient,
    plan: UploadPlan,
    args: argparse.Namespace,
    display: Display,
    stdout: TextIO,
) -> int:
    """Upload the shards, start the batch, follow every shard, write the merged key phrases."""
    if client.batch_state_machine_arn is None:
        display.say(
            f"the corpus needs {len(plan.shards)} jobs, and stack {args.stack} has no "
            "KeyPhrasesBatch to run them (no BatchStateMachineArn output)"
        )
        return INVALID_INPUT
    upload = client.upload_sharded(plan, batch=args.batch)
    display.say(
        f"uploaded {upload.files_uploaded} file(s), {upload.bytes_uploaded:,} bytes, as "
        f"{len(upload.shards)} shards under "
        f"s3://{client.input_bucket}/{client.input_prefix}{upload.batch_prefix}"
    )
    arn = client.start_batch(
        manifest=upload.manifest,
        language_code=args.language,
        input_format=args.format,
        name=upload.batch_prefix.rstrip("/"),
    )
    display.say(f"started batch {arn}")
    try:
        outcome = client.wait_batch(
            arn, upload.shard_prefixes, on_progress=display.batch, poll_seconds=args.poll
        )
    except ExecutionFailedError as failed:
        code = _ended(failed.outcome, display)
        progress = client.batch_progress(arn, upload.shard_prefixes)
        for shard in progress.shards:
            if shard.status == "PENDING":
                display.say(f"shard {shard.input_prefix} started no job (not run, or failed first)")
            elif shard.status != "COMPLETED":
                display.say(_shard_line(shard))
        return code
    except KeyboardInterrupt:
        raise _BatchInterruptedError(arn) from None
    _ended(outcome, display)
    try:
        return _write(client, outcome, args.out, stdout, display)
    except KeyboardInterrupt:
        raise _BatchInterruptedError(arn, finished=True) from None


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    display = Display(sys.stderr)
    args = parser().parse_args(argv)
    arn: str | None = None
    finished = False
    try:
        if args.command == "run":
            client = KeyPhrasesClient.from_stack(args.stack)
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
            if len(plan.shards) > 1:
                return _run_batch(client, plan, args, display, stdout)
            report = client.upload_plan(plan, batch=args.batch)
            display.say(
                f"uploaded {len(report.uploaded)} file(s), {report.bytes_uploaded:,} bytes, to "
                f"s3://{client.input_bucket}/{client.input_prefix}{report.batch_prefix}"
            )
            arn = client.start(
                input_prefix=report.batch_prefix,
                language_code=args.language,
                input_format=args.format,
                name=report.batch_prefix.rstrip("/"),
            )
            display.say(f"started {arn}")
            outcome = _wait(client, arn, display, args.poll)
            finished = True
            code = _ended(outcome, display)
            if code == OK:
                code = _write(client, outcome, args.out, stdout, display)
            return code
        arn = args.execution_arn
        client = KeyPhrasesClient.for_execution(arn)
        if args.command == "status":
            outcome = _wait(client, arn, display, args.poll) if args.wait else client.describe(arn)
            finished = outcome.status != "RUNNING"
            if not finished:
                display.say(f"RUNNING: {arn}")
                return OK
            return _ended(outcome, display)
        outcome = client.describe(arn)
        if outcome.status == "RUNNING":
            display.say(f"RUNNING: no results yet; wait with: cdk-kp status {arn} --wait")
            return NOT_FINISHED
        finished = True
        code = _ended(outcome, display)
        if code == OK:
            code = _write(client, outcome, args.out, stdout, display)
        return code
    except _BatchInterruptedError as interrupted:
        if interrupted.finished:
            display.say(
                f"interrupted while writing results (nothing was written); get them with:\n"
                f"  cdk-kp results {interrupted.arn} --out FILE"
            )
        else:
            display.say(
                f"interrupted; the batch keeps running. Get its results once it ends with:\n"
                f"  cdk-kp results {interrupted.arn} --out FILE"
            )
        return INTERRUPTED
    except KeyboardInterrupt:
        if arn is None:
            display.say("interrupted before any execution started")
        elif finished:
            display.say(
                f"interrupted while writing results (nothing was written); get them with:\n"
                f"  cdk-kp results {arn} --out FILE"
            )
        else:
            display.say(
                f"interrupted; the execution keeps running. Watch it again with:\n"
                f"  cdk-kp status {arn} --wait"
            )
        return INTERRUPTED
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
