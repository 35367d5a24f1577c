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

#: Comprehend's limits on one asynchronous job's input: at most 5 GB (and at least 500 bytes)
#: and at most 1,000,000 documents (files for ONE_DOC_PER_FILE, lines for ONE_DOC_PER_LINE).
MAX_JOB_BYTES = 5 * 1000**3
MIN_JOB_BYTES = 500
MAX_JOB_DOCUMENTS = 1_000_000

#: The batch: its error, and its concurrency (default: the Comprehend quota of 10 concurrent
#: key phrase jobs per account and Region). The give-up path reads one page of
#: ListKeyPhrasesDetectionJobs per active status to find the batch's jobs: 100 jobs' properties
#: stay well within the 256 KiB state payload, and the batch never has more active at once.
BATCH_FAILED = "KeyPhrasesBatchFailed"
DEFAULT_MAX_CONCURRENCY = 10
LIST_PAGE_SIZE = 100
MAX_BATCH_CONCURRENCY = LIST_PAGE_SIZE
#: Output of a KeyPhrasesStack naming its batch state machine.
OUTPUT_BATCH_STATE_MACHINE = "BatchStateMachineArn"
