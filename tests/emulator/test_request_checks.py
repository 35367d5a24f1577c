"""The bridge of :mod:`tests.emulator.request_checks`: requests held to botocore's model."""

from __future__ import annotations

import pytest

from tests.emulator import ComprehendScript

from .conftest import COMPREHEND, machine, run, start_request, task


def start_job(**fields: str) -> dict[str, object]:
    return machine(
        ("Start", task(COMPREHEND + "startKeyPhrasesDetectionJob", start_request(**fields)))
    )


def test_a_request_inside_the_model_passes(aws):
    execution = run(aws, start_job(JobName="nightly-2026.11"), script=ComprehendScript())
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert aws.invalid_requests == []


def test_a_request_outside_the_model_fails_the_run_though_moto_accepts_it(aws):
    """Step Functions calls Comprehend with botocore's validation off, and moto's Comprehend
    starts the job: only the bridge sees the job name's ``|`` outside the model's pattern."""
    with pytest.raises(AssertionError, match="requests outside Comprehend's model") as raised:
        run(aws, start_job(JobName="nightly|2026"), script=ComprehendScript())
    assert "JobName" in str(raised.value)
    assert aws.jobs_started() == 1
