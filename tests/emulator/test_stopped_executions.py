"""The opt-in bridge of :mod:`tests.emulator.stopped_executions`: a stopped execution stays
ABORTED when the task in flight at the stop then fails."""

from __future__ import annotations

from typing import Any

import pytest
from moto.comprehend.models import ComprehendBackend

from tests.emulator import ComprehendScript, LocalAws, stopped_executions_stay_aborted
from tests.emulator.common import comprehend_error

from .conftest import COMPREHEND, machine, start_request, task


def run_stopped_in_flight(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run a job start that is stopped while its call is in flight; the call then fails."""
    aws.reset(ComprehendScript())
    arn = aws.create_executable(
        machine(("Start", task(COMPREHEND + "startKeyPhrasesDetectionJob", start_request())))
    )
    execution_arn = f"{arn.replace(':stateMachine:', ':execution:')}:stopped-in-flight"

    def start(backend: ComprehendBackend, **kwargs: Any) -> Any:
        aws.sfn.stop_execution(executionArn=execution_arn)
        raise comprehend_error("InternalServerException")

    monkeypatch.setattr(ComprehendBackend, "start_key_phrases_detection_job", start)
    return aws.run({}, name="stopped-in-flight")


def test_the_stopped_execution_stays_aborted(aws, monkeypatch):
    with stopped_executions_stay_aborted():
        execution = run_stopped_in_flight(aws, monkeypatch)
    assert execution.status == "ABORTED", (execution.error, execution.cause)
    assert execution.error is None


def test_moto_alone_lets_the_late_failure_overwrite_the_stop(aws, monkeypatch):
    """What the bridge is for; should moto change this, the bridge can go."""
    execution = run_stopped_in_flight(aws, monkeypatch)
    assert (execution.status, execution.error) == ("FAILED", "Comprehend.InternalServerException")
