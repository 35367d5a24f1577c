"""The bridge of :mod:`tests.emulator.jsonata_eval`: JSONata, with ``$hash`` and ``$uuid``."""

from __future__ import annotations

import hashlib
import uuid

from .conftest import machine, run


def test_a_jsonata_state_evaluates_with_step_functions_hash_and_uuid(aws):
    output = (
        "{% {'sum': $sum([1, 2, 3]), 'name': $uppercase($states.input.name),"
        " 'hash': $hash($states.input.name, 'SHA-256'), 'uuid': $uuid()} %}"
    )
    definition = machine(("Compute", {"Type": "Pass", "Output": output}), QueryLanguage="JSONata")
    execution = run(aws, definition, {"name": "kp"})
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert execution.output is not None
    assert execution.output["sum"] == 6
    assert execution.output["name"] == "KP"
    assert execution.output["hash"] == hashlib.sha256(b"kp").hexdigest()
    assert uuid.UUID(execution.output["uuid"]).version == 4
