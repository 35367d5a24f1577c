"""Sending, without a server: the bounded pool stops at the first error, copies of S3 sources
are pinned to the version that was planned, and a batch folder holding objects the upload would
not write is refused before anything is sent."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.response import StreamingBody
from botocore.validate import validate_parameters
from moto import mock_aws

from cdk_kp.runtime import transfers
from cdk_kp.runtime.client import InvalidInputError, KeyPhrasesClient
from cdk_kp.runtime.sharding import Document, S3Object
from cdk_kp.runtime.uploads import Transfer

S3_MODEL = botocore.session.get_session().get_service_model("s3")


def test_the_first_error_cancels_what_is_queued():
    started: list[int] = []

    def work(item: Any) -> None:
        started.append(item)
        if item == 0:
            raise RuntimeError("the first transfer failed")

    items: Any = list(range(100))
    # One worker, so at most two queued: the first fails, the second may have begun by then,
    # and nothing after it is started.
    with pytest.raises(RuntimeError, match="the first transfer failed"):
        transfers._bounded(work, items, concurrency=1)
    assert started in ([0], [0, 1])


class RecordingS3:
    """Records each call and checks its parameters against botocore's S3 model."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**params: Any) -> Any:
            operation = S3_MODEL.operation_model("".join(p.title() for p in name.split("_")))
            wire = dict(params)
            if isinstance(wire.get("CopySource"), dict):  # boto3 writes the dict form as a string
                wire["CopySource"] = "{Bucket}/{Key}".format(**wire["CopySource"])
            validate_parameters(wire, operation.input_shape)
            self.calls.append((name, params))
            if name == "get_object":
                return {"Body": StreamingBody(io.BytesIO(b"x" * 10), 10)}
            if name == "create_multipart_upload":
                return {"UploadId": "u"}
            if name == "upload_part_copy":
                return {"CopyPartResult": {"ETag": '"p"'}}
            return {}

        return call


SOURCE = S3Object("lake", "big.txt", "0123456789abcdef")


def copies(document: Document) -> list[tuple[str, dict[str, Any]]]:
    s3 = RecordingS3()
    transfers._transfer(s3, "input", Transfer(document, "b/shard-00000/big.txt"))
    return s3.calls


@pytest.mark.parametrize(
    ("size", "parts", "reading_call"),
    [
        (10, 1, "copy_object"),
        (10, 2, "get_object"),
        (12 * 1024 * 1024, 2, "upload_part_copy"),
    ],
)
def test_every_read_of_an_s3_source_is_pinned_to_the_planned_version(size, parts, reading_call):
    document = Document(SOURCE, "big.txt", size, 1, parts=parts, fingerprint="f")
    calls = copies(document)
    reads = [params for name, params in calls if name == reading_call]
    assert reads
    for params in reads:
        pinned = params.get("CopySourceIfMatch", params.get("IfMatch"))
        assert pinned == f'"{SOURCE.etag}"'


@pytest.fixture
def client() -> Iterator[KeyPhrasesClient]:
    with mock_aws():
        session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        session.client("s3").create_bucket(Bucket="input")
        yield KeyPhrasesClient(input_bucket="input", input_prefix="in/", session=session)


def test_a_folder_holding_objects_the_upload_would_not_write_is_refused(client, tmp_path):
    def write(count: int) -> None:
        for number in range(count):
            (tmp_path / f"report-{number}.txt").write_text("Berlin\nParis\nLisbon\n")

    write(3)
    first = client.upload_sharded(client.plan_upload([tmp_path], max_shard_documents=3), batch="b")
    assert len(first.shards) == 3
    # Bigger shards: report-1.txt moves to shard-00000 and report-2.txt to shard-00001.
    plan = client.plan_upload([tmp_path], max_shard_documents=6)
    with pytest.raises(InvalidInputError, match=r"s3://input/in/b/ already holds 2 object\(s\)"):
        client.upload_sharded(plan, batch="b")
    listed = client.session.client("s3").list_objects_v2(Bucket="input", Prefix="in/b/")
    assert len(listed["Contents"]) == 4  # three files and the manifest, as the first run left


def test_the_same_plan_again_is_resumed_not_refused(client, tmp_path):
    (tmp_path / "a.txt").write_text("Berlin\n")
    plan = client.plan_upload([tmp_path])
    client.upload_plan(plan, batch="b")
    assert client.upload_plan(plan, batch="b").already_uploaded == 1


def test_a_part_of_a_local_file_is_read_as_a_window(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes(b"0123456789")
    with transfers.FileWindow(Path(path), 3, 4) as window:
        assert window.read() == b"3456"
        window.seek(1)
        assert window.read(2) == b"45"
        assert window.seek(0, 2) == 4
        assert window.read() == b""


class ChunkReadingS3:
    """Reads each request body as botocore does, in 1 MiB requests until it is empty, and keeps
    only what it read (its digest and size), each part's and object's."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[str, int]] = {}
        self.parts: list[int] = []
        self.largest_read = 0

    def _drain(self, body: Any) -> tuple[str, int]:
        import hashlib

        assert not isinstance(body, bytes | bytearray), "the body was read whole beforehand"
        digest, size = hashlib.sha256(), 0
        while chunk := body.read(1024 * 1024):
            self.largest_read = max(self.largest_read, len(chunk))
            digest.update(chunk)
            size += len(chunk)
        return digest.hexdigest(), size

    def put_object(self, **params: Any) -> None:
        self.objects[params["Key"]] = self._drain(params["Body"])

    def create_multipart_upload(self, **_: Any) -> dict[str, str]:
        return {"UploadId": "u"}

    def upload_part(self, **params: Any) -> dict[str, str]:
        self.parts.append(self._drain(params["Body"])[1])
        return {"ETag": f'"{params["PartNumber"]}"'}

    def complete_multipart_upload(self, **params: Any) -> None:
        self.objects[params["Key"]] = ("parts", sum(self.parts))


def test_a_local_document_is_streamed_from_disk_a_bounded_read_at_a_time(tmp_path):
    """Whatever a file's size, a request's body is a window on the file, read at most
    READ_BYTES at a time: sending 27 MB holds well under 1 MB of Python objects at its peak."""
    import hashlib
    import tracemalloc

    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    size = 3 * transfers.PART_BYTES + 123
    with big.open("wb") as stream:
        for _ in range(size // 1_000_000 + 1):
            stream.write(os.urandom(1_000_000))
        stream.truncate(size)
    small.write_bytes(os.urandom(transfers.PART_BYTES - 1))
    s3 = ChunkReadingS3()
    tracemalloc.start()
    try:
        for path in (big, small):
            document = Document(path, path.name, path.stat().st_size, 1, fingerprint="f")
            transfers._transfer(s3, "input", Transfer(document, path.name))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak
    assert s3.largest_read == transfers.READ_BYTES
    # Parts of 8 MiB, the last taking the 123 bytes that would be a part under 5 MiB.
    assert s3.parts == [transfers.PART_BYTES] * 2 + [transfers.PART_BYTES + 123]
    assert s3.objects == {
        "big.txt": ("parts", size),
        "small.txt": (hashlib.sha256(small.read_bytes()).hexdigest(), transfers.PART_BYTES - 1),
    }
