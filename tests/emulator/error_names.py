"""Bridge: the names of Comprehend's errors in Step Functions.

The gap: moto names an AWS SDK integration's errors ``comprehend.<Error>``, with the service in
lower case, because its table of service error prefixes (``dynamodb`` -> ``DynamoDb``, ``sfn`` ->
``Sfn``) has no entry for Comprehend.

AWS: an SDK integration's error is named ``ServiceName.ErrorName``, "both in Pascal case"
("Learning to use AWS service SDK integrations in Step Functions"):
``Comprehend.TooManyRequestsException``. The definition retries and catches those names.

The bridge: ``comprehend`` -> ``Comprehend`` is added to moto's table while it is installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)

from .patching import items_patched

if TYPE_CHECKING:
    from .local import LocalAws


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    prefixes = state_task_service_aws_sdk._SERVICE_ERROR_NAMES
    with items_patched(prefixes, {"comprehend": "Comprehend"}):
        yield
