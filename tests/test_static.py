"""Static verification of every synthesized template and state machine definition.

For each variant in ``variants.py``: asl-validator and cfn-lint (with the definition resolved
and inlined, since cfn-lint skips a definition that is an ``Fn::Join`` string), and every
aws-sdk Task's ``Parameters`` and error names against botocore's model of its service.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from cdk_kp.infra._states import RETRYABLE_ERRORS

from .conftest import ROOT
from .definitions import definitions_in, resolve, resource_types
from .service_model import (
    SDK_PREFIX,
    comprehend,
    error_name_errors,
    operation_for,
    parameters_errors,
)
from .variants import BUILDERS

#: cfn-lint checks ignored, each with its reason.
IGNORED_CFN_LINT = {
    # CDK adds DependsOn on the role's default policy next to a GetAtt of the role; harmless,
    # and present in every CDK template with a state machine.
    "W3005": "redundant DependsOn that CDK adds to every state machine",
}
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def variant(request: pytest.FixtureRequest) -> tuple[str, Template]:
    name: str = request.param
    return name, Template.from_stack(BUILDERS[name]())


def sdk_tasks(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every SDK task, including those inside Map item processors and Parallel branches."""
    for name, state in definition["States"].items():
        if state["Type"] == "Task" and state["Resource"].startswith(SDK_PREFIX):
            yield name, state
        for inner in [
            state.get("ItemProcessor") or state.get("Iterator"),
            *state.get("Branches", []),
        ]:
            if inner:
                yield from sdk_tasks(inner)


def test_every_variant_has_a_state_machine(variant):
    name, template = variant
    assert definitions_in(template), name


def test_asl_validator_accepts_every_definition(variant, tmp_path: Path):
    name, template = variant
    paths = []
    for logical_id, definition in definitions_in(template).items():
        path = tmp_path / f"{name}-{logical_id}.json"
        path.write_text(json.dumps(definition))
        paths.append(path)
    args = [str(ASL_VALIDATOR)]
    for path in paths:
        args += ["--json-path", str(path)]
    result = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("is valid") == len(paths)


