"""cdk_kp: AWS CDK constructs for Amazon Comprehend asynchronous key phrase detection."""

from cdk_kp._validation import INPUT_FORMATS, LANGUAGE_CODES
from cdk_kp.data_access_role import KeyPhrasesDataAccessRole
from cdk_kp.pipeline import KeyPhrasesPipeline
from cdk_kp.schedule import PollSchedule
from cdk_kp.stack import KeyPhrasesStack
from cdk_kp.workflow import (
    INVALID_INPUT,
    JOB_FAILED,
    JOB_STOPPED,
    JOB_TIMED_OUT,
    KeyPhrasesWorkflow,
)

__all__ = [
    "INPUT_FORMATS",
    "INVALID_INPUT",
    "JOB_FAILED",
    "JOB_STOPPED",
    "JOB_TIMED_OUT",
    "LANGUAGE_CODES",
    "KeyPhrasesDataAccessRole",
    "KeyPhrasesPipeline",
    "KeyPhrasesStack",
    "KeyPhrasesWorkflow",
    "PollSchedule",
]
