"""cdk_kp: AWS CDK constructs for Amazon Comprehend asynchronous key phrase detection."""

from cdk_kp._validation import INPUT_FORMATS, LANGUAGE_CODES
from cdk_kp.data_access_role import KeyPhrasesDataAccessRole, grant_data_access
from cdk_kp.network import JobNetwork
from cdk_kp.pipeline import KeyPhrasesPipeline
from cdk_kp.schedule import PollSchedule
from cdk_kp.stack import KeyPhrasesStack
from cdk_kp.workflow import (
    INVALID_INPUT,
    JOB_FAILED,
    JOB_STOPPED,
    JOB_TIMED_OUT,
    POLLING_FAILED,
    KeyPhrasesWorkflow,
)

__all__ = [
    "INPUT_FORMATS",
    "INVALID_INPUT",
    "JOB_FAILED",
    "JOB_STOPPED",
    "JOB_TIMED_OUT",
    "LANGUAGE_CODES",
    "POLLING_FAILED",
    "JobNetwork",
    "KeyPhrasesDataAccessRole",
    "KeyPhrasesPipeline",
    "KeyPhrasesStack",
    "KeyPhrasesWorkflow",
    "PollSchedule",
    "grant_data_access",
]
