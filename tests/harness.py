"""Run the synthesized state machine in moto: deploy the template, execute, play Comprehend.

What moto does not do as AWS does is bridged here, explicitly, each with the reason:

* Variable reads. moto 5.2.5 evaluates every ``$variable`` reference through its JSONata engine,
  which needs a Java bridge that is not installed, so any read fails with ``TypeError``. AWS
  resolves ``$name`` / ``$name.path`` in JSONPath states to the variable's value (see the
  Step Functions guide, "Passing data between states with variables"). :func:`_read_variable`
  implements exactly that and nothing else.
* Time. Wait states and retry intervals really sleep in moto. A :class:`VirtualClock` records
  each wait and retry delay and advances virtual time instead, so a 24-hour job runs in a
  second. The definition is not changed.
* Comprehend. moto's jobs stay ``SUBMITTED`` forever, have no ``Message``, and have
  36-character IDs where AWS's have 32 (the harness gives them 32). A
  :class:`ComprehendScript` decides what ``DescribeKeyPhrasesDetectionJob`` reports, from the
  virtual time since the job started, and can make calls fail.
* Requests. moto's Step Functions calls Comprehend with botocore's parameter validation off,
  and moto's Comprehend checks little. Every request that reaches it is checked here against
  botocore's model (names, types, enums, lengths, patterns); ``LocalAws.run`` fails on any
  violation.
* Error names. moto names SDK errors ``comprehend.<Error>`` (lower-case service); AWS names them
  ``Comprehend.<Error>``, and the definition catches and retries AWS's names. moto keeps a table
  of service error prefixes (``dynamodb`` -> ``DynamoDb``, ``sfn`` -> ``Sfn``); the bridge adds
  ``comprehend`` -> ``Comprehend`` to it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws
from moto.comprehend.models import ComprehendBackend, ComprehendJob
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.models import stepfunctions_backends
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.utils.json_path import extract_json

from .service_model import comprehend, request_errors

ACCOUNT = "123456789012"
REGION = "us-east-1"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"

_VARIABLE_REFERENCE = re.compile(r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<path>(\.|\[).*)?$")


def _read_variable(self: StringVariableSample, env: Environment) -> None:
    """AWS's JSONPath variable read: ``$name`` or ``$name.path``, nothing more."""
    if self.query_language_mode != QueryLanguageMode.JSONPath:
        raise NotImplementedError("JSONata cannot run here; the workflow is JSONPath only")
    match = _VARIABLE_REFERENCE.match(self.expression)
    if match is None:
        raise ValueError(f"not a variable reference: {self.expression!r}")
    value = env.variable_store.get(match["name"])
    if match["path"]:
        value = extract_json("$" + match["path"], value)
    env.stack.append(copy.deepcopy(value))


