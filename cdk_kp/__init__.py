"""cdk_kp: AWS CDK constructs for Amazon Comprehend asynchronous key phrase detection.

The constructs load aws-cdk-lib (and start its Node process) when first used, not when the
package is imported, so that ``cdk_kp.runtime.client`` and the ``cdk-kp`` command stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cdk_kp.contract import (
    BATCH_FAILED,
    INPUT_FORMATS,
    INVALID_INPUT,
    JOB_FAILED,
    JOB_STOPPED,
    JOB_TIMED_OUT,
    LANGUAGE_CODES,
    POLLING_FAILED,
    InputFormat,
    Language,
)

if TYPE_CHECKING:
    from cdk_kp.infra.batch import BatchablePipeline, KeyPhrasesBatch
    from cdk_kp.infra.data_access_role import KeyPhrasesDataAccessRole, grant_data_access
    from cdk_kp.infra.network import JobNetwork
    from cdk_kp.infra.pipeline import KeyPhrasesPipeline
    from cdk_kp.infra.schedule import PollSchedule
    from cdk_kp.infra.stack import KeyPhrasesStack
    from cdk_kp.infra.workflow import KeyPhrasesWorkflow
    from cdk_kp.runtime.client import KeyPhrasesClient

_LAZY = {
    "KeyPhrasesBatch": "cdk_kp.infra.batch",
    "BatchablePipeline": "cdk_kp.infra.batch",
    "KeyPhrasesDataAccessRole": "cdk_kp.infra.data_access_role",
    "grant_data_access": "cdk_kp.infra.data_access_role",
    "JobNetwork": "cdk_kp.infra.network",
    "KeyPhrasesPipeline": "cdk_kp.infra.pipeline",
    "PollSchedule": "cdk_kp.infra.schedule",
    "KeyPhrasesStack": "cdk_kp.infra.stack",
    "KeyPhrasesWorkflow": "cdk_kp.infra.workflow",
    "KeyPhrasesClient": "cdk_kp.runtime.client",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cdk_kp' has no attribute {name!r}")


__all__ = [
    "BATCH_FAILED",
    "INPUT_FORMATS",
    "INVALID_INPUT",
    "JOB_FAILED",
    "JOB_STOPPED",
    "JOB_TIMED_OUT",
    "LANGUAGE_CODES",
    "POLLING_FAILED",
    "BatchablePipeline",
    "InputFormat",
    "JobNetwork",
    "KeyPhrasesBatch",
    "KeyPhrasesClient",
    "KeyPhrasesDataAccessRole",
    "KeyPhrasesPipeline",
    "KeyPhrasesStack",
    "KeyPhrasesWorkflow",
    "Language",
    "PollSchedule",
    "grant_data_access",
]
