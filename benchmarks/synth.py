"""What synthesis costs: `python app.py` for cdk_kp's stacks, an empty stack, and the peer.

Every app runs as its own process (what `cdk synth` does), interleaved with the others so that
machine noise falls on all of them alike, and the median of the runs is reported:

- the bundled app (app.py: the stack and its five cdk-nag validation plugins), the bundled stack
  without the plugins, and an app with an empty stack, with CDK's built-in CloudFormation
  validation on and off (CDK_VALIDATION);
- a floor: one bucket, one role, one log group and a state machine with one SDK task, the
  services the pipeline is made of and nothing more;
- apps holding 1, 10 and 50 pipelines (ten to a stack), for the marginal cost of a pipeline;
- AWS Solutions Constructs' aws-lambda-comprehend pattern (source and destination buckets,
  asynchronous key phrases), the closest public peer. It pins an older aws-cdk-lib, so it is
  installed into a virtual environment of its own (.bench/peer-venv) and compared against an
  empty stack synthesized in that same environment.

    .venv/bin/python -m benchmarks.synth             # 7 runs of each
    .venv/bin/python -m benchmarks.synth --runs 5 --no-peer
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = ROOT / ".bench" / "peer-venv"
PEER_PACKAGE = "aws-solutions-constructs.aws-lambda-comprehend==2.105.0"

EMPTY = """
import aws_cdk as cdk
app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
"""
STACK_ONLY = """
import aws_cdk as cdk
from cdk_kp import KeyPhrasesStack
app = cdk.App()
KeyPhrasesStack(app, "KeyPhrasesStack")
app.synth()
"""
# One construct of each kind the pipeline uses, and nothing else: the floor that loading those
# services' bindings puts under any stack built from them.
SAME_SERVICES = """
import aws_cdk as cdk
from aws_cdk import aws_iam as iam, aws_logs as logs, aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn, aws_stepfunctions_tasks as tasks
app = cdk.App()
stack = cdk.Stack(app, "SameServices")
bucket = s3.Bucket(stack, "Bucket")
role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("comprehend.amazonaws.com"))
task = tasks.CallAwsService(
    stack, "Describe", service="comprehend", action="describeKeyPhrasesDetectionJob",
    iam_resources=["*"], parameters={"JobId": bucket.bucket_name},
)
sfn.StateMachine(
    stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(task),
    logs=sfn.LogOptions(destination=logs.LogGroup(stack, "Logs")),
)
app.synth()
"""
MANY = """
import aws_cdk as cdk
from cdk_kp import KeyPhrasesPipeline
app = cdk.App()
for first in range(0, {count}, 10):
    stack = cdk.Stack(app, f"Pipelines{{first}}")
    for index in range(first, min(first + 10, {count})):
        KeyPhrasesPipeline(stack, f"Pipeline{{index}}")
app.synth()
"""
PEER = """
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_solutions_constructs import core
from aws_solutions_constructs.aws_lambda_comprehend import LambdaToComprehend
app = cdk.App()
stack = cdk.Stack(app, "Peer")
LambdaToComprehend(
    stack,
    "KeyPhrases",
    comprehend_use_cases=[core.ComprehendUseCase.ASYNC_BATCH],
    analysis_types=[core.ComprehendAnalysisType.KEY_PHRASES],
    lambda_function_props=lambda_.FunctionProps(
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\\n    return event\\n"),
    ),
)
app.synth()
"""


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing {PEER_PACKAGE} into {PEER_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", PEER_PACKAGE], check=True)
    return python


def time_app(python: Path, source: str, workdir: Path, validation: bool) -> float:
    script = workdir / "app.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ, CDK_VALIDATION="true" if validation else "false")
    env["CDK_OUTDIR"] = str(workdir / "cdk.out")
    began = time.perf_counter()
    result = subprocess.run(
        [str(python), str(script)], cwd=workdir, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{result.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-peer", action="store_true", help="skip the peer comparison")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs: at least 5, for a median worth reading")

    ours = Path(sys.executable)
    apps: dict[str, tuple[Path, str, bool]] = {}
    for validation in (False, True):
        label = "on" if validation else "off"
        apps[f"empty, validation {label}"] = (ours, EMPTY, validation)
        apps[f"bundled app.py, validation {label}"] = (
            ours,
            (ROOT / "app.py").read_text(),
            validation,
        )
        apps[f"bundled stack without cdk-nag, validation {label}"] = (ours, STACK_ONLY, validation)
        apps[f"one bucket, role, log group, task, validation {label}"] = (
            ours,
            SAME_SERVICES,
            validation,
        )
    for count in (1, 10, 50):
        apps[f"{count} pipelines, validation off"] = (ours, MANY.format(count=count), False)
    if not args.no_peer:
        peer_python = ensure_peer_venv()
        apps["peer empty, validation off"] = (peer_python, EMPTY, False)
        apps["peer aws-lambda-comprehend, validation off"] = (peer_python, PEER, False)

    times: dict[str, list[float]] = {name: [] for name in apps}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {name: Path(tmp) / str(i) for i, name in enumerate(apps)}
        for d in dirs.values():
            d.mkdir()
        for _ in range(args.runs):
            for name, (python, source, validation) in apps.items():
                times[name].append(time_app(python, source, dirs[name], validation))

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"Synthesis wall time, median of {args.runs} interleaved runs (seconds)")
    for name, value in median.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"  {name:<52} {value:6.2f}   (range {spread})")
    print()
    for label in ("off", "on"):
        empty = median[f"empty, validation {label}"]
        for what in (
            "bundled app.py",
            "bundled stack without cdk-nag",
            "one bucket, role, log group, task",
        ):
            value = median[f"{what}, validation {label}"]
            print(f"  {what}, validation {label}: {value / empty:.2f} x the empty stack")
    one, ten, fifty = (median[f"{n} pipelines, validation off"] for n in (1, 10, 50))
    print(
        f"  marginal cost of a pipeline: {(ten - one) / 9:.3f} s (1 -> 10), "
        f"{(fifty - one) / 49:.3f} s (1 -> 50)"
    )
    if not args.no_peer:
        peer_empty = median["peer empty, validation off"]
        peer = median["peer aws-lambda-comprehend, validation off"]
        ours_off = median["bundled app.py, validation off"]
        stack_off = median["bundled stack without cdk-nag, validation off"]
        print(f"  peer: {peer / peer_empty:.2f} x its own empty stack")
        print(f"  bundled app.py against the peer: {ours_off / peer:.2f} x its wall time")
        print(f"  bundled stack without cdk-nag against the peer: {stack_off / peer:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
