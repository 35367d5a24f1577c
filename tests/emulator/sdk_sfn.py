"""Bridge: Step Functions through the AWS SDK integration (``aws-sdk:sfn:*``).

The gap: moto 5.2.5 passes the parameters as written (``StateMachineArn``) to boto3, whose model
names them ``stateMachineArn``, and returns boto3's camelCase response (``executions``,
``nextToken``) with datetimes.

AWS: the SDK integrations take and return PascalCase fields: "Parameters in Step Functions are
expressed in PascalCase, even if the native service API is in camelCase" (the API actions are in
camel case and parameter names in Pascal case: "Learning to use AWS service SDK integrations in
Step Functions"), and timestamps come back as strings.

The bridge: for ``aws-sdk:sfn`` tasks, the parameters are renamed to boto3's names, and the
response renamed back to PascalCase, all the way down, with timestamps written as ISO 8601
strings. Other services' SDK tasks are left as moto runs them.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment

from .patching import patched
from .sfn_sync import lower_first

if TYPE_CHECKING:
    from .local import LocalAws

StateTaskServiceAwsSdk = state_task_service_aws_sdk.StateTaskServiceAwsSdk


def pascal_case(value: Any) -> Any:
    """A boto3 response as AWS's SDK integrations return it: PascalCase fields, timestamps as
    ISO 8601 strings."""
    if isinstance(value, dict):
        return {k[0].upper() + k[1:]: pascal_case(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pascal_case(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


@contextlib.contextmanager
def install(local: LocalAws) -> Iterator[None]:
    inner = StateTaskServiceAwsSdk._eval_service_task

    def sdk_call(
        self: StateTaskServiceAwsSdk,
        env: Environment,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if self.resource.api_name != "sfn":
            inner(self, env, resource_runtime_part, normalised_parameters, state_credentials)
            return
        parameters = lower_first(normalised_parameters)
        inner(self, env, resource_runtime_part, parameters, state_credentials)
        env.stack.append(pascal_case(env.stack.pop()))

    with patched((StateTaskServiceAwsSdk, "_eval_service_task", sdk_call)):
        yield
