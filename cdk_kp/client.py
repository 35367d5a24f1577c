"""Run a deployed pipeline from Python: upload documents, start, wait, read the key phrases.

``KeyPhrasesClient.from_stack("KeyPhrasesStack")`` reads the stack's outputs; the constructor
takes bucket names and the state machine ARN directly. Only boto3 is needed (aws-cdk-lib is not
loaded).

    client = KeyPhrasesClient.from_stack("KeyPhrasesStack")
    report = client.upload(["docs/"], batch="2026-11-28")
    arn = client.start(input_prefix=report.batch_prefix, language_code="en")
    outcome = client.wait(arn, on_progress=print)
    for record in client.results(outcome):
        print(record.file, [p.text for p in record.key_phrases])
"""

from __future__ import annotations

import json
import tarfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import botocore.exceptions

from cdk_kp import contract

#: Execution statuses after which nothing changes.
FINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class KeyPhrasesError(Exception):
    """Base of every error the client raises on purpose."""


class StackNotFoundError(KeyPhrasesError):
    """The named CloudFormation stack does not exist (in this account and Region)."""


class NotAKeyPhrasesStackError(KeyPhrasesError):
    """The stack exists but lacks the outputs of a KeyPhrasesStack."""


class InvalidInputError(KeyPhrasesError):
    """The request cannot work: an unknown language or format, nothing to upload, and the like."""


class ExecutionFailedError(KeyPhrasesError):
    """The execution ended without success; ``error`` and ``cause`` are Step Functions'."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.error}: {outcome.cause}")
        self.outcome = outcome

    @property
    def error(self) -> str:
        return self.outcome.error or self.outcome.status


class ArchiveError(KeyPhrasesError):
    """Comprehend's output archive cannot be read."""


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


