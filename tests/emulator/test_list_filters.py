"""The bridge of :mod:`tests.emulator.list_filters`: one filter at a time."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_a_listing_with_two_filters_fails_and_with_one_passes(aws):
    aws.reset()
    client = aws.session.client("comprehend")
    client.list_key_phrases_detection_jobs(Filter={"JobStatus": "IN_PROGRESS"})
    with pytest.raises(ClientError) as raised:
        client.list_key_phrases_detection_jobs(
            Filter={"JobName": "nightly", "JobStatus": "IN_PROGRESS"}
        )
    assert raised.value.response["Error"]["Code"] == "InvalidFilterException"
