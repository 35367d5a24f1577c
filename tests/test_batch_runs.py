"""KeyPhrasesBatch in moto: 25-shard runs that succeed, tolerate failures or fail on one, refused
inputs and manifests, and the client's sharded upload and merged results. See
:mod:`tests.batch_stack` for how the runs are paced."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cdk_kp.contract import BATCH_FAILED, INVALID_INPUT
from cdk_kp.runtime.client import KeyPhrasesClient

from .batch_stack import (
    IGNORE_DEAD_SYNC_LISTENER,
    SHARDS,
    jobs_named,
    result_records,
    run_batch,
    script,
    shard_prefix,
)
from .batch_stack import aws as aws  # fixtures: see tests/batch_stack.py
from .batch_stack import template as template
from .emulator import write_output

pytestmark = IGNORE_DEAD_SYNC_LISTENER


def test_25_shards_run_at_most_10_jobs_at_once_and_all_succeed(aws):
    execution = run_batch(aws, "Strict", failing=set())
    assert execution.status == "SUCCEEDED", execution.cause
    assert aws.jobs_started() == SHARDS
    assert aws.peak_active_jobs() == 10  # the limit holds, and is reached
    records = result_records(aws, execution)
    assert len(records["SUCCEEDED"]) == SHARDS
    assert records["FAILED"] == []
    prefixes = sorted(json.loads(r["Input"])["inputPrefix"] for r in records["SUCCEEDED"])
    assert prefixes == [shard_prefix(i) for i in range(SHARDS)]
    outputs = [json.loads(r["Output"]) for r in records["SUCCEEDED"]]
    assert {o["status"] for o in outputs} == {"SUCCEEDED"}
    assert len({o["jobId"] for o in outputs}) == SHARDS
    # Every job carries the batch's one name: SHA-256 of the batch execution's ARN.
    name = "key-phrases-batch-" + hashlib.sha256(execution.arn.encode()).hexdigest()
    assert execution.output is not None
    assert execution.output["jobName"] == name
    assert len(jobs_named(name)) == SHARDS


def test_the_concurrency_limit_is_the_configured_one(aws):
    execution = run_batch(aws, "Narrow", failing=set())
    assert execution.status == "SUCCEEDED", execution.cause
    assert aws.jobs_started() == SHARDS
    assert aws.peak_active_jobs() == 3


def test_failures_within_the_tolerance_leave_the_batch_succeeded_and_are_reported(aws):
    failing = {3, 11, 19}  # 12 % of 25, within 20 %
    execution = run_batch(aws, "Tolerant", failing)
    assert execution.status == "SUCCEEDED", execution.cause
    assert aws.peak_active_jobs() == 10
    records = result_records(aws, execution)
    failed = {json.loads(r["Input"])["inputPrefix"]: r for r in records["FAILED"]}
    assert sorted(failed) == [shard_prefix(i) for i in sorted(failing)]
    assert len(records["SUCCEEDED"]) == SHARDS - len(failing)
    for record in failed.values():
        assert record["Error"] == "States.TaskFailed"
        described = json.loads(record["Cause"])
        assert described["Error"] == "KeyPhrasesJobFailed"
        assert described["Cause"].endswith("failed: the documents are not UTF-8")
    # The client lists every shard with its status, job and output location, knowing only
    # the execution (as `cdk-kp results ARN` does).
    client = KeyPhrasesClient(session=aws.session)
    shards = client.batch_shards(client.describe(execution.arn))
    assert [s.input_prefix for s in shards] == [shard_prefix(i) for i in range(SHARDS)]
    for index, shard in enumerate(shards):
        assert shard.status == ("FAILED" if index in failing else "SUCCEEDED")
        assert shard.job_id in aws.script.jobs  # a failed shard's job too, found by its name
        assert shard.output_s3_uri is not None
    for index in failing:
        assert shards[index].error == "KeyPhrasesJobFailed"
        assert (shards[index].cause or "").endswith("failed: the documents are not UTF-8")


def test_with_no_tolerance_one_failed_shard_fails_the_batch(aws):
    execution = run_batch(aws, "Strict", failing={7})
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert "1 of 25 items failed" in (execution.cause or "")


@pytest.mark.parametrize(
    ("request_fields", "cause"),
    [
        ({"manifest": ""}, "manifest must be the key of a JSON array of shards"),
        ({"manifest": "/etc/passwd"}, 'got "/etc/passwd"'),
        ({"manifest": "../other/manifest.json"}, 'got "../other/manifest.json"'),
        ({"manifest": ".."}, 'got ".."'),
        ({"manifest": "a/.."}, 'got "a/.."'),
        ({"manifest": 7}, "got 7"),
        ({"languageCode": "xx"}, "languageCode must be one of en, es"),
        ({"inputFormat": "CSV"}, "inputFormat must be one of ONE_DOC_PER_FILE"),
    ],
)
def test_invalid_input_fails_before_any_job_starts(aws, request_fields, cause):
    execution = run_batch(aws, "Strict", failing=set(), **request_fields)
    assert execution.status == "FAILED"
    assert execution.error == INVALID_INPUT
    assert cause in (execution.cause or "")
    assert aws.jobs_started() == 0


@pytest.mark.parametrize(
    ("manifest", "body", "error"),
    [
        # moto reports S3's NoSuchKey as States.Runtime; AWS as States.ItemReaderFailed.
        ("nowhere/manifest.json", None, "NoSuchKey"),
        ("object.json", b'{"inputPrefix": "b/"}', "States.ItemReaderFailed"),
    ],
    ids=["missing", "not-an-array"],
)
def test_a_manifest_that_cannot_be_read_fails_the_batch_without_a_job(aws, manifest, body, error):
    aws.reset(script(aws, set()))
    if body is not None:
        aws.session.client("s3").put_object(
            Bucket=aws.outputs["InputBucket"], Key=f"incoming/{manifest}", Body=body
        )
    execution = aws.run(
        {"manifest": manifest}, state_machine_arn=aws.outputs["StrictArn"], timeout=30
    )
    assert execution.status == "FAILED"
    assert execution.error == BATCH_FAILED
    assert error in (execution.cause or "")
    assert aws.jobs_started() == 0


# -- client: sharded upload, batch, merged results ---------------------------------------------


def test_the_client_shards_a_corpus_runs_it_and_merges_every_document_once(aws, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expected = set()
    for number in range(50):
        lines = [f"Document {number}-{line} mentions Seattle and Amazon." for line in range(4)]
        (corpus / f"file-{number:03d}.txt").write_text("\n".join(lines) + "\n")
        expected |= {(f"file-{number:03d}.txt", line) for line in range(4)}
    aws.reset(script(aws, set()))
    aws.script.on_complete = write_output(aws)
    client = KeyPhrasesClient(
        input_bucket=aws.outputs["InputBucket"],
        input_prefix="incoming/",
        batch_state_machine_arn=aws.outputs["StrictArn"],
        session=aws.session,
    )
    plan = client.plan_upload([corpus], max_shard_documents=8)  # two files, 8 lines, a shard
    assert len(plan.shards) == SHARDS
    upload = client.upload_sharded(plan, batch="corpus")
    arn = client.start_batch(manifest=upload.manifest)
    seen: list[dict[str, int]] = []
    outcome = client.wait_batch(
        arn,
        upload.shard_prefixes,
        on_progress=lambda p: seen.append(p.counts()),
        poll_seconds=0.05,
    )
    assert aws.peak_active_jobs() == 10
    assert seen[-1] == {"COMPLETED": SHARDS}
    assert any("PENDING" in counts for counts in seen)
    shards = client.batch_shards(outcome)
    assert [s.input_prefix for s in shards] == upload.shard_prefixes
    assert {s.status for s in shards} == {"SUCCEEDED"}
    documents = [(r.file, r.line) for r in client.batch_results(shards)]
    assert len(documents) == len(expected) == 200
    assert set(documents) == expected  # every document once, no more
