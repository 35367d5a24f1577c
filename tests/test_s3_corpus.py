"""A corpus in S3 at its edges: a folder marker is left out (and the corpus is then copied, not
read where it is), a URI over the pipeline's whole input prefix is refused before anything is
listed, and the objects of several URIs are copied, not uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cdk_kp.runtime import uploading
from cdk_kp.runtime.client import InvalidInputError, KeyPhrasesClient

PER_FILE = "ONE_DOC_PER_FILE"
BODY = b"Seattle and Tacoma are cities in Washington State, on the shores of Puget Sound.\n" * 7


@pytest.fixture
def client() -> Iterator[KeyPhrasesClient]:
    with mock_aws():
        session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        for bucket in ("input", "lake"):
            session.client("s3").create_bucket(Bucket=bucket)
        yield KeyPhrasesClient(
            input_bucket="input", input_prefix="in/", input_format=PER_FILE, session=session
        )


def put(client: KeyPhrasesClient, bucket: str, *keys: str) -> None:
    s3 = client.session.client("s3")
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"" if key.endswith("/") else BODY)


def test_a_folder_marker_is_skipped_and_the_folder_is_then_not_read_in_place(client):
    put(client, "input", "in/landed/a.txt", "in/landed/sub/", "in/landed/sub/b.txt")
    plan = client.plan_upload(["s3://input/in/landed/"])
    assert [(str(s.path), s.reason) for s in plan.skipped] == [
        ("s3://input/in/landed/sub/", "a folder marker (its key ends in /), not a document")
    ]
    assert [d.key for d in plan.shards[0].files] == ["a.txt", "sub/b.txt"]
    # Comprehend would read the marker too, and what it makes of one is not documented.
    assert client.in_place_prefix(plan) is None
    client.session.client("s3").delete_object(Bucket="input", Key="in/landed/sub/")
    assert client.in_place_prefix(client.plan_upload(["s3://input/in/landed/"])) == "landed/"


@pytest.mark.parametrize("uri", ["s3://input/in/", "s3://input/in", "s3://input/i", "s3://input"])
def test_a_uri_over_the_whole_input_prefix_is_refused_before_it_is_listed(client, monkeypatch, uri):
    def listed(*_: Any) -> Any:
        raise AssertionError("listed")

    monkeypatch.setattr(uploading, "listed_objects", listed)
    with pytest.raises(InvalidInputError) as refused:
        client.plan_upload([uri])
    assert str(refused.value).startswith(
        f"{uri} holds the pipeline's input prefix s3://input/in/, where every batch is written"
    )


def test_a_folder_under_the_input_prefix_and_other_buckets_are_planned(client):
    put(client, "input", "in/landed/a.txt", "in/other.txt")
    put(client, "lake", "in/a.txt", "reports/b.txt")
    assert client.plan_upload(["s3://input/in/landed/"]).files == 1
    assert client.plan_upload(["s3://lake/in/", "s3://lake/reports/"]).files == 2


def test_the_objects_of_several_uris_are_copied_not_uploaded(client, tmp_path):
    put(client, "lake", "2025/a.txt", "2026/b.txt")
    plan = client.plan_upload(["s3://lake/2025/", "s3://lake/2026/"])
    assert plan.source is None  # no one folder to run in place
    assert plan.from_s3
    (tmp_path / "a.txt").write_bytes(BODY)
    assert not client.plan_upload([tmp_path]).from_s3


def test_folder_markers_of_several_uris_are_skipped_not_taken_for_one_key(client):
    put(client, "lake", "2025/", "2025/a.txt", "2026/", "2026/b.txt")
    plan = client.plan_upload(["s3://lake/2025/", "s3://lake/2026/"])
    assert sorted(str(s.path) for s in plan.skipped) == ["s3://lake/2025/", "s3://lake/2026/"]
    assert [d.key for d in plan.shards[0].files] == ["a.txt", "b.txt"]


def test_a_batch_folder_under_the_corpus_is_refused_before_anything_is_sent(client):
    put(client, "input", "in/b1.txt", "in/batch-old/c.txt")
    plan = client.plan_upload(["s3://input/in/b"], max_shard_documents=1)
    with pytest.raises(InvalidInputError) as refused:
        client.upload_sharded(plan, batch="batch-new")
    assert str(refused.value).startswith(
        "the batch's folder s3://input/in/batch-new/ is under s3://input/in/b, so the corpus "
        "would take in its own copies when run again; nothing was sent"
    )
    listed = client.session.client("s3").list_objects_v2(Bucket="input", Prefix="in/batch-new/")
    assert listed["KeyCount"] == 0
    assert client.upload_sharded(plan, batch="other").files_uploaded == 2
