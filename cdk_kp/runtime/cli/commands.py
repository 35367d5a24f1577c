"""``cdk-kp run``, ``status`` and ``results``, and what their errors end them with.

The client (and with it boto3) is imported in the functions that use it, once the command line
has been parsed: see :mod:`cdk_kp.runtime.cli`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cdk_kp import contract
from cdk_kp.runtime.cli.display import Display, shown_path
from cdk_kp.runtime.cli.endings import is_batch, report_ending
from cdk_kp.runtime.cli.exit_codes import (
    AWS_REFUSED,
    INVALID_INPUT,
    JOB_FAILED,
    NO_CREDENTIALS,
    NOT_A_PIPELINE,
    NOT_FINISHED,
    NOT_WRITTEN,
    OK,
)
from cdk_kp.runtime.cli.output import STANDARD_OUTPUT, ResultsNotWrittenError, write_results

if TYPE_CHECKING:
    from cdk_kp.runtime.client import KeyPhrasesClient, Outcome, ShardStatus, UploadPlan


@dataclass
class CommandProgress:
    """How far the command got, for the message a Ctrl-C prints."""

    arn: str | None = None
    batch: bool = False
    ended: bool = False
    #: Where results are being written (a file, or standard output), while they are.
    writing: str | None = None

    def interrupted(self) -> str:
        """What a Ctrl-C at this point says: what goes on, and how to pick it up."""
        arn = self.arn
        if arn is None:
            return "interrupted before any execution started"
        if self.writing is not None:
            if self.writing == STANDARD_OUTPUT:
                return (
                    "interrupted while writing results to standard output (they are "
                    f"incomplete); get them with:\n  cdk-kp results {arn} --out FILE"
                )
            return (
                f"interrupted while writing results (nothing was written); get them with:\n"
                f"  cdk-kp results {arn} --out FILE"
            )
        if self.ended:
            return (
                f"interrupted; the execution had ended. See how with:\n  cdk-kp status {arn}\n"
                f"and write its results with:\n  cdk-kp results {arn} --out FILE"
            )
        if self.batch:
            return (
                f"interrupted; the batch keeps running. Get its results once it ends with:\n"
                f"  cdk-kp results {arn} --out FILE"
            )
        return (
            f"interrupted; the execution keeps running. Watch it again with:\n"
            f"  cdk-kp status {arn} --wait"
        )


def dispatch(
    args: argparse.Namespace, display: Display, stdout: TextIO, progress: CommandProgress
) -> int:
    """Run the command ``args`` names; its exit code, an error the client raises on purpose (or
    AWS does) included. The SDK is loaded by the commands that call AWS, not here: ``plan`` of
    local files never loads it."""
    try:
        if args.command == "run":
            return _run(args, display, stdout, progress)
        if args.command == "plan":
            from cdk_kp.runtime.cli.planning import plan_command

            return plan_command(args, display, stdout)
        return _follow(args, display, stdout, progress)
    except ResultsNotWrittenError as error:
        return _not_written(error, display, progress)
    except Exception as error:
        code = _ending_of(error, display)
        if code is None:
            raise
        return code


def _ending_of(error: Exception, display: Display) -> int | None:
    """The exit code of an error a command ended with, said on ``display``; ``None`` for an
    error that is a bug (it is raised, with its traceback)."""
    from cdk_kp.runtime.errors import (
        ArchiveError,
        InvalidInputError,
        NotAKeyPhrasesStackError,
        StackNotFoundError,
    )

    if isinstance(error, StackNotFoundError | NotAKeyPhrasesStackError):
        display.say(str(error))
        return NOT_A_PIPELINE
    if isinstance(error, InvalidInputError):
        display.say(str(error))
        return INVALID_INPUT
    if isinstance(error, ArchiveError):
        display.say(str(error))
        return JOB_FAILED
    if "botocore" not in sys.modules:
        return None
    import botocore.exceptions

    if isinstance(
        error,
        botocore.exceptions.NoCredentialsError
        | botocore.exceptions.PartialCredentialsError
        | botocore.exceptions.NoRegionError
        | botocore.exceptions.ProfileNotFound
        | botocore.exceptions.TokenRetrievalError,
    ):
        display.say(f"no usable AWS credentials or configuration: {error}")
        return NO_CREDENTIALS
    if isinstance(error, botocore.exceptions.ClientError | botocore.exceptions.BotoCoreError):
        display.say(f"AWS refused a request: {error}")
        return AWS_REFUSED
    return None


def _not_written(error: ResultsNotWrittenError, display: Display, progress: CommandProgress) -> int:
    if error.where == STANDARD_OUTPUT:
        display.say(f"{error}; the output is incomplete")
    else:
        display.say(f"{error}; nothing was written, and no partial file is left")
    if progress.arn:
        display.say(
            f"the results stay in S3; write them with:\n  cdk-kp results {progress.arn} --out FILE"
        )
    return NOT_WRITTEN


# -- run -----------------------------------------------------------------------------------------


def _run(
    args: argparse.Namespace, display: Display, stdout: TextIO, progress: CommandProgress
) -> int:
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
        display.say(f"skipped {shown_path(skipped.path)}: {skipped.reason}")
    for warning in plan.under_minimum_warnings():
        display.say(warning)
    if not plan.shards:
        display.say("nothing to upload: no file can be a Comprehend document")
        return INVALID_INPUT
    if len(plan.shards) == 1:
        return _run_single(client, plan, batch, args, display, stdout, progress)
    if client.batch_state_machine_arn is None:
        display.say(
            f"the corpus needs {len(plan.shards)} jobs, and stack {args.stack} has no "
            f"KeyPhrasesBatch to run them (no {contract.OUTPUT_BATCH_STATE_MACHINE} output)"
        )
        return INVALID_INPUT
    return _run_batch(client, plan, batch, args, display, stdout, progress)


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


def _run_single(
    client: KeyPhrasesClient,
    plan: UploadPlan,
    batch: str,
    args: argparse.Namespace,
    display: Display,
    stdout: TextIO,
    progress: CommandProgress,
) -> int:
    """Upload the files, start one execution, follow it, write its key phrases."""
    in_place = client.in_place_prefix(plan)
    if in_place is not None:
        display.say(f"reading {plan.source} where it is: nothing is copied")
        input_prefix = in_place
    else:
        _uploading(client, plan, batch, args, display)
        report = client.upload_plan(
            plan, batch=batch, concurrency=args.concurrency, on_progress=display.upload
        )
        display.say(
            f"uploaded {len(report.uploaded)} file(s), {report.bytes_uploaded:,} bytes, to "
            f"s3://{client.input_bucket}/{client.input_prefix}{report.batch_prefix}"
            f"{_resumed(report.already_uploaded, len(report.uploaded))}"
        )
        input_prefix = report.batch_prefix
    arn = client.start(
        input_prefix=input_prefix,
        language_code=args.language,
        input_format=args.format,
        name=batch,
    )
    progress.arn = arn
    display.say(f"started {arn}")
    outcome = _wait(client, arn, display, args.poll)
    progress.ended = True
    code = report_ending(client, outcome, display)
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
    progress: CommandProgress,
) -> int:
    """Upload the shards, start the batch, follow every shard, write the merged key phrases."""
    from cdk_kp.runtime.client import ExecutionFailedError

    _uploading(client, plan, batch, args, display)
    upload = client.upload_sharded(
        plan, batch=batch, concurrency=args.concurrency, on_progress=display.upload
    )
    display.say(
        f"uploaded {upload.files_uploaded} file(s), {upload.bytes_uploaded:,} bytes, as "
        f"{len(upload.shards)} shards under "
        f"s3://{client.input_bucket}/{client.input_prefix}{upload.batch_prefix}"
        f"{_resumed(upload.already_uploaded, upload.files_uploaded)}"
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
        code = report_ending(client, failed.outcome, display)
        # Stopped from outside, it has had its jobs listed already, with their stop commands.
        if failed.outcome.status not in ("ABORTED", "TIMED_OUT"):
            _report_unfinished_shards(client, arn, upload.shard_prefixes, display)
        return code
    progress.ended = True
    report_ending(client, outcome, display)
    return _write(client, outcome, args.out, stdout, display, progress)


def _uploading(
    client: KeyPhrasesClient,
    plan: UploadPlan,
    batch: str,
    args: argparse.Namespace,
    display: Display,
) -> None:
    """The line an upload starts with: what goes where, how many at once."""
    verb = "copying (server-side)" if plan.from_s3 else "uploading"
    display.say(
        f"{verb} {plan.objects:,} file(s), {plan.size:,} bytes, {args.concurrency} at once, to "
        f"s3://{client.input_bucket}/{client.input_prefix}{batch}/"
    )


def _resumed(already: int, total: int) -> str:
    """What a resumed upload says: how much was there already."""
    if not already:
        return ""
    return (
        f" (resumed: {already:,} of {total:,} were already there, unchanged, and were not "
        "sent again)"
    )


def _report_unfinished_shards(
    client: KeyPhrasesClient, arn: str, shard_prefixes: list[str], display: Display
) -> None:
    """Name each shard of a failed batch whose job did not complete, and why."""
    shards = client.batch_progress(arn, shard_prefixes)
    for shard in shards.shards:
        if shard.status == "PENDING":
            display.say(f"shard {shard.input_prefix} started no job (not run, or failed first)")
        elif shard.status != contract.JobStatus.COMPLETED:
            display.say(_shard_line(shard))


# -- status and results --------------------------------------------------------------------------


def _follow(
    args: argparse.Namespace, display: Display, stdout: TextIO, progress: CommandProgress
) -> int:
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
        return report_ending(client, outcome, display)
    outcome = client.describe(arn)
    if outcome.status == "RUNNING":
        display.say(f"RUNNING: no results yet; wait with: cdk-kp status {arn} --wait")
        return NOT_FINISHED
    progress.ended = True
    code = report_ending(client, outcome, display)
    if code == OK:
        code = _write(client, outcome, args.out, stdout, display, progress)
    return code


def _wait(client: KeyPhrasesClient, arn: str, display: Display, poll: float) -> Outcome:
    from cdk_kp.runtime.client import ExecutionFailedError

    try:
        return client.wait(arn, on_progress=display.progress, poll_seconds=poll)
    except ExecutionFailedError as failed:
        return failed.outcome


# -- writing the key phrases ---------------------------------------------------------------------


def _write(
    client: KeyPhrasesClient,
    outcome: Outcome,
    out: Path | None,
    stdout: TextIO,
    display: Display,
    progress: CommandProgress,
) -> int:
    progress.writing = str(out) if out else STANDARD_OUTPUT
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
