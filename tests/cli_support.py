"""What the `cdk-kp` end-to-end tests (tests/test_cli_*.py) share: a moto server with the bundled
stack deployed, the documents they run, and the helpers that drive the command and read what it
did.

The bundled stack's template is deployed into the server; the command uploads, starts, waits and
writes results through the same boto3 calls it makes against AWS. The test plays Comprehend: it
decides the job's status and, on completion, writes a real-format output.tar.gz at the job's
output location (computing "key phrases" from the documents the command uploaded) and reports
its URI as Describe does.

A test module takes the fixtures by importing them (``from .cli_support import aws as aws``):
``aws`` is module-scoped, so each module gets its own server, with nothing left by another's.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdk_kp.runtime import cli

from .emulator import ComprehendScript, LocalAws, ScriptedJob, local_aws, write_output


@pytest.fixture(scope="module")
def aws(bundled_template: Template) -> Iterator[LocalAws]:
    # A moto server serves the process's own moto backends, which outlive it: a server another
    # module ran earlier in this process left its stack there, and this one would leave its own
    # for the next. Each starts from empty backends and leaves them empty.
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    try:
        with local_aws(bundled_template.to_json(), server=True) as local:
            local.make_deployed_executable(local.outputs["StateMachineArn"])
            local.make_deployed_executable(local.outputs["BatchStateMachineArn"])
            yield local
    finally:
        moto_api_backend.reset()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "alpha.txt").write_text("Amazon Comprehend finds key phrases in Seattle.")
    (folder / "sub" / "beta.txt").write_text("The Space Needle stands in Seattle Center.")
    (folder / "gamma.txt").write_text("Nothing capitalized here except Python.")
    (folder / "latin.txt").write_bytes("Caf\u00e9 au lait".encode("latin-1"))
    (folder / "blank.txt").write_text("   \n")
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Seven files of three documents (lines) each."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for number in range(7):
        lines = [f"Report {number} line {line} names Berlin and Paris." for line in range(3)]
        (folder / f"report-{number}.txt").write_text("\n".join(lines) + "\n")
    return folder


def run_cli(aws: LocalAws, script: ComprehendScript, *argv: str) -> tuple[int, str, str]:
    aws.reset(script)
    out = io.StringIO()
    code = cli.main(list(argv), stdout=out)
    return code, out.getvalue(), ""


def run_sharded(
    aws: LocalAws, script: ComprehendScript, paths: Path, batch: str, documents: int, *extra: str
) -> tuple[int, str]:
    """`cdk-kp run` of ``paths`` on the bundled stack, in shards of at most ``documents``
    documents, as batch ``batch``: the exit code and stdout."""
    code, out, _ = run_cli(
        aws,
        script,
        "run",
        "--stack",
        "KeyPhrasesStack",
        str(paths),
        "--max-shard-documents",
        str(documents),
        "--batch",
        batch,
        "--poll",
        "0.05",
        *extra,
    )
    return code, out


def completes_on_second_describe(aws: LocalAws) -> ComprehendScript:
    script = ComprehendScript(
        status=lambda job, elapsed: "COMPLETED" if job.describe_calls >= 2 else "IN_PROGRESS"
    )
    script.on_complete = write_output(aws)
    return script


def input_objects(aws: LocalAws) -> dict[str, str]:
    """Every object of the input bucket, by key, with its ETag."""
    s3 = aws.session.client("s3")
    found: dict[str, str] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.outputs["InputBucketName"])
    for page in pages:
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def spy_uploads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the key of every object the client sends from now on (thread-safe: list.append
    is atomic)."""
    from cdk_kp.runtime import transfers

    uploads: list[str] = []
    original = transfers._transfer

    def transfer(s3: Any, bucket: str, sent: Any) -> None:
        uploads.append(sent.key)
        original(s3, bucket, sent)

    monkeypatch.setattr(transfers, "_transfer", transfer)
    return uploads


def started_arn(err: str) -> str:
    """The execution ARN `cdk-kp run` reported starting."""
    found = re.search(r"^started (?:batch )?(arn:\S+)$", err, re.M)
    assert found is not None, err
    return found.group(1)


def stop_commands(err: str) -> dict[str, str]:
    """The stop commands printed: job ID -> Region."""
    return dict(
        re.findall(
            r"^  aws comprehend stop-key-phrases-detection-job --job-id (\S+) --region (\S+)$",
            err,
            re.M,
        )
    )


class Gate:
    """A Comprehend whose Describe blocks until the test opens the gate, then reports ``then``.

    An execution polling its job stays RUNNING, inside its DescribeJob task, for as long as the
    test keeps the gate shut: interleavings are driven by the test, not by timing. ``entered``
    is set once ``jobs`` different jobs have been described (each of them exists by then).
    """

    def __init__(self, aws: LocalAws, *, jobs: int = 1, then: str = "IN_PROGRESS") -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()
        self.jobs = jobs
        self.then = then
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.script = ComprehendScript(status=self._status)
        self.script.on_complete = write_output(aws)

    def _status(self, job: ScriptedJob, elapsed: float) -> str | tuple[str, str]:
        with self._lock:
            self._seen.add(job.job_id)
            if len(self._seen) >= self.jobs:
                self.entered.set()
        if not self.opened.wait(timeout=60):
            # A safety net only (a test opens the gate itself): end the job, and with it the
            # execution, so that a test gone wrong fails instead of hanging.
            return ("FAILED", "the test never opened the gate")
        return self.then

    def wait_entered(self) -> None:
        assert self.entered.wait(timeout=30), f"{self.jobs} job(s) never described"

    def open(self, then: str) -> None:
        self.then = then
        self.opened.set()


def wait_until_ended(aws: LocalAws, arn: str) -> str:
    """Wait (in real time, bounded) for an execution the test let go to end; its status."""
    deadline = time.monotonic() + 30
    while True:
        status: str = aws.sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            return status
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.01)
