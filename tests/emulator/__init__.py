"""Run synthesized state machines in moto: deploy the template, execute, play Comprehend.

:func:`local_aws` deploys a CloudFormation template into moto (5.2.5) and returns a
:class:`LocalAws`, whose :meth:`~LocalAws.run` executes a state machine in moto's Step Functions
interpreter, against a Comprehend that a :class:`ComprehendScript` plays.

Where moto does not do as AWS does, a bridge makes it, explicitly: one module per gap, each
saying what moto does, what AWS does (with the AWS documentation it follows) and what the bridge
does, and each installing its own patches while :func:`local_aws` is open (:mod:`.session`
composes them; :mod:`.patching` puts moto back as it was). Each has its own test,
``tests/emulator/test_<module>.py``, which fails without it.

* :mod:`.variables`: ``$variable`` reads in JSONPath states.
* :mod:`.jsonata_eval`: JSONata, with Step Functions' ``$hash`` and ``$uuid``.
* :mod:`.virtual_time`: Wait states and retry intervals on a virtual clock.
* :mod:`.comprehend`: key phrase jobs whose statuses and failures a script decides.
* :mod:`.job_ids`: 32-character job IDs.
* :mod:`.ended_job_stops`: stopping a job that has ended fails.
* :mod:`.request_checks`: every request to Comprehend checked against botocore's model.
* :mod:`.list_filters`: ListKeyPhrasesDetectionJobs takes one filter at a time.
* :mod:`.error_names`: ``Comprehend.<Error>``, not ``comprehend.<Error>``.
* :mod:`.stopped_task_calls`: a stop that lands while a Task's parameters are evaluated makes
  no call.
* :mod:`.sfn_sync`: the optimized Step Functions integration (``startExecution.sync:2``).
* :mod:`.sdk_sfn`: Step Functions through the AWS SDK integration (``aws-sdk:sfn:*``).
* :mod:`.map_thresholds`: a Distributed Map's failure thresholds.
* :mod:`.result_writer`: a Distributed Map's result files.
* :mod:`.map_abort`: a failed Map Run aborts its children; stopping a child is an abort.
* :mod:`.stopped_executions` (opt-in, :func:`stopped_executions_stay_aborted`): a stopped
  execution stays ABORTED whatever its in-flight task does next.

And two switches let a test choose an interleaving instead of hoping for one:
:attr:`LocalAws.propagate_map_abort` (:mod:`.map_abort`) and :meth:`LocalAws.hold_start` with
:attr:`LocalAws.after_list` (:mod:`.held_starts`).

The rest: :mod:`.local` (the deployment and execution API, and the state the bridges keep),
:mod:`.mock` (moto in-process or as a server), :mod:`.comprehend_output` (the output archive of
a completed job) and :mod:`.common`.
"""

from .common import ACCOUNT, ACTIVE_STATUSES, REGION
from .comprehend import ComprehendScript, ScriptedJob
from .comprehend_output import phrases_of, write_output
from .local import Execution, LocalAws
from .session import local_aws
from .stopped_executions import stopped_executions_stay_aborted

__all__ = [
    "ACCOUNT",
    "ACTIVE_STATUSES",
    "REGION",
    "ComprehendScript",
    "Execution",
    "LocalAws",
    "ScriptedJob",
    "local_aws",
    "phrases_of",
    "stopped_executions_stay_aborted",
    "write_output",
]
