"""Run the synthesized state machine in moto: deploy the template, execute, play Comprehend.

What moto does not do as AWS does is bridged here, explicitly, each with the reason:

* Variable reads. moto 5.2.5 evaluates every ``$variable`` reference through its JSONata engine,
  which needs a Java bridge that is not installed, so any read fails with ``TypeError``. AWS
  resolves ``$name`` / ``$name.path`` in JSONPath states to the variable's value (see the
  Step Functions guide, "Passing data between states with variables"). :func:`_read_variable`
  implements exactly that and nothing else.
* JSONata. moto 5.2.5 evaluates JSONata through a Java bridge that is not installed (its
  evaluator is ``None``), and declares Step Functions' ``$hash`` and ``$uuid`` as stubs. The
  bridge evaluates with jsonata-python (a port of the jsonata-java library moto's bridge would
  call) and gives ``$hash`` and ``$uuid`` their documented behaviour.
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
* Filters. ListKeyPhrasesDetectionJobs takes one filter at a time (its API reference); moto
  applies any number. The bridge refuses more than one with ``InvalidFilterException``.
* Stops that land while a Task's parameters are evaluated. moto evaluates a stopped execution's
  (or Map item's) remaining components as no-ops ("pruning") but lets a Task whose parameters
  were half pruned go on and call the service with what is left: a pruned ``States.UUID()``
  leaves the state's input where its value should be, so a Map item stopped with its Map Run
  started a shard named ``<tag>-{inputPrefix=…}``, or with input ``{}``. On AWS a stopped
  execution makes no further call; a call already made stands. The bridge checks, after the
  parameters are evaluated and before the call, whether the execution is still running; if not
  it makes no call, and the rest of the state is pruned as moto prunes it. (A stop after that
  check finds the parameters whole: the call is then one AWS could also have in flight.)
* Error names. moto names SDK errors ``comprehend.<Error>`` (lower-case service); AWS names them
  ``Comprehend.<Error>``, and the definition catches and retries AWS's names. moto keeps a table
  of service error prefixes (``dynamodb`` -> ``DynamoDb``, ``sfn`` -> ``Sfn``); the bridge adds
  ``comprehend`` -> ``Comprehend`` to it.

For the batch (a Distributed Map whose items start the pipeline with
``states:startExecution.sync:2``):

* The optimized Step Functions integration. moto 5.2.5 passes the state's parameters to boto3
  as written (``StateMachineArn``, ``Input``), where boto3's model names them
  ``stateMachineArn`` and ``input``, and reads the response as ``ExecutionArn`` where boto3
  returns ``executionArn`` (and ``.sync:2``'s ``DescribeExecution`` result likewise); and
  without ``Name`` it names every execution ``None``, so the second start collides. The bridge
  renames the parameters and the response's keys (AWS's integration takes and returns them
  capitalized) and, as AWS does, gives an unnamed execution a UUID. moto waits 0.5 s between
  checks of the child's status; the bridge checks every 20 ms
  (``.sync`` is event-driven on AWS).
* Map Run failure thresholds. moto's ASL grammar refuses a whole-number
  ``ToleratedFailurePercentage`` (``20``; JSON and AWS take it as ``20.0``): the executable copy
  writes it as a decimal. moto counts failed items but never fails a Map Run for them
  (its ``TODO: add support for failure toleration fields``). The bridge applies AWS's rule
  ("Setting failure thresholds for Distributed Map states"): after each item, the run fails
  with ``States.ExceedToleratedFailureThreshold`` once the failed items exceed
  ``ToleratedFailureCount`` or their share of all items exceeds ``ToleratedFailurePercentage``
  (a threshold absent from the definition is not applied; both absent tolerate none). As on
  AWS, no further item starts, and the items' executions still running are aborted: each stops
  at its next Wait state (moto's ``StopExecution`` can land in the middle of a task and corrupt
  its evaluation), and a Wait of 30 s or more in any other execution (the batch's settle wait)
  first waits until they have stopped, as the abort would have taken effect on AWS by then.
* The result writer. moto writes an empty ``manifest.json`` and nothing else. The bridge writes
  what AWS writes ("ResultWriter (Map)"): ``manifest.json`` listing ``SUCCEEDED_0.json`` and
  ``FAILED_0.json``, each a JSON array of child-execution records (``ExecutionArn``, ``Name``,
  ``Status``, ``Input`` and ``Output`` as JSON strings, ``Error`` and ``Cause`` for failures),
  from what each item actually did. One difference remains: ``Input`` is the item as read from
  the manifest, where AWS records the child execution's input (the item after ``ItemSelector``,
  which keeps the item's ``inputPrefix``).

* Step Functions through the AWS SDK integration (``aws-sdk:sfn:*``, the batch's give-up path).
  moto 5.2.5 passes the parameters as written (``StateMachineArn``) to boto3, whose model names
  them ``stateMachineArn``, and returns boto3's camelCase response (``executions``,
  ``nextToken``) with datetimes. AWS's SDK integrations take and return PascalCase fields
  ("the API actions are in camel case and parameter names are in Pascal case"). The bridge
  renames both ways and writes timestamps as ISO 8601 strings. A ``StopExecution`` of a shard's
  pipeline execution is applied as an abort (the execution stops at its next Wait state; see
  above), because moto's ``StopExecution`` in the middle of a task corrupts its evaluation.

Two switches let a test choose an interleaving instead of hoping for one:

* :attr:`LocalAws.propagate_map_abort` (default on): whether a failed Map Run aborts the
  pipeline executions its items started. AWS documents that stopping a ``.sync`` task makes "a
  best-effort attempt" to stop the child execution; off, the test plays the case where that
  attempt failed and the shards keep running.
* :meth:`LocalAws.hold_start`: a shard's ``StartKeyPhrasesDetectionJob`` call does not return
  until an event is set, like a call still in flight; while held, its execution does not count
  as running late for an abort (:meth:`LocalAws.wait_for_aborted` does not wait for it).
  :attr:`LocalAws.after_list` runs after each ``ListKeyPhrasesDetectionJobs`` has been answered,
  so a test can release a held start exactly after a listing.

The emulated Comprehend also records, for every job start and end, how many jobs are active
(``SUBMITTED`` or ``IN_PROGRESS``): :attr:`LocalAws.active_trace`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import hashlib
import importlib
import io
import json
import os
import re
import socket
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import jsonata
from moto import mock_aws
from moto.comprehend.models import ComprehendBackend, ComprehendJob
from moto.comprehend.responses import ComprehendResponse
from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends
from moto.stepfunctions.models import stepfunctions_backends
from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.component.intrinsic.jsonata import (
    _DECLARATION_BY_VARIABLE_REFERENCE as JSONATA_FUNCTIONS,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as map_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer import (
    resource_eval as _result_writer_package,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_aws_sdk,
    state_task_service_callback,
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.utils.json_path import extract_json

from .service_model import comprehend, request_errors

ACCOUNT = "123456789012"
REGION = "us-east-1"
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"

_VARIABLE_REFERENCE = re.compile(r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<path>(\.|\[).*)?$")


_ORIGINAL_VARIABLE_READ = StringVariableSample._eval_body


def _read_variable(self: StringVariableSample, env: Environment) -> None:
    """AWS's JSONPath variable read: ``$name`` or ``$name.path``, nothing more. (A JSONata
    state's read goes through moto's JSONata path, bridged by :func:`_evaluate_jsonata`.)"""
    if self.query_language_mode != QueryLanguageMode.JSONPath:
        _ORIGINAL_VARIABLE_READ(self, env)
        return
    match = _VARIABLE_REFERENCE.match(self.expression)
    if match is None:
        raise ValueError(f"not a variable reference: {self.expression!r}")
    value = env.variable_store.get(match["name"])
    if match["path"]:
        value = extract_json("$" + match["path"], value)
    env.stack.append(copy.deepcopy(value))


#: Step Functions' JSONata functions that moto declares as stubs ("currently not supported").
_STUBBED_FUNCTIONS = ("$hash", "$uuid")


def _evaluate_jsonata(expression: str) -> Any:
    """A JSONata expression as AWS evaluates it, with the JSONata library moto's Java bridge
    wraps (dashjoin's jsonata-java) in its Python port, jsonata-python; Step Functions'
    ``$hash(value, algorithm)`` and ``$uuid()`` as native functions ("JSONata functions provided
    by Step Functions" in the Step Functions guide)."""
    compiled = jsonata.Jsonata(expression)
    compiled.register_lambda(
        "hash",
        lambda value, algorithm: hashlib.new(
            str(algorithm).replace("-", "").lower(), str(value).encode()
        ).hexdigest(),
    )
    compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
    return compiled.evaluate(None)


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
    ``fail_stop`` / ``fail_list`` are lists of error names raised by the next calls, one per
    call.
    """

    status: Callable[[ScriptedJob, float], str | tuple[str, str]] = lambda job, elapsed: (
        "IN_PROGRESS"
    )
    fail_start: list[str] = field(default_factory=list)
    fail_describe: list[str] = field(default_factory=list)
    fail_stop: list[str] = field(default_factory=list)
    fail_list: list[str] = field(default_factory=list)
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


@dataclass
class ItemRecord:
    """What one item of a Map Run did, as the result writer reports it."""

    index: int
    input: Any
    execution_arn: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass
class MapRun:
    """One Map Run: its failure thresholds (``None``: absent from the definition) and items."""

    arn: str
    total: int
    tolerated_count: int | None
    tolerated_percentage: float | None
    items: list[ItemRecord] = field(default_factory=list)
    failed_by_threshold: bool = False

    def threshold_exceeded(self) -> bool:
        failed = sum(1 for item in self.items if item.status == "FAILED")
        count, percentage = self.tolerated_count, self.tolerated_percentage
        if count is None and percentage is None:
            count = 0
        return (count is not None and failed > count) or (
            percentage is not None and failed * 100 > percentage * self.total
        )


def _map_thresholds(definition: Mapping[str, Any]) -> dict[str, tuple[int | None, float | None]]:
    """Failure thresholds of every Distributed Map in ``definition``, by label (or name)."""
    found: dict[str, tuple[int | None, float | None]] = {}
    for name, state in definition.get("States", {}).items():
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            found[state.get("Label", name)] = (
                state.get("ToleratedFailureCount"),
                state.get("ToleratedFailurePercentage"),
            )
        if processor:
            found.update(_map_thresholds(processor))
        for branch in state.get("Branches", []):
            found.update(_map_thresholds(branch))
    return found


def _decimal_percentages(node: Any) -> Any:
    """``definition`` with every ``ToleratedFailurePercentage`` written as a decimal: moto's ASL
    grammar rejects a whole number there (``20``), which JSON and AWS take as ``20.0``."""
    if isinstance(node, dict):
        return {
            key: float(value)
            if key == "ToleratedFailurePercentage" and isinstance(value, int)
            else _decimal_percentages(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_decimal_percentages(value) for value in node]
    return node


ACTIVE_STATUSES = ("SUBMITTED", "IN_PROGRESS")

#: A Wait this long (or longer) in an execution that is not itself a shard's lets every aborted
#: execution stop first: on AWS, aborting a Map Run's children takes effect well within it.
ABORT_SECONDS = 30

#: moto's result writer for the Map state (a module path too long to import by name).
_RESULT_WRITER: Any = importlib.import_module(
    _result_writer_package.__name__ + ".resource_eval_s3"
).ResourceEvalS3


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
        #: Real seconds each Wait state also sleeps (virtual time still advances by the wait):
        #: lets concurrent executions interleave as they would on AWS.
        self.real_wait_seconds = 0.0
        #: Map Runs by ARN, and Distributed Map thresholds by state machine name and label.
        self.map_runs: dict[str, MapRun] = {}
        self.map_thresholds: dict[tuple[str, str], tuple[int | None, float | None]] = {}
        #: Input prefixes of the Map items being processed, by Map Run.
        self.running_items: dict[str, list[str]] = {}
        #: Executions started through the optimized Step Functions integration, and those of
        #: them aborted by a failed Map Run (each stops at its next Wait state).
        self.child_executions: list[str] = []
        self.aborted: set[str] = set()
        #: Whether a failed Map Run aborts the pipeline executions of its items (see above).
        self.propagate_map_abort = True
        #: Input prefixes whose job start is held, with the event that releases each.
        self.held_starts: dict[str, threading.Event] = {}
        #: Input prefixes whose job start is being held right now.
        self.holding: set[str] = set()
        #: Called after each ListKeyPhrasesDetectionJobs has been answered.
        self.after_list: Callable[[], None] | None = None
        #: (real seconds since the reset, event, job ID, active jobs after the event).
        self.active_trace: list[tuple[float, str, str, int]] = []
        self._active: set[str] = set()
        self._trace_start = time.monotonic()
        self._lock = threading.Lock()

    def reset(self, script: ComprehendScript | None = None) -> ComprehendScript:
        """A fresh virtual clock and Comprehend script for the next execution."""
        self.invalid_requests = []
        self.clock = VirtualClock()
        self.script = script or ComprehendScript()
        self.map_runs = {}
        self.running_items = {}
        self.child_executions = []
        self.aborted = set()
        self.propagate_map_abort = True
        self.held_starts = {}
        self.holding = set()
        self.after_list = None
        self.active_trace = []
        self._active = set()
        self._trace_start = time.monotonic()
        return self.script

    def running_items_have_jobs(self) -> bool:
        """Whether every Map item being processed now has had its job started: no item the
        Map let run is still on its way to Comprehend."""
        with self._lock:
            running = [
                prefix
                for run_arn, items in self.running_items.items()
                # A failed Map Run starts nothing more, and its running items were stopped.
                if not (run_arn in self.map_runs and self.map_runs[run_arn].failed_by_threshold)
                for prefix in items
            ]
            started = [job.request["InputDataConfig"]["S3Uri"] for job in self.script.jobs.values()]
        return all(any(uri.endswith(prefix) for uri in started) for prefix in running)

    def hold_start(self, prefix: str, until: threading.Event) -> None:
        """Hold the job start of the shard whose input URI ends with ``prefix`` until ``until``
        is set (at most 30 s of real time)."""
        self.held_starts[prefix] = until

    def wait_for_aborted(self, timeout: float = 10.0) -> None:
        """Wait (in real time) until every aborted execution has stopped, but those whose job
        start is held (a call in flight, which AWS would let land after the execution ended)."""
        with self._lock:
            holding = set(self.holding)
            aborted = list(self.aborted)
        arns = [arn for arn in aborted if self._input_prefix(arn) not in holding]
        self._wait_until_ended(arns, timeout, f"{timeout} s after its abort")

    def _input_prefix(self, execution_arn: str) -> str | None:
        described = self.sfn.describe_execution(executionArn=execution_arn)
        prefix = json.loads(described.get("input") or "{}").get("inputPrefix")
        return prefix if isinstance(prefix, str) else None

    def wait_for_child_executions(self, timeout: float = 30.0) -> None:
        """Wait (in real time) until no execution started by a ``.sync`` task is running."""
        self._wait_until_ended(list(self.child_executions), timeout, f"after {timeout} s")

    def _wait_until_ended(self, arns: list[str], timeout: float, when: str) -> None:
        deadline = time.monotonic() + timeout
        for arn in arns:
            while self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{arn} still running {when}")
                time.sleep(0.01)

    def peak_active_jobs(self) -> int:
        """The most jobs active at once in the emulated Comprehend since the reset."""
        return max((active for *_, active in self.active_trace), default=0)

    def _job_event(self, event: str, job_id: str) -> None:
        with self._lock:
            if event == "start":
                self._active.add(job_id)
            elif job_id in self._active:
                self._active.discard(job_id)
            else:
                return
            self.active_trace.append(
                (time.monotonic() - self._trace_start, event, job_id, len(self._active))
            )

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
        for label, thresholds in _map_thresholds(definition).items():
            self.map_thresholds[(name, label)] = thresholds
        definition = _decimal_percentages(definition)
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
        if status not in ACTIVE_STATUSES:
            self._job_event(status.lower(), job.job_id)
        if message is not None:
            job.extra_args["Message"] = message


class _StoppedBeforeCallError(Exception):
    """A Task's execution was stopped before its service call: the call is not made."""


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
        uri = kwargs["InputDataConfig"]["S3Uri"]
        held = [p for p in local.held_starts if uri.endswith(p)]
        if held:
            (prefix,) = held
            with local._lock:
                local.holding.add(prefix)
            try:
                if not local.held_starts[prefix].wait(timeout=30):
                    raise TimeoutError(f"the held start of {prefix} was never released")
            finally:
                with local._lock:
                    local.holding.discard(prefix)
        job = original_start(backend, **kwargs)
        # AWS's job IDs are 32 characters (the model's JobId maximum); moto's are 36-character
        # UUIDs. Give the job an AWS-shaped ID so requests that echo it stay inside the model.
        del backend.jobs[job.job_id]
        aws_id = job.job_id.replace("-", "")
        job.job_arn = job.job_arn.replace(job.job_id, aws_id)
        job.job_id = aws_id
        backend.jobs[aws_id] = job
        local._job_started(job)
        local._job_event("start", job.job_id)
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
        local._job_event("stop_requested", job_id)

    original_list = ComprehendResponse.list_key_phrases_detection_jobs

    def list_jobs(self: ComprehendResponse) -> str:
        assert local is not None
        request = json.loads(self.body)
        check("ListKeyPhrasesDetectionJobs", request)
        if len(request.get("Filter", {})) > 1:
            # The API reference: "You can only set one filter at a time." moto applies them all.
            raise _comprehend_error("InvalidFilterException")
        if local.script.fail_list:
            raise _comprehend_error(local.script.fail_list.pop(0))
        listed: str = original_list(self)
        if local.after_list is not None:
            local.after_list()
        return listed

    def wait(_: WaitFunction, env: Environment, wait_seconds: int) -> None:
        assert local is not None
        arn = env.states.context_object.context_object_data["Execution"]["Id"]
        if arn in local.aborted:
            # Aborted by its Map Run: it stops here, between two states.
            env.set_stop(stop_date=datetime.datetime.now(datetime.UTC), cause=None, error=None)
            return
        local.clock.wait(wait_seconds)
        if local.real_wait_seconds:
            time.sleep(local.real_wait_seconds)
        if wait_seconds >= ABORT_SECONDS and arn not in local.child_executions:
            local.wait_for_aborted()

    original_sfn_call = state_task_service_sfn.StateTaskServiceSfn._eval_service_task

    def sfn_call(
        self: state_task_service_sfn.StateTaskServiceSfn,
        env: Environment,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        assert local is not None
        parameters = {k[0].lower() + k[1:]: v for k, v in normalised_parameters.items()}
        parameters.setdefault("name", str(uuid.uuid4()))
        original_sfn_call(self, env, resource_runtime_part, parameters, state_credentials)
        response = env.stack.pop()
        env.stack.append({k[0].upper() + k[1:]: v for k, v in response.items()})
        if "ExecutionArn" in response or "executionArn" in response:
            with local._lock:
                child = response.get("executionArn", "")
                local.child_executions.append(child)
                if local.propagate_map_abort and any(
                    run.failed_by_threshold for run in local.map_runs.values()
                ):
                    local.aborted.add(child)  # started as its Map Run failed: aborted too

    original_sync2_output = state_task_service_sfn.StateTaskServiceSfn._sync2_api_output_of

    def sync2_output(typ: type, value: dict[str, Any]) -> None:
        original_sync2_output(typ, value)
        for key in list(value):
            value[key[0].upper() + key[1:]] = value.pop(key)

    original_sdk_call = state_task_service_aws_sdk.StateTaskServiceAwsSdk._eval_service_task

    def sdk_call(
        self: state_task_service_aws_sdk.StateTaskServiceAwsSdk,
        env: Environment,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        assert local is not None
        if self.resource.api_name != "sfn":
            original_sdk_call(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )
            return
        parameters = {k[0].lower() + k[1:]: v for k, v in normalised_parameters.items()}
        if self.resource.api_action == "stopExecution":
            with local._lock:
                shard = parameters["executionArn"] in local.child_executions
                if shard:
                    local.aborted.add(parameters["executionArn"])
            if shard:
                env.stack.append({"StopDate": datetime.datetime.now(datetime.UTC).isoformat()})
                return
        original_sdk_call(self, env, resource_runtime_part, parameters, state_credentials)
        env.stack.append(_pascal_case(env.stack.pop()))

    original_eval_job = map_worker.DistributedItemProcessorWorker._eval_job

    def eval_job(self: Any, env: Environment, job: Any) -> None:
        assert local is not None
        record = self._map_run_record
        # arn:aws:states:<region>:<account>:mapRun:<state machine>/<label>:<run id>
        machine, _, label = (
            record.map_run_arn.split(":mapRun:", 1)[1].rsplit(":", 1)[0].partition("/")
        )
        with local._lock:
            run = local.map_runs.get(record.map_run_arn)
            if run is None:
                count, percentage = local.map_thresholds[(machine, label)]
                run = local.map_runs[record.map_run_arn] = MapRun(
                    arn=record.map_run_arn,
                    total=self._job_pool._jobs_number,
                    tolerated_count=count,
                    tolerated_percentage=percentage,
                )
        prefix = job.job_input.get("inputPrefix") if isinstance(job.job_input, dict) else None
        with local._lock:
            local.running_items.setdefault(record.map_run_arn, []).append(str(prefix))
        try:
            original_eval_job(self, env, job)
        finally:
            with local._lock:
                local.running_items[record.map_run_arn].remove(str(prefix))
        state = env.program_state()
        item = ItemRecord(
            index=job.job_index,
            input=job.job_input,
            execution_arn=f"{record.map_run_arn.replace(':mapRun:', ':execution:')}/{uuid.uuid4()}",
            status="SUCCEEDED" if job.job_output is not None else "FAILED",
            output=job.job_output,
        )
        if isinstance(state, ProgramError) and state.error:
            item.error = state.error.get("error")
            item.cause = state.error.get("cause")
        with local._lock:
            run.items.append(item)
            exceeded = not run.failed_by_threshold and run.threshold_exceeded()
            if exceeded:
                run.failed_by_threshold = True
        if exceeded:
            failed = sum(1 for i in run.items if i.status == "FAILED")
            cause = (
                f"The specified tolerated failure threshold was exceeded: {failed} of "
                f"{run.total} items failed"
            )
            job.job_output = FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(
                        typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold
                    ),
                    event_type=HistoryEventType.MapRunFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]  # total=True stub
                        mapRunFailedEventDetails=MapRunFailedEventDetails(
                            error="States.ExceedToleratedFailureThreshold", cause=cause
                        )
                    ),
                )
            )
            # A failed Map Run aborts its running children, which stops their .sync executions
            # (best effort on AWS; a test can play the case where that fails).
            if local.propagate_map_abort:
                with local._lock:
                    local.aborted.update(local.child_executions)

    def write_results(env: Environment, resource_runtime_part: Any, credentials: Any) -> None:
        assert local is not None
        parameters = env.stack.pop()
        env.stack.pop()  # moto's list of item outputs; the records say more
        run_arn = env.map_run_record_pool_manager.get_all()[-1].map_run_arn
        run = local.map_runs.get(run_arn) or MapRun(run_arn, 0, None, None)
        prefix = parameters["Prefix"].rstrip("/") + "/" if parameters["Prefix"] else ""
        folder = f"{prefix}{run_arn.rsplit(':', 1)[1]}/"
        s3 = boto3.client("s3", region_name=local.region)
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status in ("SUCCEEDED", "FAILED"):
            records = [
                _result_record(item)
                for item in sorted(run.items, key=lambda i: i.index)
                if item.status == status
            ]
            if not records:
                continue
            key = f"{folder}{status}_0.json"
            body = json.dumps(records).encode()
            s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
        manifest_key = f"{folder}manifest.json"
        manifest = {"DestinationBucket": parameters["Bucket"], "MapRunArn": run_arn}
        manifest["ResultFiles"] = files
        s3.put_object(Bucket=parameters["Bucket"], Key=manifest_key, Body=json.dumps(manifest))
        env.stack.append(
            {
                "MapRunArn": run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": manifest_key},
            }
        )

    original_before_call = state_task_service.StateTaskService._before_eval_execution
    original_task_execution = state_task_service.StateTaskService._eval_execution

    def before_call(
        self: state_task_service.StateTaskService,
        env: Environment,
        resource_runtime_part: Any,
        raw_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if not env.is_running():
            raise _StoppedBeforeCallError  # its parameters may be half pruned: no call
        original_before_call(self, env, resource_runtime_part, raw_parameters, state_credentials)

    def task_execution(self: state_task_service.StateTaskService, env: Environment) -> None:
        try:
            original_task_execution(self, env)
        except _StoppedBeforeCallError:
            env.stack.append({})  # the result no later (pruned) component reads

    patches = [
        (StringVariableSample, "_eval_body", _read_variable),
        (state_task_service.StateTaskService, "_before_eval_execution", before_call),
        (state_task_service.StateTaskService, "_eval_execution", task_execution),
        (WaitFunction, "_wait_interval", wait),
        (ComprehendBackend, "start_key_phrases_detection_job", start),
        (ComprehendBackend, "describe_key_phrases_detection_job", describe),
        (ComprehendBackend, "stop_key_phrases_detection_job", stop),
        (ComprehendResponse, "list_key_phrases_detection_jobs", list_jobs),
        (state_task_service_sfn.StateTaskServiceSfn, "_eval_service_task", sfn_call),
        (state_task_service_aws_sdk.StateTaskServiceAwsSdk, "_eval_service_task", sdk_call),
        (map_worker.DistributedItemProcessorWorker, "_eval_job", eval_job),
        (
            state_task_service_sfn.StateTaskServiceSfn,
            "_sync2_api_output_of",
            staticmethod(sync2_output),
        ),
        (_RESULT_WRITER, "_handle_put_object", staticmethod(write_results)),
    ]
    stubs = {name: JSONATA_FUNCTIONS.pop(name) for name in _STUBBED_FUNCTIONS}
    error_prefixes = state_task_service_aws_sdk._SERVICE_ERROR_NAMES
    saved_prefix = error_prefixes.get("comprehend")
    saved_time = getattr(retrier_decl, "time")  # noqa: B009 - moto does not export it
    saved = [(owner, attr, owner.__dict__[attr]) for owner, attr, _ in patches]
    saved_sync_delay = state_task_service_callback._DELAY_SECONDS_SYNC_CONDITION_CHECK
    with _moto(server):
        try:
            setattr(state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.02)  # noqa: B010
            for owner, attr, replacement in patches:
                setattr(owner, attr, replacement)
            error_prefixes["comprehend"] = "Comprehend"
            moto_jsonata._eval_jsonata = _evaluate_jsonata
            local = LocalAws(template, region=region)
            setattr(retrier_decl, "time", _RetryTime(local))  # noqa: B010
            local.deploy(stack_name)
            yield local
        finally:
            setattr(  # noqa: B010
                state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", saved_sync_delay
            )
            setattr(retrier_decl, "time", saved_time)  # noqa: B010
            if saved_prefix is None:
                error_prefixes.pop("comprehend", None)
            else:
                error_prefixes["comprehend"] = saved_prefix
            for owner, attr, original in saved:
                setattr(owner, attr, original)
            moto_jsonata._eval_jsonata = None
            JSONATA_FUNCTIONS.update(stubs)


def _pascal_case(value: Any) -> Any:
    """A boto3 response as AWS's SDK integrations return it: PascalCase fields, timestamps as
    ISO 8601 strings."""
    if isinstance(value, dict):
        return {k[0].upper() + k[1:]: _pascal_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal_case(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _result_record(item: ItemRecord) -> dict[str, Any]:
    """One child-execution record of a result file, with the fields AWS writes."""
    record: dict[str, Any] = {
        "ExecutionArn": item.execution_arn,
        "Name": item.execution_arn.rsplit("/", 1)[1],
        "Status": item.status,
        "Input": json.dumps(item.input),
        "InputDetails": {"Included": True},
    }
    if item.status == "SUCCEEDED":
        record["Output"] = json.dumps(item.output)
        record["OutputDetails"] = {"Included": True}
    else:
        record["Error"] = item.error
        record["Cause"] = item.cause
    return record


CAPITALIZED = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*")


def phrases_of(text: str) -> list[dict[str, Any]]:
    """The emulated Comprehend's "key phrases": runs of capitalized words, with offsets."""
    return [
        {"Text": m.group(), "Score": 0.99, "BeginOffset": m.start(), "EndOffset": m.end()}
        for m in CAPITALIZED.finditer(text)
    ]


def write_output(aws: LocalAws) -> Callable[[ScriptedJob, ComprehendJob], None]:
    """on_complete: read the job's input from moto's S3, write its output archive."""

    def complete(scripted: ScriptedJob, job: ComprehendJob) -> None:
        backend = s3_backends[ACCOUNT]["global"]
        input_uri = job.input_s3_config["S3Uri"]
        bucket, _, prefix = input_uri[len("s3://") :].partition("/")
        per_line = job.input_s3_config.get("InputFormat") == "ONE_DOC_PER_LINE"
        lines = []
        for key in sorted(backend.get_bucket(bucket).keys):
            if not key.startswith(prefix):
                continue
            stored = backend.get_object(bucket, key)
            assert stored is not None
            text = stored.value.decode("utf-8")
            name = key[len(prefix) :]
            if per_line:
                for number, doc in enumerate(text.splitlines()):
                    record = {"File": name, "Line": number, "KeyPhrases": phrases_of(doc)}
                    lines.append(json.dumps(record))
            else:
                lines.append(json.dumps({"File": name, "KeyPhrases": phrases_of(text)}))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            data = ("\n".join(lines) + "\n").encode()
            info = tarfile.TarInfo("output")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        out_bucket, _, out_prefix = job.output_s3_config["S3Uri"][len("s3://") :].partition("/")
        key = f"{out_prefix}{ACCOUNT}-KP-{job.job_id}/output/output.tar.gz"
        backend.put_object(out_bucket, key, buffer.getvalue())
        job.output_s3_config["S3Uri"] = f"s3://{out_bucket}/{key}"

    return complete


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


# == Appended for cdk-kp's stopped-execution tests (tests/test_cli.py) ===========================
# A bridge used only where a test opts in; nothing above changes.


@contextlib.contextmanager
def stopped_executions_stay_aborted() -> Iterator[None]:
    """A stopped execution stays ABORTED, as on AWS, whatever its in-flight task does next.

    moto 5.2.5's StopExecution marks the program stopped (``ProgramStopped``), but a task that
    was in flight when it came and then fails calls ``Environment.set_error``, which overwrites
    the stop: the execution ends FAILED. On AWS, StopExecution ends the execution ABORTED at once
    and a task's late result changes nothing. While this is in effect, an error set on an
    environment that was stopped is ignored, and nothing else changes.
    """
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original = Environment.set_error

    def set_error(self: Environment, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        original(self, error)

    Environment.set_error = set_error  # type: ignore[method-assign]
    try:
        yield
    finally:
        Environment.set_error = original  # type: ignore[method-assign]