def inlined(template: Template) -> dict[str, Any]:
    """The template with each definition as an inline JSON object, which cfn-lint checks."""
    data: dict[str, Any] = copy.deepcopy(dict(template.to_json()))
    types = resource_types(data)
    for resource in data["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            props = resource["Properties"]
            props["Definition"] = resolve(props.pop("DefinitionString"), types)
    return data


def test_cfn_lint_finds_nothing(variant):
    name, template = variant
    matches = lint(
        json.dumps(inlined(template)),
        config=ManualArgs(ignore_checks=sorted(IGNORED_CFN_LINT), regions=["us-east-1"]),
    )
    assert [str(m) for m in matches if not _jsonata_in_jsonpath(m)] == [], name


def _jsonata_in_jsonpath(match: Any) -> bool:
    """cfn-lint 1.58 checks every state against the state machine's top-level query language
    and ignores a state's own ``QueryLanguage``: in a JSONPath state machine, a JSONata state's
    expression in a number field (``Seconds``) is reported as not a number. The Step Functions
    guide allows JSONata states in a JSONPath state machine, and asl-validator (above) accepts
    them; only this report is set aside."""
    return match.rule.id == "E3601" and str(match.message).startswith("'{%")


def test_cfn_lint_reads_the_inlined_definition():
    """The check above can fail: cfn-lint rejects a broken inlined definition."""
    template = inlined(Template.from_stack(BUILDERS["bundled"]()))
    (machine,) = [
        r
        for r in template["Resources"].values()
        if "WaitForJob" in r["Properties"].get("Definition", {}).get("States", {})
    ]
    machine["Properties"]["Definition"]["States"]["WaitForJob"]["Seconds"] = "soon"
    matches = lint(json.dumps(template), config=ManualArgs(ignore_checks=["W3005"]))
    assert any(m.rule.id == "E3601" for m in matches), [str(m) for m in matches]


def test_sdk_parameters_match_the_service_model(variant):
    name, template = variant
    errors = []
    count = 0
    for definition in definitions_in(template).values():
        for state_name, state in sdk_tasks(definition):
            count += 1
            operation = operation_for(state["Resource"])
            errors += [
                f"{state_name}: {e}"
                for e in parameters_errors(operation, state.get("Parameters") or state["Arguments"])
            ]
    assert count >= 4, name
    assert errors == [], name
    services = {
        state["Resource"].split(":")[6]
        for definition in definitions_in(template).values()
        for _, state in sdk_tasks(definition)
    }
    # The batch's give-up path calls Step Functions itself: its tasks are checked too.
    assert services == (
        {"comprehend", "sfn"}
        if name in ("bundled", "hardened", "without-feature-flags")
        else {"comprehend"}
    )


def test_retry_and_catch_name_only_errors_the_operation_can_raise(variant):
    name, template = variant
    errors = []
    for definition in definitions_in(template).values():
        for state_name, state in sdk_tasks(definition):
            operation = operation_for(state["Resource"])
            for rule in state.get("Retry", []) + state.get("Catch", []):
                errors += [
                    f"{state_name}: {e}" for e in error_name_errors(operation, rule["ErrorEquals"])
                ]
    assert errors == [], name


def test_retryable_errors_are_exactly_the_throttling_and_internal_errors_each_operation_has():
    for action, retried in RETRYABLE_ERRORS.items():
        operation = comprehend().operation_model(action[0].upper() + action[1:])
        raisable = {f"Comprehend.{e.name}" for e in operation.error_shapes}
        wanted = {"Comprehend.TooManyRequestsException", "Comprehend.InternalServerException"}
        assert set(retried) == wanted & raisable, action


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        (
            {
                "InputDataConfig": {"S3Uri": "s3://b/x"},
                "OutputDataConfig": {"S3Uri": "s3://b/y"},
                "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r",
                "LanguageCode.$": "$.l",
                "ClientRequestTokn.$": "$.t",
            },
            "unknown member ClientRequestTokn.$",
        ),
        (
            {
                "InputDataConfig": {"S3Uri": "s3://b/x"},
                "OutputDataConfig": {"S3Uri": "s3://b/y"},
                "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r",
            },
            "required member LanguageCode",
        ),
        (
            {
                "InputDataConfig": {"S3Uri": "s3://b/x", "InputFormat": "CSV"},
                "OutputDataConfig": {"S3Uri": "s3://b/y"},
                "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r",
                "LanguageCode": "en",
            },
            "'CSV' is not one of",
        ),
        (
            {
                "InputDataConfig": {"S3Uri": "s3://b/x"},
                "OutputDataConfig": {"S3Uri": "s3://b/y"},
                "DataAccessRoleArn": "arn:aws:iam::123456789012:user/u",
                "LanguageCode": "en",
            },
            "does not match arn:aws",
        ),
        (
            {
                "InputDataConfig": {"S3Uri": "s3://b/x"},
                "OutputDataConfig": {"S3Uri": "s3://b/y"},
                "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r",
                "LanguageCode": "en",
                "JobName": "bad#name",
            },
            "does not match ^([\\p{L}",
        ),
        (
            {
                "InputDataConfig": {"S3Uri.$": "$.u"},
                "OutputDataConfig": {"S3Uri": "s3://b/y"},
                "DataAccessRoleArn": "arn:aws:iam::123456789012:role/r",
                "LanguageCode": "en",
                "ClientRequestToken": 5,
            },
            "expected string, got 5",
        ),
    ],
    ids=[
        "misspelled-dynamic",
        "missing-required",
        "bad-enum",
        "bad-pattern",
        "unicode-pattern",
        "bad-type",
    ],
)
def test_the_model_check_can_fail(parameters, fragment):
    operation = comprehend().operation_model("StartKeyPhrasesDetectionJob")
    errors = parameters_errors(operation, parameters)
    assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        (
            {
                "StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m",
                "StatusFiltr": "RUNNING",
            },
            "unknown member StatusFiltr",
        ),
        (
            {
                "StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m",
                "StatusFilter": "RUNNIN",
            },
            "'RUNNIN' is not one of",
        ),
    ],
    ids=["misspelled", "bad-enum"],
)
def test_the_model_check_can_fail_for_step_functions_too(parameters, fragment):
    errors = parameters_errors(
        operation_for("arn:aws:states:::aws-sdk:sfn:listExecutions"), parameters
    )
    assert any(fragment in e for e in errors), errors


def test_the_error_name_check_can_fail():
    operation = comprehend().operation_model("StopKeyPhrasesDetectionJob")
    assert error_name_errors(operation, ["Comprehend.TooManyRequestsException", "States.ALL"]) == [
        "StopKeyPhrasesDetectionJob: Comprehend.TooManyRequestsException is neither one of "
        "['Comprehend.InternalServerException', 'Comprehend.InvalidRequestException', "
        "'Comprehend.JobNotFoundException'] nor a States.* error"
    ]
