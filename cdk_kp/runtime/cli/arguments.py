"""``cdk-kp``'s command line. Each value is checked as it is parsed: a wrong one is a usage
error (exit 2) before any AWS call or file read, and the checks load no AWS SDK."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

from cdk_kp import contract
from cdk_kp.runtime.cli.exit_codes import EXIT_CODES_HELP

#: Seconds between two looks at an execution, unless ``--poll`` says otherwise.
DEFAULT_POLL_SECONDS = 10.0


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
    _add_run_arguments(run)
    _add_plan_command(commands)
    status = commands.add_parser(
        "status",
        help="show an execution's status (and wait for it with --wait)",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("execution_arn", type=_execution_arn_value, metavar="EXECUTION_ARN")
    status.add_argument("--wait", action="store_true", help="wait until it ends")
    _add_poll_argument(status)
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


#: What a PATH of ``run`` and ``plan`` may be.
PATHS_HELP = (
    "files or folders, or s3://BUCKET/PREFIX (every object under the prefix; not mixed with "
    "local paths)"
)


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    from cdk_kp.runtime.transfers import DEFAULT_CONCURRENCY

    run.add_argument("paths", nargs="+", type=_path_value, metavar="PATH", help=PATHS_HELP)
    run.add_argument("--stack", required=True, help="name of the deployed KeyPhrasesStack")
    run.add_argument("--language", choices=contract.LANGUAGE_CODES, help="default: the stack's")
    _add_format_argument(run, "default: the stack's")
    run.add_argument(
        "--concurrency",
        type=_concurrency_value,
        default=DEFAULT_CONCURRENCY,
        help=f"files uploaded (or copied) at once, 1 to {MAX_CONCURRENCY} (default: "
        f"{DEFAULT_CONCURRENCY})",
    )
    run.add_argument(
        "--batch",
        type=_batch_value,
        help=f"batch name: 1 to {contract.EXECUTION_NAME_MAX_LENGTH} letters, digits, - and _ "
        "(default: batch-<time>-<random>); it names the upload prefix and the execution. A name "
        "an execution already has (of the pipeline or of the batch state machine) is refused "
        "before anything is uploaded",
    )
    run.add_argument(
        "--out",
        type=_out_value,
        help="results.jsonl or results.csv, in a folder that exists (default: JSON lines on "
        "stdout)",
    )
    _add_poll_argument(run)
    _add_shard_arguments(run)


def _add_format_argument(command: argparse.ArgumentParser, default: str) -> None:
    command.add_argument(
        "--format",
        choices=contract.INPUT_FORMATS,
        help=f"one document per file, or per line ({default})",
    )


def _add_shard_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--max-shard-bytes",
        type=_shard_bytes_value,
        default=contract.MAX_JOB_BYTES,
        help="a corpus over this size (default: 5 GB, one job's limit) is split into shards "
        "run as one batch",
    )
    command.add_argument(
        "--max-shard-documents",
        type=_shard_documents_value,
        default=contract.MAX_JOB_DOCUMENTS,
        help="likewise for the number of documents (default: 1,000,000)",
    )


def _add_plan_command(commands: Any) -> None:
    from cdk_kp.runtime.estimate import DEFAULT_PRICE_PER_UNIT

    plan = commands.add_parser(
        "plan",
        help="show the shards, skipped files and estimated charge of a corpus; upload nothing",
        description="Check and measure PATHs as run would, and print the shards they make "
        "(documents and bytes each), the files left out and why, and an estimate of "
        "Comprehend's charge. Nothing is uploaded or started. With --format and local paths "
        "no AWS credentials are needed; without --format, --stack names the pipeline whose "
        "default format applies.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("paths", nargs="+", type=_path_value, metavar="PATH", help=PATHS_HELP)
    _add_format_argument(plan, "default: the --stack's")
    plan.add_argument("--stack", help="the deployed KeyPhrasesStack whose format applies")
    _add_shard_arguments(plan)
    plan.add_argument(
        "--price-per-unit",
        type=_price_value,
        default=DEFAULT_PRICE_PER_UNIT,
        help=f"USD a unit of 100 characters (default: {DEFAULT_PRICE_PER_UNIT}, the first tier of "
        "the published price of key phrase extraction)",
    )
    plan.add_argument("--json", action="store_true", help="print one JSON object")


def _add_poll_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--poll",
        type=_poll_value,
        default=DEFAULT_POLL_SECONDS,
        help="seconds between status checks",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cdk_kp")
    except PackageNotFoundError:
        return "unknown (not installed)"


# -- the values ----------------------------------------------------------------------------------
# The client's checks come from its modules that need no AWS SDK (not cdk_kp.runtime.client).


def _batch_value(value: str) -> str:
    from cdk_kp.runtime.errors import InvalidInputError
    from cdk_kp.runtime.executions import check_batch_name

    try:
        check_batch_name(value)
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _execution_arn_value(value: str) -> str:
    from cdk_kp.runtime.errors import InvalidInputError
    from cdk_kp.runtime.executions import check_execution_arn

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


#: The most uploads ``--concurrency`` allows at once.
MAX_CONCURRENCY = 256


def _path_value(value: str) -> Path | str:
    """A local path, or an ``s3://BUCKET[/PREFIX]`` URI (kept as a string)."""
    from cdk_kp.runtime.errors import InvalidInputError
    from cdk_kp.runtime.uploads import is_s3_uri, split_corpus_uri

    if not is_s3_uri(value):
        return Path(value)
    try:
        split_corpus_uri(value)
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _concurrency_value(value: str) -> int:
    number = _whole_number(value)
    if not 1 <= number <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CONCURRENCY}; got {number}")
    return number


def _price_value(value: str) -> float:
    try:
        price = float(value)
    except ValueError:
        price = math.nan
    if not math.isfinite(price) or price < 0:
        raise argparse.ArgumentTypeError(f"must be a price in USD, 0 or more; got {value!r}")
    return price


def _whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {value!r}") from None


def _shard_bytes_value(value: str) -> int:
    number = _whole_number(value)
    _check_shard_limits(number, contract.MAX_JOB_DOCUMENTS)
    return number


def _shard_documents_value(value: str) -> int:
    number = _whole_number(value)
    _check_shard_limits(contract.MAX_JOB_BYTES, number)
    return number


def _check_shard_limits(max_bytes: int, max_documents: int) -> None:
    from cdk_kp.runtime.sharding import check_limits

    try:
        check_limits(max_bytes, max_documents)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _poll_value(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0; got {value!r}")
    return seconds