@dataclass
class UploadReport:
    """What :meth:`KeyPhrasesClient.upload` did, file by file: nothing is skipped silently."""

    batch_prefix: str
    uploaded: list[tuple[Path, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(path.stat().st_size for path, _ in self.uploaded)


@dataclass(frozen=True)
class Progress:
    """One look at a running execution, for progress callbacks."""

    execution_arn: str
    status: str
    elapsed: float


@dataclass(frozen=True)
class Outcome:
    """How an execution ended (or stands)."""

    execution_arn: str
    status: str
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class KeyPhrase:
    text: str
    score: float
    begin_offset: int
    end_offset: int


@dataclass(frozen=True)
class DocumentKeyPhrases:
    """The key phrases of one document: a file, or a line of a file for ONE_DOC_PER_LINE.

    ``error`` is set (``"<ErrorCode>: <ErrorMessage>"``) when Comprehend could not analyse the
    document; it then has no key phrases.
    """

    file: str
    line: int | None
    key_phrases: list[KeyPhrase]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "error": self.error,
            "key_phrases": [
                {
                    "text": p.text,
                    "score": p.score,
                    "begin_offset": p.begin_offset,
                    "end_offset": p.end_offset,
                }
                for p in self.key_phrases
            ],
        }


def read_key_phrases(stream: IO[bytes]) -> Iterator[DocumentKeyPhrases]:
    """Read Comprehend's ``output.tar.gz`` as a stream: one record per document, in order,
    without holding the archive in memory. Raises :class:`ArchiveError` on a corrupt archive or
    a line that is not Comprehend's JSON."""
    try:
        with tarfile.open(fileobj=stream, mode="r|gz") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                lines = archive.extractfile(member)
                if lines is None:
                    continue
                for number, raw in enumerate(lines, start=1):
                    if raw.strip():
                        yield _record(raw, member.name, number)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise ArchiveError(f"cannot read the output archive: {error}") from error


def _record(raw: bytes, member: str, number: int) -> DocumentKeyPhrases:
    try:
        data = json.loads(raw)
        error = None
        if "ErrorCode" in data:
            error = f"{data['ErrorCode']}: {data.get('ErrorMessage', '')}".rstrip(": ")
        return DocumentKeyPhrases(
            file=data["File"],
            line=data.get("Line"),
            error=error,
            key_phrases=[
                KeyPhrase(
                    text=p["Text"],
                    score=float(p["Score"]),
                    begin_offset=int(p["BeginOffset"]),
                    end_offset=int(p["EndOffset"]),
                )
                for p in data.get("KeyPhrases", [])
            ],
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(
            f"line {number} of {member} is not a key phrases record: {error}"
        ) from error


def check_document(path: Path, input_format: str) -> str | None:
    """Why ``path`` cannot be a Comprehend input, or ``None`` when it can."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return f"unreadable: {error.strerror or error}"
    if not data.strip():
        return "empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 (byte {error.start})"
    limit = contract.MAX_DOCUMENT_BYTES
    if input_format == "ONE_DOC_PER_FILE" and len(data) > limit:
        return f"{len(data):,} bytes, over Comprehend's {limit:,}-byte document limit"
    if input_format == "ONE_DOC_PER_LINE":
        for number, line in enumerate(text.splitlines(), start=1):
            if len(line.encode("utf-8")) > limit:
                return f"line {number} is over Comprehend's {limit:,}-byte document limit"
    return None


#: Characters an execution name may hold that Comprehend's JobName alphabet also allows (the
#: default job name is ``<prefix>-<execution name>``), and the length limit of both.
BATCH_NAME_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
MAX_BATCH_NAME = 80


def check_batch_name(batch: str) -> None:
    """Raise unless ``batch`` can name a key prefix, an execution and (in) a job name."""
    if not 1 <= len(batch) <= MAX_BATCH_NAME or not set(batch) <= BATCH_NAME_ALPHABET:
        raise InvalidInputError(
            f"batch must be 1 to {MAX_BATCH_NAME} letters, digits, '-' or '_' (it names the "
            f"execution and the job); got {batch!r}"
        )


def _files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """Each file under ``paths`` with the key it gets, relative to the folder given."""
    for given in map(Path, paths):
        if given.is_dir():
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                yield path, path.relative_to(given).as_posix()
        else:
            yield given, given.name


class KeyPhrasesClient:
    """A deployed key phrase pipeline, from Python.

    Uploading needs ``input_bucket`` and starting needs ``state_machine_arn``; describing,
    waiting for and reading the results of an execution need neither.
    """

    def __init__(
        self,
        *,
        input_bucket: str | None = None,
        state_machine_arn: str | None = None,
        output_bucket: str | None = None,
        input_prefix: str = "",
        input_format: str = "ONE_DOC_PER_LINE",
        session: boto3.Session | None = None,
    ) -> None:
        self.input_bucket = input_bucket
        #: The pipeline's default input format (what documents are checked against).
        self.input_format = input_format
        self.output_bucket = output_bucket
        self.input_prefix = input_prefix
        self.state_machine_arn = state_machine_arn
        self.session = session or boto3.Session()
        self._s3 = self.session.client("s3")
        self._sfn = self.session.client("stepfunctions")

    @classmethod
    def from_stack(
        cls, stack_name: str, *, session: boto3.Session | None = None
    ) -> KeyPhrasesClient:
        """The pipeline a KeyPhrasesStack deployed, from the stack's outputs."""
        session = session or boto3.Session()
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)
        except botocore.exceptions.ClientError as error:
            if "does not exist" in str(error):
                raise StackNotFoundError(f"no stack named {stack_name!r}") from error
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks["Stacks"][0].get("Outputs", [])}
        missing = [key for key in contract.REQUIRED_OUTPUTS if key not in outputs]
        if missing:
            raise NotAKeyPhrasesStackError(
                f"stack {stack_name!r} is not a cdk_kp stack: it has no output {', '.join(missing)}"
            )
        prefix = outputs.get(contract.OUTPUT_INPUT_PREFIX, "/")
        return cls(
            input_bucket=outputs[contract.OUTPUT_INPUT_BUCKET],
            output_bucket=outputs[contract.OUTPUT_OUTPUT_BUCKET],
            state_machine_arn=outputs[contract.OUTPUT_STATE_MACHINE],
            input_prefix="" if prefix == "/" else prefix,
            input_format=outputs.get(contract.OUTPUT_INPUT_FORMAT, "ONE_DOC_PER_LINE"),
            session=session,
        )

    @classmethod
    def for_execution(cls, execution_arn: str) -> KeyPhrasesClient:
        """A client for describing an execution and reading its results, in the execution's
        own Region (from its ARN)."""
        parts = execution_arn.split(":")
        if len(parts) < 8 or parts[2] != "states" or parts[5] != "execution":
            raise InvalidInputError(f"not a Step Functions execution ARN: {execution_arn!r}")
        return cls(session=boto3.Session(region_name=parts[3]))

    # -- upload ----------------------------------------------------------------------------------

    def upload(
        self,
        paths: Iterable[str | Path],
        *,
        batch: str | None = None,
        input_format: str | None = None,
    ) -> UploadReport:
        """Upload files and folders under ``<input prefix><batch>/``; a folder keeps its layout.

        A file that cannot be a Comprehend document (unreadable, empty, not UTF-8, over the
        1 MB document limit) is skipped and reported. ``batch`` defaults to a new unique name;
        the report's ``batch_prefix`` is what :meth:`start` takes as ``input_prefix``.
        Documents are checked against ``input_format``, by default the pipeline's.
        """
        input_format = input_format or self.input_format
        _check_choice("input_format", input_format, contract.INPUT_FORMATS)
        if self.input_bucket is None:
            raise InvalidInputError("upload needs the client's input_bucket")
        batch = batch or f"batch-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        check_batch_name(batch)
        report = UploadReport(batch_prefix=f"{batch}/")
        files = list(_files(paths))
        by_key: dict[str, list[Path]] = {}
        for path, relative in files:
            by_key.setdefault(relative, []).append(path)
        clashes = {key: found for key, found in by_key.items() if len(found) > 1}
        if clashes:
            shown = "; ".join(
                f"{key} <- {', '.join(map(str, found))}" for key, found in sorted(clashes.items())
            )
            raise InvalidInputError(
                f"these files would be uploaded to the same key, one overwriting another: {shown}"
            )
        for path, relative in files:
            if not path.exists():
                report.skipped.append(Skipped(path, "does not exist"))
                continue
            problem = check_document(path, input_format)
            if problem is not None:
                report.skipped.append(Skipped(path, problem))
                continue
            key = f"{self.input_prefix}{report.batch_prefix}{relative}"
            self._s3.upload_file(str(path), self.input_bucket, key)
            report.uploaded.append((path, key))
        return report

    # -- run -------------------------------------------------------------------------------------

    def start(
        self,
        *,
        input_prefix: str = "",
        language_code: str | None = None,
        input_format: str | None = None,
        job_name: str | None = None,
        name: str | None = None,
    ) -> str:
        """Start an execution (fields left out take the pipeline's defaults); its ARN."""
        if self.state_machine_arn is None:
            raise InvalidInputError("start needs the client's state_machine_arn")
        if language_code is not None:
            _check_choice("language_code", language_code, contract.LANGUAGE_CODES)
        if input_format is not None:
            _check_choice("input_format", input_format, contract.INPUT_FORMATS)
        request: dict[str, str] = {"inputPrefix": input_prefix}
        for key, value in (
            ("languageCode", language_code),
            ("inputFormat", input_format),
            ("jobName", job_name),
        ):
            if value is not None:
                request[key] = value
        arguments = {"stateMachineArn": self.state_machine_arn, "input": json.dumps(request)}
        if name is not None:
            arguments["name"] = name
        arn: str = self._sfn.start_execution(**arguments)["executionArn"]
        return arn

    def describe(self, execution_arn: str) -> Outcome:
        described = self._sfn.describe_execution(executionArn=execution_arn)
        output = described.get("output")
        return Outcome(
            execution_arn=execution_arn,
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
        )

    def wait(
        self,
        execution_arn: str,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        poll_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Outcome:
        """Wait for the execution to end, reporting progress; raise :class:`ExecutionFailedError`
        unless it succeeded."""
        began = time.monotonic()
        while True:
            outcome = self.describe(execution_arn)
            if on_progress is not None:
                on_progress(Progress(execution_arn, outcome.status, time.monotonic() - began))
            if outcome.status in FINAL_STATUSES:
                break
            sleep(poll_seconds)
        if not outcome.succeeded:
            raise ExecutionFailedError(outcome)
        return outcome

    # -- results ---------------------------------------------------------------------------------

    def results(self, outcome_or_uri: Outcome | str) -> Iterator[DocumentKeyPhrases]:
        """The key phrases of a succeeded execution (or of an ``s3://…/output.tar.gz``),
        streamed from S3."""
        if isinstance(outcome_or_uri, Outcome):
            if not outcome_or_uri.succeeded or outcome_or_uri.output is None:
                raise ExecutionFailedError(outcome_or_uri)
            uri = outcome_or_uri.output["outputS3Uri"]
        else:
            uri = outcome_or_uri
        # Not urlparse: an S3 key may hold '#' and '?', which are not a fragment or a query here.
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket or not key:
            raise InvalidInputError(f"not an s3://bucket/key URI: {uri!r}")
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield from read_key_phrases(body)
        finally:
            body.close()


def _check_choice(field_name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInputError(f"{field_name} must be one of {', '.join(allowed)}; got {value!r}")
