"""The execution contract, shared by the constructs (:mod:`cdk_kp.infra`) and the client and CLI
(:mod:`cdk_kp.runtime`): what an execution accepts and returns, the errors it fails with, the
names the client reads, the outputs a KeyPhrasesStack exports, and the limits of the services.
Standard library only: no aws-cdk-lib, no boto3.
"""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    """Languages StartKeyPhrasesDetectionJob accepts (botocore's ``LanguageCode`` enum)."""

    EN = "en"
    ES = "es"
    FR = "fr"
    DE = "de"
    IT = "it"
    PT = "pt"
    AR = "ar"
    HI = "hi"
    JA = "ja"
    KO = "ko"
    ZH = "zh"
    ZH_TW = "zh-TW"


class InputFormat(StrEnum):
    """Values of ``InputDataConfig.InputFormat``: a document per file, or per line."""

    ONE_DOC_PER_FILE = "ONE_DOC_PER_FILE"
    ONE_DOC_PER_LINE = "ONE_DOC_PER_LINE"


#: The values of :class:`Language` and :class:`InputFormat`, as plain strings, in order.
LANGUAGE_CODES: tuple[str, ...] = tuple(language.value for language in Language)
INPUT_FORMATS: tuple[str, ...] = tuple(input_format.value for input_format in InputFormat)

# -- an execution of the pipeline --------------------------------------------------------------

#: Fields of a pipeline execution's input (every one optional) and of a batch's.
INPUT_PREFIX = "inputPrefix"
LANGUAGE_CODE = "languageCode"
INPUT_FORMAT = "inputFormat"
JOB_NAME = "jobName"
MANIFEST = "manifest"

#: Fields of a pipeline execution's output on success (``languageCode`` too).
JOB_ID = "jobId"
JOB_ARN = "jobArn"
JOB_STATUS = "jobStatus"
INPUT_S3_URI = "inputS3Uri"
OUTPUT_S3_URI = "outputS3Uri"

#: Fields of a batch execution's output on success (``jobName`` too).
MAP_RUN_ARN = "mapRunArn"
RESULTS_BUCKET = "resultsBucket"
RESULTS_MANIFEST = "resultsManifest"
#: A shard's record in the Map Run results: its pipeline execution (besides the job fields).
EXECUTION_ARN = "executionArn"

#: Error names an execution (or a state machine running the fragment) can fail with.
JOB_FAILED = "KeyPhrasesJobFailed"
JOB_STOPPED = "KeyPhrasesJobStopped"
JOB_TIMED_OUT = "KeyPhrasesJobTimedOut"
INVALID_INPUT = "InvalidExecutionInput"
POLLING_FAILED = "KeyPhrasesPollingFailed"
BATCH_FAILED = "KeyPhrasesBatchFailed"

#: States and tasks the client reads in an execution's history: the batch's state that names
#: its jobs (its output's ``jobName``), and the pipeline's start call (its task resource).
RESOLVE_BATCH_STATE = "ResolveBatch"
START_JOB_STATE = "StartJob"
START_JOB_RESOURCE_TYPE = "aws-sdk:comprehend"
START_JOB_RESOURCE = "startKeyPhrasesDetectionJob"

# -- a KeyPhrasesStack's outputs ---------------------------------------------------------------

#: Outputs of a KeyPhrasesStack, by key; a stack without the first three is not one.
OUTPUT_INPUT_BUCKET = "InputBucketName"
OUTPUT_OUTPUT_BUCKET = "OutputBucketName"
OUTPUT_STATE_MACHINE = "StateMachineArn"
OUTPUT_ROLE = "DataAccessRoleArn"
OUTPUT_INPUT_PREFIX = "InputPrefix"
OUTPUT_OUTPUT_PREFIX = "OutputPrefix"
OUTPUT_INPUT_FORMAT = "InputFormat"
OUTPUT_BATCH_STATE_MACHINE = "BatchStateMachineArn"
REQUIRED_OUTPUTS = (OUTPUT_INPUT_BUCKET, OUTPUT_OUTPUT_BUCKET, OUTPUT_STATE_MACHINE)
#: CloudFormation refuses an empty output value: an empty prefix is exported as this.
NO_PREFIX = "/"

# -- limits of the services ----------------------------------------------------------------------

#: Comprehend's limit on one document (UTF-8): for ONE_DOC_PER_FILE a file, for
#: ONE_DOC_PER_LINE a line.
MAX_DOCUMENT_BYTES = 1024 * 1024
#: Comprehend's limits on one asynchronous job's input: at most 5 GB (and at least 500 bytes)
#: and at most 1,000,000 documents (files for ONE_DOC_PER_FILE, lines for ONE_DOC_PER_LINE).
MAX_JOB_BYTES = 5 * 1000**3
MIN_JOB_BYTES = 500
MAX_JOB_DOCUMENTS = 1_000_000

#: ``JobName``: 1 to 256 characters, letters, separators, numbers and these.
JOB_NAME_MAX_LENGTH = 256
JOB_NAME_PUNCTUATION = "_.:/=+-%@"
#: Step Functions execution names are at most 80 characters.
EXECUTION_NAME_MAX_LENGTH = 80
#: ``S3Uri`` is at most 1024 characters.
S3_URI_MAX_LENGTH = 1024
#: ``Tags``: at most 50; keys 1 to 128 characters, values up to 256.
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
#: ``VpcConfig``: 1 to 16 subnets and 1 to 5 security groups.
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5

#: Step Functions Standard: at most 25,000 events in one execution's history, and one year.
HISTORY_EVENT_LIMIT = 25_000
MAX_EXECUTION_SECONDS = 365 * 24 * 3600

#: The batch's concurrency (default: the Comprehend quota of 10 concurrent key phrase jobs per
#: account and Region). The give-up path reads one page of ListKeyPhrasesDetectionJobs per
#: active status to find the batch's jobs: 100 jobs' properties stay well within the 256 KiB
#: state payload, and the batch never has more active at once.
DEFAULT_MAX_CONCURRENCY = 10
LIST_PAGE_SIZE = 100
MAX_BATCH_CONCURRENCY = LIST_PAGE_SIZE


class JobStatus(StrEnum):
    """Statuses of a key phrase detection job (botocore's ``JobStatus`` enum)."""

    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    STOP_REQUESTED = "STOP_REQUESTED"
    STOPPED = "STOPPED"


#: Statuses of a job still running: a stop acts on it.
ACTIVE_JOB_STATUSES: tuple[str, ...] = (JobStatus.SUBMITTED.value, JobStatus.IN_PROGRESS.value)
