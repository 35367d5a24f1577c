"""``local_aws``: moto with every bridge installed and a template deployed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from . import (
    comprehend,
    ended_job_stops,
    error_names,
    held_starts,
    job_ids,
    jsonata_eval,
    list_filters,
    map_abort,
    map_thresholds,
    request_checks,
    result_writer,
    sdk_sfn,
    sfn_sync,
    stopped_task_calls,
    variables,
    virtual_time,
)
from .common import REGION
from .local import LocalAws
from .mock import moto

Install = Callable[[LocalAws], AbstractContextManager[None]]

#: Every bridge's ``install``, in the order they are installed. Bridges that wrap the same moto
#: method layer, each over the ones before it, so the order is the order of the checks a call
#: meets, outermost last: a Comprehend start is checked against the model (request_checks),
#: then scripted (comprehend), then held (held_starts), then given an AWS-shaped ID (job_ids);
#: a Wait first stops an aborted execution (map_abort), then advances the clock (virtual_time).
BRIDGES: tuple[Install, ...] = (
    variables.install,
    jsonata_eval.install,
    virtual_time.install,
    stopped_task_calls.install,
    error_names.install,
    job_ids.install,
    held_starts.install,
    ended_job_stops.install,
    comprehend.install,
    list_filters.install,
    request_checks.install,
    sfn_sync.install,
    sdk_sfn.install,
    map_thresholds.install,
    result_writer.install,
    map_abort.install,
)


@contextlib.contextmanager
def local_aws(
    template: Mapping[str, Any],
    *,
    region: str = REGION,
    stack_name: str = "KeyPhrasesStack",
    server: bool = False,
) -> Iterator[LocalAws]:
    """moto with execution on, every bridge in :data:`BRIDGES` in place, and ``template``
    deployed as ``stack_name``.

    With ``server`` moto runs as a server on 127.0.0.1 (a free port), ``AWS_ENDPOINT_URL``
    points every boto3 client of the process at it, and ``MOTO_PORT`` points Step Functions'
    own SDK calls there; otherwise moto intercepts boto3 in-process.
    """
    with moto(server), contextlib.ExitStack() as bridges:
        local = LocalAws(template, region=region)
        for install in BRIDGES:
            bridges.enter_context(install(local))
        local.deploy(stack_name)
        yield local