class VirtualClock:
    """Virtual time for Wait states and retry intervals; records what the definition asked."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[int] = []
        self.retry_delays: list[float] = []
        self._lock = threading.Lock()

    def wait(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(int(seconds))
            self.now += seconds

    def sleep_for_retry(self, seconds: float) -> None:
        with self._lock:
            self.retry_delays.append(seconds)
            self.now += seconds


@dataclass
class ScriptedJob:
    """What the emulated Comprehend reports for one job."""

    job_id: str
    started_at: float
    request: dict[str, Any]
    describe_calls: int = 0
    stop_calls: int = 0


@dataclass
class ComprehendScript:
    """Plays Comprehend for the workflow.

    ``status(job, elapsed)`` returns the status Describe reports ``elapsed`` virtual seconds
    after the job started, or ``(status, message)``. ``fail_start`` / ``fail_describe`` /
    ``fail_stop`` are lists of error names raised by the next calls, one per call.
    """

    status: Callable[[ScriptedJob, float], str | tuple[str, str]] = lambda job, elapsed: (
        "IN_PROGRESS"
    )
    fail_start: list[str] = field(default_factory=list)
    fail_describe: list[str] = field(default_factory=list)
    fail_stop: list[str] = field(default_factory=list)
    #: Called once when a job first reports COMPLETED, with the job and moto's job object: a
    #: test writes the output archive here and sets ``OutputDataConfig.S3Uri`` to it, as
    #: Describe reports it on AWS.
    on_complete: Callable[[ScriptedJob, ComprehendJob], None] | None = None
    jobs: dict[str, ScriptedJob] = field(default_factory=dict)
    start_attempts: int = 0

    @staticmethod
    def completes_after(seconds: float) -> ComprehendScript:
        """A job that is IN_PROGRESS for ``seconds`` of virtual time, then COMPLETED."""
        return ComprehendScript(
            status=lambda job, elapsed: "COMPLETED" if elapsed >= seconds else "IN_PROGRESS"
        )


def _comprehend_error(name: str) -> JsonRESTError:
    return JsonRESTError(name, f"scripted {name}")


@dataclass
class Execution:
    """The end of one execution, with its history."""

    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]

    @property
    def transitions(self) -> int:
        """State transitions: every state entered (retries are counted separately)."""
        return sum(1 for e in self.history if e["type"].endswith("StateEntered"))

    def states_entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if e["type"].endswith("StateEntered")
        ]

    def task_inputs(self, resource_suffix: str) -> list[dict[str, Any]]:
        """Parameters of each scheduled task whose resource ends with ``resource_suffix``."""
        return [
            json.loads(e["taskScheduledEventDetails"]["parameters"])
            for e in self.history
            if e["type"] == "TaskScheduled"
            and e["taskScheduledEventDetails"]["resource"].endswith(resource_suffix)
        ]


class LocalAws:
    """A moto account with the stack deployed and its state machine ready to execute."""

    def __init__(self, template: Mapping[str, Any], *, region: str = REGION) -> None:
        self.template = template
        self.region = region
        self.clock = VirtualClock()
        self.script = ComprehendScript()
        self.session = boto3.Session(region_name=region)
        self.sfn = self.session.client("stepfunctions")
        self.outputs: dict[str, str] = {}
        self.state_machine_arn = ""
        #: Every problem botocore's model finds in a request the workflow sent to Comprehend.
        self.invalid_requests: list[str] = []

    def reset(self, script: ComprehendScript | None = None) -> ComprehendScript:
        """A fresh virtual clock and Comprehend script for the next execution."""
        self.invalid_requests = []
        self.clock = VirtualClock()
        self.script = script or ComprehendScript()
        return self.script

    def jobs_started(self) -> int:
        """Jobs the emulated Comprehend created since the last reset."""
        return len(self.script.jobs)

    # -- deployment ---------------------------------------------------------------------------

    def deploy(self, stack_name: str = "KeyPhrasesStack") -> dict[str, str]:
        """Create the stack in moto's CloudFormation; return its outputs."""
        self.session.client("ssm").put_parameter(
            Name=BOOTSTRAP_VERSION_PARAMETER, Value="30", Type="String", Overwrite=True
        )
        cfn = self.session.client("cloudformation")
        cfn.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(self.template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"stack {stack_name}: {stack['StackStatus']}")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return self.outputs

    def resolved_definition(self, arn: str) -> dict[str, Any]:
        """The definition of the state machine CloudFormation deployed as ``arn``, with its
        intrinsics resolved by moto. CloudFormation keeps it in moto's plain Step Functions
        backend, which the executing API does not see, so it is read from there."""
        backend = stepfunctions_backends[ACCOUNT][self.region]
        machine = next(m for m in backend.state_machines if m.arn == arn)
        definition: dict[str, Any] = json.loads(machine.definition)
        return definition

    def create_executable(self, definition: dict[str, Any], name: str | None = None) -> str:
        """Create the definition again through the API: a state machine created by
        CloudFormation is not visible to moto's executing API."""
        name = name or f"executable-{uuid.uuid4().hex[:8]}"
        self.state_machine_arn = self.sfn.create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
        )["stateMachineArn"]
        return self.state_machine_arn

    def make_deployed_executable(self, arn: str) -> str:
        """Make the state machine CloudFormation deployed as ``arn`` executable under that same
        ARN, so that clients reading the stack's outputs can start it."""
        return self.create_executable(self.resolved_definition(arn), name=arn.rsplit(":", 1)[1])

    # -- execution ------------------------------------------------------------------------------

    def run(
        self,
        execution_input: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        state_machine_arn: str | None = None,
        timeout: float = 30.0,
    ) -> Execution:
        """Start an execution and wait (in real time) for it to end."""
        arn = self.sfn.start_execution(
            stateMachineArn=state_machine_arn or self.state_machine_arn,
            name=name or f"run-{uuid.uuid4().hex[:12]}",
            input=json.dumps(execution_input if execution_input is not None else {}),
        )["executionArn"]
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                self.sfn.stop_execution(executionArn=arn)
                raise TimeoutError(f"execution {arn} still running after {timeout} s")
            time.sleep(0.005)
        history: list[dict[str, Any]] = []
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for page in pages:
            history.extend(page["events"])
        if self.invalid_requests:
            raise AssertionError(f"requests outside Comprehend's model: {self.invalid_requests}")
        output = described.get("output")
        return Execution(
            arn=arn,
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            history=history,
        )

    # -- the emulated Comprehend --------------------------------------------------------------

    def _job_started(self, job: ComprehendJob) -> None:
        self.script.jobs[job.job_id] = ScriptedJob(
            job_id=job.job_id,
            started_at=self.clock.now,
            request={
                "InputDataConfig": job.input_s3_config,
                "OutputDataConfig": job.output_s3_config,
                "DataAccessRoleArn": job.data_access_role_arn,
                "LanguageCode": job.language_code,
                "JobName": job.job_name,
                **job.extra_args,
            },
        )

    def _describe(self, job: ComprehendJob) -> None:
        scripted = self.script.jobs[job.job_id]
        scripted.describe_calls += 1
        if scripted.stop_calls:
            return  # the workflow asked to stop it: moto's STOP_REQUESTED stands
        verdict = self.script.status(scripted, self.clock.now - scripted.started_at)
        status, message = verdict if isinstance(verdict, tuple) else (verdict, None)
        if status == "COMPLETED" and job.job_status != "COMPLETED" and self.script.on_complete:
            self.script.on_complete(scripted, job)
        job.job_status = status
        if message is not None:
            job.extra_args["Message"] = message


