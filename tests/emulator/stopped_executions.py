"""Bridge, opt-in: a stopped execution stays ABORTED whatever its in-flight task does next.

The gap: moto 5.2.5's ``StopExecution`` marks the program stopped (``ProgramStopped``), but a
task that was in flight when it came and then fails calls ``Environment.set_error``, which
overwrites the stop: the execution ends ``FAILED``. (Until its thread ends, moto also still
describes the execution as ``RUNNING``.)

AWS: ``StopExecution`` ends the execution ``ABORTED`` at once, and a task's late result changes
nothing.

The bridge: while :func:`stopped_executions_stay_aborted` is in effect, an error set on an
environment that was stopped is ignored, and nothing else changes. It is not installed by
:func:`~tests.emulator.session.local_aws`: a test that needs it opts in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

from .patching import patched


@contextlib.contextmanager
def stopped_executions_stay_aborted() -> Iterator[None]:
    """A stopped execution stays ABORTED, as on AWS, whatever its in-flight task does next."""
    inner = Environment.set_error

    def set_error(self: Environment, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        inner(self, error)

    with patched((Environment, "set_error", set_error)):
        yield
