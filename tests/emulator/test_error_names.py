"""The bridge of :mod:`tests.emulator.error_names`: ``Comprehend.<Error>``."""

from __future__ import annotations

from tests.emulator import ComprehendScript

from .conftest import COMPREHEND, machine, run, task


def test_a_catch_of_comprehends_error_name_catches_it(aws):
    describe = task(
        COMPREHEND + "describeKeyPhrasesDetectionJob",
        {"JobId": "0" * 32},
        Catch=[
            {
                "ErrorEquals": ["Comprehend.JobNotFoundException"],
                "ResultPath": "$.failure",
                "Next": "Caught",
            }
        ],
    )
    definition = machine(("Describe", describe), ("Caught", {"Type": "Succeed"}))
    execution = run(
        aws, definition, script=ComprehendScript(fail_describe=["JobNotFoundException"])
    )
    # moto alone: FAILED, with comprehend.JobNotFoundException
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    assert execution.output["failure"]["Error"] == "Comprehend.JobNotFoundException"
