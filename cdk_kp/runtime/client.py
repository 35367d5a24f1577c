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

import dataclasses
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
from cdk_kp.runtime.sharding import (
    Document,
    Shard,
    check_limits,
    count_documents,
    oversize,
    plan_shards,
)

__all__ = [
    "ArchiveError",
    "BatchProgress",
    "DocumentKeyPhrases",
    "ExecutionFailedError",
    "ExecutionJobs",
    "InvalidInputError",
    "JobState",
    "KeyPhrase",
    "KeyPhrasesClient",
    "KeyPhrasesError",
    "NotAKeyPhrasesStackError",
    "Outcome",
    "Progress",
    "ShardStatus",
    "ShardedUpload",
    "Skipped",
    "StackNotFoundError",
    "UploadPlan",
    "UploadReport",
    "check_batch_name",
    "check_document",
    "check_document_data",
    "check_execution_arn",
    "execution_arn_of",
    "new_batch_name",
    "read_key_phrases",
    "region_of",
]

#: Execution statuses after which nothing changes.
FINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
#: Job statuses of a job that is still running (a stop would act on it).
ACTIVE_JOB_STATUSES = ("SUBMITTED", "IN_PROGRESS")
#: The pipeline's Comprehend start call, as an execution's history names its task.
_START_RESOURCE_TYPE = "aws-sdk:comprehend"
_START_RESOURCE = "startKeyPhrasesDetectionJob"


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
class UploadPlan:
    """What :meth:`KeyPhrasesClient.plan_upload` found: the shards and the files left out."""

    shards: list[Shard]
    skipped: list[Skipped]


@dataclass
class ShardedUpload:
    """What :meth:`KeyPhrasesClient.upload_sharded` did: the shards, each under
    ``<batch prefix>shard-<n>/``, and the manifest the batch reads."""

    batch_prefix: str
    manifest: str
    shards: list[Shard] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(shard.size for shard in self.shards)

    @property
    def files_uploaded(self) -> int:
        return sum(len(shard.files) for shard in self.shards)

    @property
    def shard_prefixes(self) -> list[str]:
        """Each shard's input prefix, relative to the pipeline's, in manifest order."""
        return [f"{self.batch_prefix}{shard.name}/" for shard in self.shards]


@dataclass(frozen=True)
class ShardStatus:
    """One shard of a batch: its prefix (relative to the input prefix) and how it stands.

    While a batch runs (:meth:`KeyPhrasesClient.batch_progress`), ``status`` is ``PENDING``
    until the shard's job starts (a shard that failed before starting one stays ``PENDING``),
    then the job's status (``SUBMITTED``, ``IN_PROGRESS``, ``COMPLETED``, ``FAILED``,
    ``STOP_REQUESTED``, ``STOPPED``). Once a batch has succeeded
    (:meth:`KeyPhrasesClient.batch_shards`), it is the Map Run's: ``SUCCEEDED``, or ``FAILED``
    with the shard's pipeline execution's ``error`` and ``cause``. ``execution_arn`` is that
    pipeline execution, where known.
    """

    input_prefix: str
    status: str
    job_id: str | None = None
    output_s3_uri: str | None = None
    error: str | None = None
    cause: str | None = None
    execution_arn: str | None = None


@dataclass(frozen=True)
class BatchProgress:
    """One look at a running batch: the execution's status and every shard's."""

    execution_arn: str
    status: str
    elapsed: float
    shards: list[ShardStatus]

    def counts(self) -> dict[str, int]:
        """Shards by status."""
        found: dict[str, int] = {}
        for shard in self.shards:
            found[shard.status] = found.get(shard.status, 0) + 1
        return found


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
class JobState:
    """A key phrase job an execution started, as it stands now: ``status`` is the job's
    (``None`` when it could not be read, ``problem`` then says why)."""

    job_id: str
    status: str | None
    problem: str | None = None

    @property
    def may_be_running(self) -> bool:
        """Whether the job is, or may be, still running (a stop would act on it)."""
        return self.status is None or self.status in ACTIVE_JOB_STATUSES


