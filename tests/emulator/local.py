"""The emulated account: the stack deployed into moto, its state machines executed, and the
state every bridge keeps (see the package's docstring for the bridges)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from moto.stepfunctions.models import stepfunctions_backends

from .common import ACCOUNT, REGION
from .comprehend import ComprehendScript
from .map_thresholds import MapRun, Thresholds
from .virtual_time import VirtualClock

BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


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
        self.session = boto3.Session(region_name=region)
        self.sfn = self.session.client("stepfunctions")
        self.outputs: dict[str, str] = {}
        self.state_machine_arn = ""
        #: Held by the bridges while they read or change the state below.
        self.lock = threading.Lock()
        #: Real seconds each Wait state also sleeps (virtual time still advances by the wait):
        #: lets concurrent executions interleave as they would on AWS.
        self.real_wait_seconds = 0.0
        #: Distributed Map thresholds by state machine name and label (see map_thresholds).
        self.map_thresholds: dict[tuple[str, str], Thresholds] = {}
        #: Rewrites of a definition before it is made executable, by the bridges installed.
        self.definition_rewrites: list[Callable[[str, dict[str, Any]], dict[str, Any]]] = []
        self.reset()

    def reset(self, script: ComprehendScript | None = None) -> ComprehendScript:
        """A fresh virtual clock and Comprehend script for the next execution."""
        self.clock = VirtualClock()
        self.script = script or ComprehendScript()
        #: Every problem botocore's model finds in a request the workflow sent to Comprehend.
        self.invalid_requests: list[str] = []
        #: Map Runs by ARN; input prefixes of the Map items being processed, by Map Run.
        self.map_runs: dict[str, MapRun] = {}
        self.running_items: dict[str, list[str]] = {}
        #: Executions started through the optimized Step Functions integration, and those of
        #: them aborted (each stops at its next Wait state; see map_abort).
        self.child_executions: list[str] = []
        self.aborted: set[str] = set()
        #: Whether a failed Map Run aborts the pipeline executions of its items.
        self.propagate_map_abort = True
        #: Input prefixes whose job start is held, with the event that releases each, and those
        #: being held right now; a hook called after each ListKeyPhrasesDetectionJobs.
        self.held_starts: dict[str, threading.Event] = {}
        self.holding: set[str] = set()
        self.after_list: Callable[[], None] | None = None
        #: (real seconds since the reset, event, job ID, active jobs after the event).
        self.active_trace: list[tuple[float, str, str, int]] = []
        self._active: set[str] = set()
        self._trace_start = time.monotonic()
        return self.script

    def running_items_have_jobs(self) -> bool:
        """Whether every Map item being processed now has had its job started: no item the
        Map let run is still on its way to Comprehend."""
        with self.lock:
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
        with self.lock:
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

    def job_event(self, event: str, job_id: str) -> None:
        """Record a job's start or end in :attr:`active_trace` (an end only once)."""
        with self.lock:
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
        for rewrite in self.definition_rewrites:
            definition = rewrite(name, definition)
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
        described = self._wait_for_end(arn, timeout)
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

    def _wait_for_end(self, arn: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                self.sfn.stop_execution(executionArn=arn)
                raise TimeoutError(f"execution {arn} still running after {timeout} s")
            time.sleep(0.005)
