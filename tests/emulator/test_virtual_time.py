"""The bridge of :mod:`tests.emulator.virtual_time`: Waits and retries on a virtual clock."""

from __future__ import annotations

from tests.emulator import ComprehendScript

from .conftest import COMPREHEND, machine, run, task

DAY, HOUR = 24 * 3600, 3600


def test_a_day_long_wait_and_an_hour_long_retry_take_no_real_time(aws):
    """Without the bridge moto would sleep for a day: the run's 30 s timeout would end it."""
    describe = task(
        COMPREHEND + "describeKeyPhrasesDetectionJob",
        {"JobId": "0" * 32},
        Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": HOUR, "MaxAttempts": 1}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
    )
    definition = machine(
        ("Wait", {"Type": "Wait", "Seconds": DAY}),
        ("Describe", describe),
        ("Done", {"Type": "Succeed"}),
    )
    script = ComprehendScript(fail_describe=["InternalServerException", "JobNotFoundException"])
    execution = run(aws, definition, script=script, timeout=30)
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert aws.clock.waits == [DAY]
    assert aws.clock.retry_delays == [HOUR]
    assert aws.clock.now == DAY + HOUR
