"""The bridge of :mod:`tests.emulator.stopped_task_calls`: no call after a stop."""

from __future__ import annotations

from typing import Any

from moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.hash_calculations.hash_func import (  # noqa: E501
    HashFunc,
)

from tests.emulator import ComprehendScript

from .conftest import COMPREHEND, machine, run, start_request, task


def test_a_stop_while_the_parameters_are_evaluated_makes_no_call(aws, monkeypatch):
    """The stop lands exactly while the ClientRequestToken (``States.Hash``) is evaluated, so
    that part is pruned: moto alone would call Comprehend with the rest."""
    inner = HashFunc.eval
    stopped: list[str] = []

    def stop_then_evaluate(self: HashFunc, env: Any) -> None:
        if not stopped:
            arn = env.states.context_object.context_object_data["Execution"]["Id"]
            aws.sfn.stop_execution(executionArn=arn)
            stopped.append(arn)
        inner(self, env)

    monkeypatch.setattr(HashFunc, "eval", stop_then_evaluate)
    parameters = {
        **start_request(),
        "ClientRequestToken.$": "States.Hash($$.Execution.Id, 'SHA-256')",
    }
    definition = machine(("Start", task(COMPREHEND + "startKeyPhrasesDetectionJob", parameters)))
    execution = run(aws, definition, script=ComprehendScript())
    assert stopped == [execution.arn]
    assert execution.status == "ABORTED"
    assert aws.script.start_attempts == 0
