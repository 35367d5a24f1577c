"""The bridge of :mod:`tests.emulator.comprehend`: a script plays Comprehend's jobs."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator import ComprehendScript, LocalAws

from .conftest import start_request


def comprehend(aws: LocalAws) -> Any:
    """A client that does not retry, so each scripted failure is seen once."""
    return aws.session.client("comprehend", config=Config(retries={"total_max_attempts": 1}))


def test_describe_reports_what_the_script_says_for_the_virtual_time_since_the_start(aws):
    script = aws.reset(
        ComprehendScript(
            status=lambda job, elapsed: ("FAILED", "not UTF-8") if elapsed >= 600 else "IN_PROGRESS"
        )
    )
    client = comprehend(aws)
    job_id = client.start_key_phrases_detection_job(**start_request(JobName="scripted"))["JobId"]

    def describe() -> dict[str, Any]:
        found = client.describe_key_phrases_detection_job(JobId=job_id)
        properties: dict[str, Any] = found["KeyPhrasesDetectionJobProperties"]
        return properties

    assert describe()["JobStatus"] == "IN_PROGRESS"  # moto alone: SUBMITTED, for ever
    aws.clock.wait(600)
    assert (describe()["JobStatus"], describe()["Message"]) == ("FAILED", "not UTF-8")
    assert script.jobs[job_id].describe_calls == 3
    assert script.jobs[job_id].request["JobName"] == "scripted"
    assert [event for _, event, _, _ in aws.active_trace] == ["start", "failed"]
    assert aws.peak_active_jobs() == 1


def test_scripted_failures_fail_the_next_calls_one_each(aws):
    script = aws.reset(ComprehendScript(fail_start=["TooManyRequestsException"]))
    script.fail_list = ["InternalServerException"]
    client = comprehend(aws)
    with pytest.raises(ClientError) as raised:
        client.start_key_phrases_detection_job(**start_request(JobName="second-try"))
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    client.start_key_phrases_detection_job(**start_request(JobName="second-try"))
    assert (script.start_attempts, aws.jobs_started()) == (2, 1)
    with pytest.raises(ClientError) as raised:
        client.list_key_phrases_detection_jobs(Filter={"JobName": "second-try"})
    assert raised.value.response["Error"]["Code"] == "InternalServerException"
    listed = client.list_key_phrases_detection_jobs(Filter={"JobName": "second-try"})
    assert len(listed["KeyPhrasesDetectionJobPropertiesList"]) == 1


def test_a_job_asked_to_stop_stays_stop_requested(aws):
    script = aws.reset(ComprehendScript.completes_after(0))
    client = comprehend(aws)
    job_id = client.start_key_phrases_detection_job(**start_request())["JobId"]
    client.stop_key_phrases_detection_job(JobId=job_id)
    described = client.describe_key_phrases_detection_job(JobId=job_id)
    assert described["KeyPhrasesDetectionJobProperties"]["JobStatus"] == "STOP_REQUESTED"
    assert script.jobs[job_id].stop_calls == 1
    assert [event for _, event, _, _ in aws.active_trace] == ["start", "stop_requested"]
