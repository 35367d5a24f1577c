"""The bridge of :mod:`tests.emulator.job_ids`: AWS-shaped, 32-character job IDs."""

from __future__ import annotations

import re

from .conftest import start_request


def test_a_job_gets_a_32_character_id_in_its_arn_too(aws):
    aws.reset()
    client = aws.session.client("comprehend")
    started = client.start_key_phrases_detection_job(**start_request())
    job_id = started["JobId"]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id)  # moto alone: a 36-character UUID
    assert started["JobArn"].endswith(f":key-phrases-detection-job/{job_id}")
    described = client.describe_key_phrases_detection_job(JobId=job_id)
    assert described["KeyPhrasesDetectionJobProperties"]["JobId"] == job_id
    assert aws.invalid_requests == []  # the Describe echoing it is inside the model
