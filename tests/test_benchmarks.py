"""The polling benchmark's harness works: one short job, both definitions, real executions.

Figures are the benchmark's business (`make bench`); this only checks that it measures what it
says, so a broken benchmark is noticed before anyone reads its numbers.
"""

from __future__ import annotations

from aws_cdk.assertions import Template

from benchmarks.polling import fixed_poller_stack, lag_target, run_sweep
from cdk_kp import KeyPhrasesStack

from .conftest import new_app


def test_polling_benchmark_runs_both_definitions_for_a_short_job():
    duration = 300
    ours = run_sweep(
        Template.from_stack(KeyPhrasesStack(new_app(), "KeyPhrasesStack")).to_json(),
        "KeyPhrasesStack",
        [duration],
    )
    fixed = run_sweep(
        Template.from_stack(fixed_poller_stack()).to_json(), "FixedPoller", [duration]
    )
    (mine,), (theirs,) = ours, fixed
    assert mine.status == theirs.status == "SUCCEEDED"
    # Fixed poller: Start, then Wait/Describe/Choice five times, then Succeed.
    assert (theirs.describes, theirs.transitions, theirs.lag) == (5, 17, 0)
    # Ours: the default schedule waits 60 s five times before 300 s; plus defaults,
    # validation, start and the output state.
    assert (mine.describes, mine.transitions, mine.lag) == (5, 20, 0)
    assert mine.lag <= lag_target(duration)
