"""The execution contract, shared by the constructs and the client: no CDK import here.

Inputs an execution accepts, errors it can fail with, and the outputs a KeyPhrasesStack exports.
"""

from __future__ import annotations

#: Languages StartKeyPhrasesDetectionJob accepts (botocore ``LanguageCode`` enum).
LANGUAGE_CODES: tuple[str, ...] = (
    "en",
    "es",
    "fr",
    "de",
    "it",
    "pt",
    "ar",
    "hi",
    "ja",
    "ko",
    "zh",
    "zh-TW",
)

#: Values of ``InputDataConfig.InputFormat``.
INPUT_FORMATS: tuple[str, ...] = ("ONE_DOC_PER_FILE", "ONE_DOC_PER_LINE")

#: Error names an execution (or a state machine running the fragment) can fail with.
JOB_FAILED = "KeyPhrasesJobFailed"
JOB_STOPPED = "KeyPhrasesJobStopped"
JOB_TIMED_OUT = "KeyPhrasesJobTimedOut"
INVALID_INPUT = "InvalidExecutionInput"
POLLING_FAILED = "KeyPhrasesPollingFailed"

#: Outputs of a KeyPhrasesStack, by key; a stack without the first three is not one.
OUTPUT_INPUT_BUCKET = "InputBucketName"
OUTPUT_OUTPUT_BUCKET = "OutputBucketName"
OUTPUT_STATE_MACHINE = "StateMachineArn"
OUTPUT_ROLE = "DataAccessRoleArn"
OUTPUT_INPUT_PREFIX = "InputPrefix"
OUTPUT_OUTPUT_PREFIX = "OutputPrefix"
OUTPUT_INPUT_FORMAT = "InputFormat"
REQUIRED_OUTPUTS = (OUTPUT_INPUT_BUCKET, OUTPUT_OUTPUT_BUCKET, OUTPUT_STATE_MACHINE)

#: Comprehend's limit on one document (UTF-8), for ONE_DOC_PER_FILE a file, for
#: ONE_DOC_PER_LINE a line.
MAX_DOCUMENT_BYTES = 1024 * 1024