@contextlib.contextmanager
def local_aws(
    template: Mapping[str, Any],
    *,
    region: str = REGION,
    stack_name: str = "KeyPhrasesStack",
    server: bool = False,
) -> Iterator[LocalAws]:
    """moto with execution on, the bridges above in place, and ``template`` deployed.

    With ``server`` moto runs as a server on 127.0.0.1 (a free port), ``AWS_ENDPOINT_URL``
    points every boto3 client of the process at it, and ``MOTO_PORT`` points Step Functions'
    own SDK calls there; otherwise moto intercepts boto3 in-process.
    """
    local: LocalAws | None = None
    original_start = ComprehendBackend.start_key_phrases_detection_job
    original_describe = ComprehendBackend.describe_key_phrases_detection_job
    original_stop = ComprehendBackend.stop_key_phrases_detection_job

    def check(operation: str, request: dict[str, Any]) -> None:
        assert local is not None
        local.invalid_requests += request_errors(comprehend().operation_model(operation), request)

    def start(backend: ComprehendBackend, **kwargs: Any) -> ComprehendJob:
        assert local is not None
        check("StartKeyPhrasesDetectionJob", kwargs)
        local.script.start_attempts += 1
        if local.script.fail_start:
            raise _comprehend_error(local.script.fail_start.pop(0))
        job = original_start(backend, **kwargs)
        # AWS's job IDs are 32 characters (the model's JobId maximum); moto's are 36-character
        # UUIDs. Give the job an AWS-shaped ID so requests that echo it stay inside the model.
        del backend.jobs[job.job_id]
        aws_id = job.job_id.replace("-", "")
        job.job_arn = job.job_arn.replace(job.job_id, aws_id)
        job.job_id = aws_id
        backend.jobs[aws_id] = job
        local._job_started(job)
        return job

    def describe(backend: ComprehendBackend, job_id: str) -> ComprehendJob:
        assert local is not None
        check("DescribeKeyPhrasesDetectionJob", {"JobId": job_id})
        if local.script.fail_describe:
            raise _comprehend_error(local.script.fail_describe.pop(0))
        job = original_describe(backend, job_id)
        local._describe(job)
        return job

    def stop(backend: ComprehendBackend, job_id: str) -> None:
        assert local is not None
        check("StopKeyPhrasesDetectionJob", {"JobId": job_id})
        if local.script.fail_stop:
            raise _comprehend_error(local.script.fail_stop.pop(0))
        job = original_describe(backend, job_id)
        local.script.jobs[job_id].stop_calls += 1
        if job.job_status not in ("SUBMITTED", "IN_PROGRESS"):
            raise _comprehend_error("InvalidRequestException")
        original_stop(backend, job_id)

    def wait(_: WaitFunction, env: Environment, wait_seconds: int) -> None:
        assert local is not None
        local.clock.wait(wait_seconds)

    patches = [
        (StringVariableSample, "_eval_body", _read_variable),
        (WaitFunction, "_wait_interval", wait),
        (ComprehendBackend, "start_key_phrases_detection_job", start),
        (ComprehendBackend, "describe_key_phrases_detection_job", describe),
        (ComprehendBackend, "stop_key_phrases_detection_job", stop),
    ]
    error_prefixes = state_task_service_aws_sdk._SERVICE_ERROR_NAMES
    saved_prefix = error_prefixes.get("comprehend")
    saved_time = getattr(retrier_decl, "time")  # noqa: B009 - moto does not export it
    saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _ in patches]
    with _moto(server):
        try:
            for owner, attr, replacement in patches:
                setattr(owner, attr, replacement)
            error_prefixes["comprehend"] = "Comprehend"
            local = LocalAws(template, region=region)
            setattr(retrier_decl, "time", _RetryTime(local))  # noqa: B010
            local.deploy(stack_name)
            yield local
        finally:
            setattr(retrier_decl, "time", saved_time)  # noqa: B010
            if saved_prefix is None:
                error_prefixes.pop("comprehend", None)
            else:
                error_prefixes["comprehend"] = saved_prefix
            for owner, attr, original in saved:
                setattr(owner, attr, original)


class _RetryTime:
    """Stands in for the ``time`` module inside moto's retrier: sleeps become virtual."""

    def __init__(self, local: LocalAws) -> None:
        self._local = local

    def sleep(self, seconds: float) -> None:
        self._local.clock.sleep_for_retry(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def _moto(server: bool) -> Iterator[None]:
    if not server:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            yield
        return
    from moto.core.config import default_user_config
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    saved_config = copy.deepcopy(default_user_config["stepfunctions"])
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    os.environ["MOTO_PORT"] = str(port)
    moto_server.start()
    try:
        yield
    finally:
        moto_server.stop()
        default_user_config["stepfunctions"] = saved_config
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
