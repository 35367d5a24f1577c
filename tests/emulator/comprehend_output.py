"""The emulated Comprehend's output: "key phrases" of the input documents, written where
Comprehend writes them (``<output prefix><account>-KP-<job id>/output/output.tar.gz``)."""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moto.comprehend.models import ComprehendJob
from moto.s3.models import s3_backends

from .common import ACCOUNT
from .comprehend import ScriptedJob

if TYPE_CHECKING:
    from .local import LocalAws

CAPITALIZED = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def phrases_of(text: str) -> list[dict[str, Any]]:
    """The emulated Comprehend's "key phrases": runs of capitalized words, with offsets."""
    return [
        {"Text": m.group(), "Score": 0.99, "BeginOffset": m.start(), "EndOffset": m.end()}
        for m in CAPITALIZED.finditer(text)
    ]


def _records(job: ComprehendJob) -> list[str]:
    """One JSON line per document of the job's input (a file, or a line of one)."""
    backend = s3_backends[ACCOUNT]["global"]
    bucket, _, prefix = job.input_s3_config["S3Uri"][len("s3://") :].partition("/")
    per_line = job.input_s3_config.get("InputFormat") == "ONE_DOC_PER_LINE"
    lines = []
    for key in sorted(backend.get_bucket(bucket).keys):
        if not key.startswith(prefix):
            continue
        stored = backend.get_object(bucket, key)
        assert stored is not None
        text = stored.value.decode("utf-8")
        name = key[len(prefix) :]
        if per_line:
            for number, doc in enumerate(text.splitlines()):
                record = {"File": name, "Line": number, "KeyPhrases": phrases_of(doc)}
                lines.append(json.dumps(record))
        else:
            lines.append(json.dumps({"File": name, "KeyPhrases": phrases_of(text)}))
    return lines


def write_output(aws: LocalAws) -> Callable[[ScriptedJob, ComprehendJob], None]:
    """on_complete: read the job's input from moto's S3, write its output archive."""

    def complete(scripted: ScriptedJob, job: ComprehendJob) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            data = ("\n".join(_records(job)) + "\n").encode()
            info = tarfile.TarInfo("output")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        out_bucket, _, out_prefix = job.output_s3_config["S3Uri"][len("s3://") :].partition("/")
        key = f"{out_prefix}{ACCOUNT}-KP-{job.job_id}/output/output.tar.gz"
        s3_backends[ACCOUNT]["global"].put_object(out_bucket, key, buffer.getvalue())
        job.output_s3_config["S3Uri"] = f"s3://{out_bucket}/{key}"

    return complete