@dataclass(frozen=True)
class ExecutionJobs:
    """The key phrase jobs an execution started (:meth:`KeyPhrasesClient.execution_jobs`):
    a pipeline execution's job, or every job of a batch (``batch_job_name`` is then the name
    they all carry). ``jobs`` is empty when it started none."""

    execution_arn: str
    jobs: list[JobState]
    batch_job_name: str | None = None

    @property
    def region(self) -> str:
        """The Region the jobs run in: the execution's."""
        return region_of(self.execution_arn)


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
    data = _read(path)
    return data if isinstance(data, str) else check_document_data(data, input_format)


def _read(path: Path) -> bytes | str:
    """The file's bytes, or why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        return f"unreadable: {error.strerror or error}"


def check_document_data(data: bytes, input_format: str) -> str | None:
    """Why a file holding ``data`` cannot be a Comprehend input, or ``None`` when it can."""
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


def new_batch_name() -> str:
    """A new unique batch name: ``batch-<time>-<random>``."""
    return f"batch-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _batch_name(batch: str | None) -> str:
    batch = batch or new_batch_name()
    check_batch_name(batch)
    return batch


def check_execution_arn(execution_arn: str) -> None:
    """Raise unless ``execution_arn`` is shaped as a Step Functions execution ARN,
    ``arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>``."""
    parts = execution_arn.split(":")
    if (
        len(parts) < 8
        or parts[0] != "arn"
        or parts[2] != "states"
        or parts[5] != "execution"
        or not all(parts[1:5])
        or not all(parts[6:])
    ):
        raise InvalidInputError(
            "not a Step Functions execution ARN (arn:<partition>:states:<region>:<account>:"
            f"execution:<state machine>:<name>): {execution_arn!r}"
        )


def region_of(execution_arn: str) -> str:
    """The Region of an execution (or state machine) ARN."""
    return execution_arn.split(":")[3]


def execution_arn_of(state_machine_arn: str, name: str) -> str:
    """The ARN an execution named ``name`` of ``state_machine_arn`` has, or would have."""
    head, found, machine = state_machine_arn.partition(":stateMachine:")
    if not found or not machine:
        raise InvalidInputError(f"not a Step Functions state machine ARN: {state_machine_arn!r}")
    return f"{head}:execution:{machine}:{name}"


def _unique_files(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """The files under ``paths`` with their keys; raise if two would share a key."""
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
    return files


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
        batch_state_machine_arn: str | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        self.input_bucket = input_bucket
        #: The KeyPhrasesBatch state machine, which runs a sharded corpus.
        self.batch_state_machine_arn = batch_state_machine_arn
        #: The pipeline's default input format (what documents are checked against).
        self.input_format = input_format
        self.output_bucket = output_bucket
        self.input_prefix = input_prefix
        self.state_machine_arn = state_machine_arn
        self.session = session or boto3.Session()
        self._s3 = self.session.client("s3")
        self._sfn = self.session.client("stepfunctions")
        self._comprehend = self.session.client("comprehend")
        #: Batch job names by execution ARN, once read (they never change).
        self._job_names: dict[str, str] = {}

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
                raise StackNotFoundError(
                    f"no stack named {stack_name!r} {_where(session)} (the Region and account "
                    "come from your AWS configuration: AWS_REGION or AWS_DEFAULT_REGION, "
                    "AWS_PROFILE)"
                ) from error
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
            batch_state_machine_arn=outputs.get(contract.OUTPUT_BATCH_STATE_MACHINE),
            session=session,
        )

    @classmethod
    def for_execution(cls, execution_arn: str) -> KeyPhrasesClient:
        """A client for describing an execution and reading its results, in the execution's
        own Region (from its ARN)."""
        check_execution_arn(execution_arn)
        return cls(session=boto3.Session(region_name=region_of(execution_arn)))

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
        1 MB document limit, or alone over one job's 5 GB or 1,000,000 documents) is skipped and
        reported. Files that together are over one job's limits are refused before anything is
        uploaded (:class:`InvalidInputError`): run them as a batch (:meth:`upload_sharded`).
        ``batch`` defaults to a new unique name; the report's ``batch_prefix`` is what
        :meth:`start` takes as ``input_prefix``. Documents are checked against
        ``input_format``, by default the pipeline's.
        """
        input_format = self._upload_format(input_format)
        batch = _batch_name(batch)
        return self.upload_plan(self.plan_upload(paths, input_format=input_format), batch=batch)

    def upload_plan(self, plan: UploadPlan, *, batch: str | None = None) -> UploadReport:
        """Upload a plan of one shard under ``<input prefix><batch>/`` (files keep their
        layout), for :meth:`start`; a plan of more shards is refused
        (:class:`InvalidInputError`)."""
        if len(plan.shards) > 1:
            raise InvalidInputError(
                f"the files need {len(plan.shards)} jobs (one job reads at most 5 GB and "
                "1,000,000 documents): upload them with upload_sharded and run them with "
                "start_batch"
            )
        if self.input_bucket is None:
            raise InvalidInputError("upload needs the client's input_bucket")
        report = UploadReport(batch_prefix=f"{_batch_name(batch)}/", skipped=list(plan.skipped))
        for shard in plan.shards:
            for document in shard.files:
                key = f"{self.input_prefix}{report.batch_prefix}{document.key}"
                self._put_file(document.path, key)
                report.uploaded.append((document.path, key))
        return report

    def plan_upload(
        self,
        paths: Iterable[str | Path],
        *,
        input_format: str | None = None,
        max_shard_bytes: int = contract.MAX_JOB_BYTES,
        max_shard_documents: int = contract.MAX_JOB_DOCUMENTS,
    ) -> UploadPlan:
        """Check and measure the files under ``paths`` and pack them into shards that each fit
        one job, uploading nothing.

        Files are checked as :meth:`upload` checks them (and a file too big for one job is
        skipped and reported), then packed in order, whole, into shards of at most
        ``max_shard_bytes`` and ``max_shard_documents`` (default: one job's limits, 5 GB and
        1,000,000 documents).
        """
        input_format = self._upload_format(input_format)
        try:
            check_limits(max_shard_bytes, max_shard_documents)
        except ValueError as error:
            raise InvalidInputError(str(error)) from error
        skipped: list[Skipped] = []
        documents: list[Document] = []
        for path, relative in _unique_files(paths):
            if not path.exists():
                skipped.append(Skipped(path, "does not exist"))
                continue
            # Each file is read once: checked, then measured.
            data = _read(path)
            problem = data if isinstance(data, str) else check_document_data(data, input_format)
            if problem is None:
                assert isinstance(data, bytes)
                document = Document(path, relative, len(data), count_documents(data, input_format))
                problem = oversize(document, max_shard_bytes, max_shard_documents)
            if problem is not None:
                skipped.append(Skipped(path, problem))
                continue
            documents.append(document)
        shards = plan_shards(
            documents, max_bytes=max_shard_bytes, max_documents=max_shard_documents
        )
        return UploadPlan(shards=shards, skipped=skipped)

    def upload_sharded(self, plan: UploadPlan, *, batch: str | None = None) -> ShardedUpload:
        """Upload a plan's shards, shard ``n`` under ``<batch>/shard-<n>/`` keeping the files'
        layout, then the manifest of the shards (``<batch>/manifest.json``) that
        :meth:`start_batch` takes. ``batch`` defaults to a new unique name."""
        if self.input_bucket is None:
            raise InvalidInputError("upload needs the client's input_bucket")
        batch = _batch_name(batch)
        upload = ShardedUpload(
            batch_prefix=f"{batch}/",
            manifest=f"{batch}/manifest.json",
            shards=plan.shards,
            skipped=plan.skipped,
        )
        if not plan.shards:
            return upload
        for shard in plan.shards:
            for document in shard.files:
                key = f"{self.input_prefix}{upload.batch_prefix}{shard.name}/{document.key}"
                self._put_file(document.path, key)
        self._s3.put_object(
            Bucket=self.input_bucket,
            Key=f"{self.input_prefix}{upload.manifest}",
            Body=json.dumps([{"inputPrefix": p} for p in upload.shard_prefixes]).encode(),
            ContentType="application/json",
        )
        return upload

    def _upload_format(self, input_format: str | None) -> str:
        input_format = input_format or self.input_format
        _check_choice("input_format", input_format, contract.INPUT_FORMATS)
        if self.input_bucket is None:
            raise InvalidInputError("upload needs the client's input_bucket")
        return input_format

    def _put_file(self, path: Path, key: str) -> None:
        assert self.input_bucket is not None
        self._s3.upload_file(str(path), self.input_bucket, key)

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

    def executions_named(self, name: str) -> list[Outcome]:
        """The executions named ``name`` of the pipeline's and of the batch's state machine:
        what a run as batch ``name`` would collide with (both name their executions after the
        batch, and both read the batch's upload prefix), found with DescribeExecution."""
        found: list[Outcome] = []
        for machine in (self.state_machine_arn, self.batch_state_machine_arn):
            if machine is None:
                continue
            try:
                found.append(self.describe(execution_arn_of(machine, name)))
            except botocore.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                    raise
        return found

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

    # -- batches ---------------------------------------------------------------------------------

    def start_batch(
        self,
        *,
        manifest: str,
        language_code: str | None = None,
        input_format: str | None = None,
        name: str | None = None,
    ) -> str:
        """Start a batch over the shards ``manifest`` lists (its key relative to the input
        prefix, as :meth:`upload_sharded` reports it); the execution's ARN."""
        if self.batch_state_machine_arn is None:
            raise InvalidInputError(
                "start_batch needs the client's batch_state_machine_arn (a stack with a "
                "KeyPhrasesBatch exports it as BatchStateMachineArn)"
            )
        request: dict[str, str] = {"manifest": manifest}
        if language_code is not None:
            _check_choice("language_code", language_code, contract.LANGUAGE_CODES)
            request["languageCode"] = language_code
        if input_format is not None:
            _check_choice("input_format", input_format, contract.INPUT_FORMATS)
            request["inputFormat"] = input_format
        arguments = {"stateMachineArn": self.batch_state_machine_arn, "input": json.dumps(request)}
        if name is not None:
            arguments["name"] = name
        arn: str = self._sfn.start_execution(**arguments)["executionArn"]
        return arn

    def batch_job_name(self, execution_arn: str) -> str | None:
        """The name every job of the batch carries, once the batch has resolved it (its
        ``ResolveBatch`` state), else ``None``. Read from the history once per execution."""
        if execution_arn in self._job_names:
            return self._job_names[execution_arn]
        pages = self._sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn, includeExecutionData=True
        )
        for page in pages:
            for event in page["events"]:
                exited = event.get("stateExitedEventDetails", {})
                if exited.get("name") == "ResolveBatch":
                    name = json.loads(exited.get("output") or "{}").get("jobName")
                    if not isinstance(name, str):
                        return None
                    self._job_names[execution_arn] = name
                    return name
            break  # it is among the first events: one page is enough
        return None

    def batch_jobs(self, job_name: str) -> list[dict[str, Any]]:
        """Every key phrase job named ``job_name``: the jobs of one batch."""
        jobs: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            arguments: dict[str, Any] = {"Filter": {"JobName": job_name}, "MaxResults": 500}
            if token:
                arguments["NextToken"] = token
            page = self._comprehend.list_key_phrases_detection_jobs(**arguments)
            jobs.extend(page.get("KeyPhrasesDetectionJobPropertiesList", []))
            token = page.get("NextToken")
            if not token:
                return jobs

    def execution_jobs(self, execution_arn: str) -> ExecutionJobs:
        """The key phrase jobs an execution started, each with its current status: for a batch,
        every job carrying the batch's name; for a pipeline execution, the job its start task
        (the definition's ``StartJob``) returned, read from the execution history and described.
        When the start call has no recorded result (the execution was stopped during it), the
        job it may have created is looked up by its name and output location."""
        job_name = self.batch_job_name(execution_arn)
        if job_name is not None:
            jobs = [
                JobState(job["JobId"], job.get("JobStatus"))
                for job in self.batch_jobs(job_name)
                if job.get("JobId")
            ]
            return ExecutionJobs(execution_arn, jobs, batch_job_name=job_name)
        requests: list[dict[str, Any]] = []
        job_ids: list[str] = []
        pages = self._sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn, includeExecutionData=True
        )
        for page in pages:
            for event in page["events"]:
                scheduled = event.get("taskScheduledEventDetails") or {}
                if _is_start(scheduled):
                    requests.append(_json_or_empty(scheduled.get("parameters")))
                succeeded = event.get("taskSucceededEventDetails") or {}
                if _is_start(succeeded):
                    job_id = _json_or_empty(succeeded.get("output")).get("JobId")
                    if isinstance(job_id, str) and job_id not in job_ids:
                        job_ids.append(job_id)
            if job_ids:
                break  # the start is among the first events: the polls need not be read
        if job_ids:
            return ExecutionJobs(execution_arn, [self._job_state(job_id) for job_id in job_ids])
        found: dict[str, JobState] = {}
        for request in requests:
            name = request.get("JobName")
            output = request.get("OutputDataConfig", {}).get("S3Uri")
            if not isinstance(name, str) or not name:
                continue
            for job in self.batch_jobs(name):
                if job.get("JobId") and job.get("OutputDataConfig", {}).get("S3Uri") == output:
                    found[job["JobId"]] = JobState(job["JobId"], job.get("JobStatus"))
        return ExecutionJobs(execution_arn, list(found.values()))

    def _job_state(self, job_id: str) -> JobState:
        try:
            described = self._comprehend.describe_key_phrases_detection_job(JobId=job_id)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            return JobState(job_id, None, problem=str(error))
        status = described.get("KeyPhrasesDetectionJobProperties", {}).get("JobStatus")
        return JobState(job_id, status)

    def batch_progress(
        self, execution_arn: str, shards: Iterable[str], *, elapsed: float = 0.0
    ) -> BatchProgress:
        """How the batch and each of ``shards`` (input prefixes, relative to the input prefix)
        stand: from the execution and the jobs carrying the batch's name."""
        status = self._sfn.describe_execution(executionArn=execution_arn)["status"]
        job_name = self.batch_job_name(execution_arn)
        by_uri: dict[str, dict[str, Any]] = {}
        for job in self.batch_jobs(job_name) if job_name else []:
            uri = job.get("InputDataConfig", {}).get("S3Uri", "")
            # A shard retried (a redriven batch) has several jobs: the latest stands.
            latest = by_uri.get(uri)
            if latest is None or str(job.get("SubmitTime")) >= str(latest.get("SubmitTime")):
                by_uri[uri] = job
        found: list[ShardStatus] = []
        for prefix in shards:
            shard_job = by_uri.get(self._input_uri(prefix))
            if shard_job is None:
                found.append(ShardStatus(prefix, "PENDING"))
            else:
                found.append(
                    ShardStatus(
                        prefix,
                        shard_job.get("JobStatus", "SUBMITTED"),
                        job_id=shard_job.get("JobId"),
                        output_s3_uri=shard_job.get("OutputDataConfig", {}).get("S3Uri"),
                        cause=shard_job.get("Message"),
                    )
                )
        return BatchProgress(execution_arn, status, elapsed, found)

    def wait_batch(
        self,
        execution_arn: str,
        shards: Iterable[str],
        *,
        on_progress: Callable[[BatchProgress], None] | None = None,
        poll_seconds: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Outcome:
        """Wait for the batch to end, reporting every shard's progress; raise
        :class:`ExecutionFailedError` unless it succeeded."""
        shards = list(shards)
        began = time.monotonic()
        while True:
            progress = self.batch_progress(execution_arn, shards, elapsed=time.monotonic() - began)
            if on_progress is not None:
                on_progress(progress)
            if progress.status in FINAL_STATUSES:
                break
            sleep(poll_seconds)
        outcome = self.describe(execution_arn)
        if not outcome.succeeded:
            raise ExecutionFailedError(outcome)
        return outcome

    def batch_shards(self, outcome: Outcome) -> list[ShardStatus]:
        """Every shard of a succeeded batch, from the Map Run's result files, by prefix; a failed
        shard's job (when it started one) from the jobs carrying the batch's name."""
        output = outcome.output or {}
        if not outcome.succeeded or "resultsManifest" not in output:
            raise ExecutionFailedError(outcome)
        bucket = output["resultsBucket"]
        manifest = self._read_json(bucket, output["resultsManifest"])
        shards: list[ShardStatus] = []
        for status, files in manifest.get("ResultFiles", {}).items():
            for result_file in files:
                for record in self._read_json(bucket, result_file["Key"]):
                    shards.append(_shard_of(status, record))
        if any(shard.job_id is None for shard in shards) and output.get("jobName"):
            # A failed shard's record has no output: its job, if it started one, is the one
            # of the batch's jobs writing below its pipeline execution's name.
            jobs = self.batch_jobs(output["jobName"])
            shards = [
                shard if shard.job_id is not None else _with_job(shard, _job_of(shard, jobs))
                for shard in shards
            ]
        return sorted(shards, key=lambda shard: shard.input_prefix)

    def _input_uri(self, prefix: str) -> str:
        return f"s3://{self.input_bucket}/{self.input_prefix}{prefix}"

    def batch_results(self, shards: Iterable[ShardStatus]) -> Iterator[DocumentKeyPhrases]:
        """The key phrases of every completed shard, shard after shard: each document once."""
        for shard in shards:
            if shard.status in ("SUCCEEDED", "COMPLETED") and shard.output_s3_uri:
                yield from self.results(shard.output_s3_uri)

    def _read_json(self, bucket: str, key: str) -> Any:
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return json.loads(body.read())
        finally:
            body.close()

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


def _is_start(details: dict[str, Any]) -> bool:
    """Whether a task event's details are of the pipeline's StartKeyPhrasesDetectionJob call."""
    return (
        details.get("resourceType") == _START_RESOURCE_TYPE
        and details.get("resource") == _START_RESOURCE
    )


def _shard_of(status: str, record: dict[str, Any]) -> ShardStatus:
    """A shard from one record of a Map Run result file (AWS's ``ResultWriter`` format)."""
    shard_input = _json_or_empty(record.get("Input"))
    prefix = str(shard_input.get("inputPrefix", ""))
    if status == "SUCCEEDED":
        output = _json_or_empty(record.get("Output"))
        return ShardStatus(
            prefix,
            "SUCCEEDED",
            job_id=output.get("jobId"),
            output_s3_uri=output.get("outputS3Uri"),
            execution_arn=output.get("executionArn"),
        )
    error, cause = record.get("Error"), record.get("Cause")
    # A shard whose pipeline execution failed fails with States.TaskFailed, the execution's
    # description (with its own error and cause) as the cause.
    described = _json_or_empty(cause) if error == "States.TaskFailed" else {}
    if described.get("Error"):
        error, cause = described.get("Error"), described.get("Cause")
    return ShardStatus(
        prefix, status, error=error, cause=cause, execution_arn=described.get("ExecutionArn")
    )


def _job_of(shard: ShardStatus, jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The job of ``shard``'s pipeline execution: the pipeline writes each execution's output
    below ``<output prefix><execution name>/``, and execution names are unique."""
    if not shard.execution_arn:
        return None
    folder = f"/{shard.execution_arn.rsplit(':', 1)[-1]}/"
    found = [j for j in jobs if folder in j.get("OutputDataConfig", {}).get("S3Uri", "")]
    return max(found, key=lambda job: str(job.get("SubmitTime")), default=None)


def _with_job(shard: ShardStatus, job: dict[str, Any] | None) -> ShardStatus:
    if job is None:
        return shard
    return dataclasses.replace(
        shard,
        job_id=job.get("JobId"),
        output_s3_uri=job.get("OutputDataConfig", {}).get("S3Uri"),
    )


def _where(session: boto3.Session) -> str:
    """``in Region <r> of account <a>``: where a stack was looked for. The account comes from
    STS GetCallerIdentity (which needs no permission); without it, only the Region."""
    where = f"in Region {session.region_name}"
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, KeyError):
        return where
    return f"{where} of account {account}"


def _json_or_empty(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_choice(field_name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidInputError(f"{field_name} must be one of {', '.join(allowed)}; got {value!r}")
