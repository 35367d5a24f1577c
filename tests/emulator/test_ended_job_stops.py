"""The bridge of :mod:`tests.emulator.ended_job_stops`: stopping an ended job fails."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.emulator import ComprehendScript

from .conftest import start_request


def test_stopping_a_completed_job_fails_with_invalid_request(aws):
    aws.reset(ComprehendScript.completes_after(0))
    client = aws.session.client("comprehend")
    job_id = client.start_key_phrases_detection_job(**start_request())["JobId"]
    described = client.describe_key_phrases_detection_job(JobId=job_id)
    assert described["KeyPhrasesDetectionJobProperties"]["JobStatus"] == "COMPLETED"
    with pytest.raises(ClientError) as raised:
        client.stop_key_phrases_detection_job(JobId=job_id)  # moto alone: a silent no-op
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    described = client.describe_key_phrases_detection_job(JobId=job_id)
    assert described["KeyPhrasesDetectionJobProperties"]["JobStatus"] == "COMPLETED"
