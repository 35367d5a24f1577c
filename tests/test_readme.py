"""The README and docs/ as a reader finds them: every fenced code block is checked, every
relative link resolves, and the README stays a front page.

A comment on the line before a block (``<!-- test: ... -->``) says what it is where a kind has
more than one use; docs/development.md ("The documentation's tests") describes them:

* ``python``: executed. ``synth stack=NAME machines=N [outputs=cdk-kp]``: it builds ``app``,
  whose stack NAME has N state machines (and the outputs ``cdk-kp`` needs). ``continues``: a
  fragment going on from the page's previous Python block, run joined to it as one example.
  ``emulator``: a client example, run against the bundled stack deployed in the test emulator.
* ``json``: parsed; ``json execution-output``, ``json batch-output``, ``json batch-manifest``:
  its fields are the contract's (cdk_kp/contract.py).
* ``sh`` and ``console`` (a transcript: ``$`` starts a command): ``cdk-kp`` commands are parsed
  with the CLI's parser, ``make`` targets must exist, ``aws`` commands must be operations and
  parameters of botocore's model, ``python -m`` modules importable, ``pytest`` paths existing.
* ``mermaid``: the states it names are the bundled stack's, the errors the contract's.
* ``text`` with ``layout``: a tree of the repository; every path it names exists, and every
  module of the package is named.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partialmethod
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk.assertions import Template

from cdk_kp import contract
from cdk_kp.runtime import cli
from cdk_kp.runtime.client import DocumentKeyPhrases, KeyPhrase, KeyPhrasesClient

from .conftest import ROOT
from .emulator import ComprehendScript, LocalAws, local_aws, write_output

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: The most characters the README may have: a front page, the rest in docs/.
README_MAX_CHARS = 12_000
#: The README's first construct example starts within this many characters.
EXAMPLE_WITHIN = 2_500

#: Kinds of block that are checked (below), and kinds that are prose only, with the reason.
CHECKED_KINDS = {"python", "json", "sh", "console", "mermaid", "text"}
PROSE_ONLY: dict[str, str] = {}

#: Commands a shell block may show without a check, with the reason.
UNCHECKED_COMMANDS = {
    "pip": "installs the library; the suite runs where it is installed",
    "head": "prints a file the transcript's command wrote; its output is checked instead",
}
#: `aws s3` commands are the CLI's own, not operations of botocore's model.
AWS_S3_COMMANDS = {"cp", "sync", "ls", "rm", "mv"}


@dataclass(frozen=True)
class Block:
    page: Path
    #: Line of the block's first line of code in the page (1-based).
    line: int
    kind: str
    #: What the ``<!-- test: ... -->`` comment before it says ("" without one).
    marker: str
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!-- test: (.+?) -->")


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.fullmatch(before.strip())
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start(2)) + 1,
                kind=match.group(1).strip(),
                marker=marker.group(1) if marker else "",
                code=match.group(2),
            )
        )
    return found


BLOCKS = [block for page in PAGES for block in blocks_of(page)]


def of_kind(kind: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind == kind]


def params(blocks: list[Block]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("block", blocks, ids=[block.name for block in blocks])


# -- the pages as a whole ----------------------------------------------------------------------


def test_the_readme_is_a_front_page():
    text = README.read_text()
    assert len(text) <= README_MAX_CHARS, f"README.md has {len(text):,} characters"
    # The example for the simple use case comes almost first; contributors' set-up comes last.
    assert text.index("```python") < EXAMPLE_WITHIN
    assert text.index("```python") < text.index("make synth")


def test_every_block_is_of_a_checked_kind_or_listed_as_prose():
    for block in BLOCKS:
        assert block.kind, f"{block.name}: a block without a kind (```python, ```sh, ...)"
        assert block.kind in CHECKED_KINDS or block.kind in PROSE_ONLY, block.name


def test_every_marker_is_on_the_line_before_a_block():
    for page in PAGES:
        markers = len(re.findall(rf"^{MARKER.pattern}$", page.read_text(), flags=re.M))
        assert markers == sum(1 for b in blocks_of(page) if b.marker), page.name


@pytest.mark.parametrize("page", PAGES[1:], ids=[page.name for page in PAGES[1:]])
def test_each_docs_page_opens_with_a_summary_that_links_back_to_the_readme(page):
    title, summary = page.read_text().split("\n\n", 2)[:2]
    assert title.startswith("# "), page.name
    assert "\n" not in title, page.name
    assert not summary.startswith(("-", "|", "```", "#")), f"{page.name}: no summary paragraph"
    assert "](../README.md)" in summary, f"{page.name}: the summary links back to the README"


def prose(text: str) -> str:
    """``text`` without code blocks and code spans, where a link is not a link."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), flags=re.M):
        anchor = base = slug(heading)
        number = 0
        while anchor in found:
            number += 1
            anchor = f"{base}-{number}"
        found.add(anchor)
    return found


def links(page: Path) -> Iterator[str]:
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page.read_text())):
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_resolves(page):
    for target in links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} names no file"
        if anchor:
            assert linked.suffix == ".md", f"{page.name}: {target}"
            assert anchor in anchors(linked), f"{page.name}: {target} names no heading"


def test_the_readme_links_to_every_docs_page():
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    assert set(PAGES[1:]) <= linked


# -- python ------------------------------------------------------------------------------------


def chains() -> list[list[Block]]:
    """Python blocks as examples: a ``continues`` block joined to the one before it."""
    found: list[list[Block]] = []
    for block in of_kind("python"):
        if block.marker == "continues":
            assert found, f"{block.name} continues nothing"
            assert found[-1][0].page == block.page, f"{block.name} continues another page"
            found[-1].append(block)
        else:
            found.append([block])
    return found


def run(chain: list[Block], namespace: dict[str, Any]) -> None:
    """Execute the blocks as one example, each at its own line of the page (for tracebacks)."""
    source = ""
    for block in chain:
        source += "\n" * (block.line - 1 - source.count("\n")) + block.code
    exec(compile(source, str(chain[0].page), "exec"), namespace)


def options(marker: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in marker.split()[1:])


SYNTH = [chain for chain in chains() if chain[0].marker.startswith("synth ")]
EMULATED = [chain for chain in chains() if chain[0].marker == "emulator"]


def test_every_python_block_says_what_it_is():
    for chain in chains():
        assert chain in SYNTH or chain in EMULATED, f"{chain[0].name}: {chain[0].marker!r}"


@pytest.mark.parametrize("chain", SYNTH, ids=[chain[0].name for chain in SYNTH])
def test_example_synthesizes(chain: list[Block]):
    expected = options(chain[0].marker)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    run(chain, namespace)
    app = namespace["app"]
    assert isinstance(app, cdk.App)
    template = app.synth().get_stack_by_name(expected["stack"]).template
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::StepFunctions::StateMachine") == int(expected["machines"])
    if expected.get("outputs") == "cdk-kp":
        assert set(contract.REQUIRED_OUTPUTS) <= set(template.get("Outputs", {}))


@pytest.fixture(scope="module")
def aws(bundled_template: Template) -> Iterator[LocalAws]:
    with local_aws(bundled_template.to_json(), server=True) as local:
        local.make_deployed_executable(local.outputs[contract.OUTPUT_STATE_MACHINE])
        local.make_deployed_executable(local.outputs[contract.OUTPUT_BATCH_STATE_MACHINE])
        yield local


@pytest.mark.parametrize("chain", EMULATED, ids=[chain[0].name for chain in EMULATED])
def test_client_example_runs_against_the_emulator(chain, aws, tmp_path, monkeypatch, capsys):
    for folder, name in (("docs", "report.txt"), ("docs", "notes.txt"), ("corpus", "a.txt")):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text("Amazon Comprehend reads the Annual Report.\n")
    monkeypatch.chdir(tmp_path)
    for method in ("wait", "wait_batch"):
        fast = partialmethod(getattr(KeyPhrasesClient, method), poll_seconds=0.05)
        monkeypatch.setattr(KeyPhrasesClient, method, fast)
    script = ComprehendScript.completes_after(600)
    script.on_complete = write_output(aws)
    aws.reset(script)
    run(chain, {"__name__": "docs_example"})
    assert aws.script.jobs, "the example started a job"
    assert aws.invalid_requests == []
    assert "Comprehend" in capsys.readouterr().out, "the example printed key phrases"


# -- json --------------------------------------------------------------------------------------

EXECUTION_OUTPUT = {
    contract.JOB_ID,
    contract.JOB_ARN,
    contract.JOB_STATUS,
    contract.INPUT_S3_URI,
    contract.OUTPUT_S3_URI,
    contract.LANGUAGE_CODE,
}
BATCH_OUTPUT = {
    contract.JOB_NAME,
    contract.MAP_RUN_ARN,
    contract.RESULTS_BUCKET,
    contract.RESULTS_MANIFEST,
}
EXECUTION_INPUT = {
    contract.INPUT_PREFIX,
    contract.LANGUAGE_CODE,
    contract.INPUT_FORMAT,
    contract.JOB_NAME,
}


def check_execution_input(value: Any) -> None:
    assert isinstance(value, dict), value
    assert set(value) <= EXECUTION_INPUT, value
    assert value.get(contract.LANGUAGE_CODE, "en") in contract.LANGUAGE_CODES
    assert value.get(contract.INPUT_FORMAT, "ONE_DOC_PER_LINE") in contract.INPUT_FORMATS


def check_json(kind: str, value: Any) -> None:
    if kind == "execution-output":
        assert set(value) == EXECUTION_OUTPUT
        assert value[contract.JOB_STATUS] == contract.JobStatus.COMPLETED
        assert value[contract.LANGUAGE_CODE] in contract.LANGUAGE_CODES
    elif kind == "batch-output":
        assert set(value) == BATCH_OUTPUT
    elif kind == "batch-manifest":
        assert value
        assert all(set(item) == {contract.INPUT_PREFIX} for item in value)
    elif kind == "execution-input":
        check_execution_input(value)
    elif kind == "plan":
        check_plan(value)
    else:
        raise AssertionError(f"no check for json {kind!r}")


def check_plan(value: Any) -> None:
    """A `cdk-kp plan --json` object: the fields the command prints, adding up."""
    from cdk_kp.runtime.cli.planning import plan_json
    from cdk_kp.runtime.estimate import estimate
    from cdk_kp.runtime.uploads import UploadPlan

    shape = plan_json(UploadPlan([], []), estimate(UploadPlan([], [])))
    assert set(value) == set(shape)
    assert set(value["estimate"]) == set(estimate(UploadPlan([], [])).as_dict())
    assert all(set(s) == {"name", "documents", "bytes", "files"} for s in value["shards"])
    assert all(set(s) == {"path", "reason"} for s in value["skipped"])
    assert value["jobs"] == len(value["shards"])
    assert value["documents"] == sum(s["documents"] for s in value["shards"])
    assert value["bytes"] == sum(s["bytes"] for s in value["shards"])
    found = value["estimate"]
    assert found["usd"] == pytest.approx(found["units"] * found["price_per_unit_usd"])


@params(of_kind("json"))
def test_json_block_parses_and_has_the_contracts_fields(block: Block):
    value = json.loads(block.code)
    assert block.marker == "" or block.marker.startswith("json "), block.marker
    if block.marker:
        check_json(block.marker.split()[1], value)


# -- sh and console ----------------------------------------------------------------------------


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))


def check_cdk_kp(argv: list[str]) -> None:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.parser().parse_args(argv)
            code: str | int | None = 0
        except SystemExit as exit_:  # --version and --help exit 0
            code = exit_.code
    assert code == 0, f"cdk-kp {shlex.join(argv)}: {errors.getvalue()}"


def aws_member(shape: Any, option: str) -> Any:
    """The member of ``shape`` an AWS CLI ``--option`` sets."""
    members = {name.lower(): member for name, member in shape.members.items()}
    member = members.get(option.replace("-", ""))
    assert member is not None, f"--{option} is not a member of {shape.name}"
    return member


def check_aws(argv: list[str]) -> None:
    service, command, *rest = argv
    if service == "s3":
        assert command in AWS_S3_COMMANDS, argv
        return
    model = botocore.session.get_session().get_service_model(service)
    operation = model.operation_model("".join(w.title() for w in command.split("-")))
    values = iter(rest)
    for word in values:
        assert word.startswith("--"), f"aws {shlex.join(argv)}: {word!r}"
        option = word[2:]
        if option == "region":
            next(values)
            continue
        member = aws_member(operation.input_shape, option)
        value = next(values, "")
        if member.type_name == "structure":  # shorthand: Key=value,...
            for pair in value.split(","):
                aws_member(member, pair.split("=", 1)[0].lower())
        if (service, command, option) == ("stepfunctions", "start-execution", "input"):
            check_execution_input(json.loads(value))


def check_command(argv: list[str]) -> None:
    program, *args = argv
    if program == "cdk-kp":
        check_cdk_kp(args)
    elif program == "make":
        assert set(args) <= makefile_targets(), f"make {shlex.join(args)}: no such target"
    elif program == "aws":
        check_aws(args)
    elif program.endswith("python") and args[:1] == ["-m"]:
        assert importlib.util.find_spec(args[1]) is not None, f"python -m {args[1]}"
    elif program.endswith("pytest"):
        for path in (arg for arg in args if not arg.startswith("-")):
            assert (ROOT / path).exists(), f"pytest {path}: no such file"
    else:
        assert program in UNCHECKED_COMMANDS, f"no check for {shlex.join(argv)}"


def expand(word: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda name: variables[name.group(1)], word)


def shell_commands(code: str) -> Iterator[list[str]]:
    """The commands of a shell block, with its variables (``NAME=value``) expanded."""
    variables: dict[str, str] = {}
    for line in code.replace("\\\n", " ").splitlines():
        argv = [expand(word, variables) for word in shlex.split(line, comments=True)]
        if len(argv) == 1 and re.fullmatch(r"[A-Z_]+=\S+", argv[0]):
            name, _, value = argv[0].partition("=")
            variables[name] = value
        elif argv:
            yield argv


@params(of_kind("sh"))
def test_shell_block_commands_are_valid(block: Block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where `--out results.jsonl` would be written
    commands = list(shell_commands(block.code))
    assert commands, block.name
    for argv in commands:
        check_command(argv)


def check_record(line: str) -> None:
    """A line of `cdk-kp`'s JSON lines: a record's fields, in the order the CLI writes them."""
    record = json.loads(line)
    fields = DocumentKeyPhrases("f", 0, [KeyPhrase("x", 0.5, 0, 1)]).as_dict()
    assert list(record) == list(fields)
    assert record["error"] is None
    assert list(record["key_phrases"][0]) == list(fields["key_phrases"][0])


def check_output(command: list[str], output: list[str]) -> None:
    if command == ["head", "-1", "results.jsonl"]:
        (line,) = output
        check_record(line)
    for line in output:
        if line.lstrip().startswith("aws "):
            argv = shlex.split(line)
            check_aws(argv[1:])
            if "stop-key-phrases-detection-job" in argv:
                job, region = argv[argv.index("--job-id") + 1], argv[argv.index("--region") + 1]
                assert line.strip() == cli.stop_job_command(job, region)


@params(of_kind("console"))
def test_console_transcript_commands_and_output_are_valid(block: Block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command: list[str] = []
    output: list[str] = []
    for line in [*block.code.splitlines(), "$ "]:
        if line.startswith("$ "):
            check_output(command, output)
            command, output = shlex.split(line[2:]), []
            if command:
                check_command(command)
        else:
            output.append(line)


def test_the_readme_shows_the_two_setup_commands_of_the_makefile():
    makefile = (ROOT / "Makefile").read_text()
    commands = [argv for block in blocks_of(README) for argv in shell_commands(block.code)]
    for target in ("synth", "test"):
        assert ["make", target] in commands
        assert re.search(rf"^{target}: install", makefile, flags=re.M)


# -- mermaid -----------------------------------------------------------------------------------

ERRORS = {
    contract.INVALID_INPUT,
    contract.JOB_FAILED,
    contract.JOB_STOPPED,
    contract.JOB_TIMED_OUT,
    contract.POLLING_FAILED,
    contract.BATCH_FAILED,
}


def snapshot_state_names() -> set[str]:
    """Every state name of the bundled stack's state machines, as its snapshot keeps them."""
    path = ROOT / "tests/__snapshots__/test_snapshots/test_bundled_stack_template.json"
    names: set[str] = set()

    def collect(states: dict[str, Any]) -> None:
        for name, state in states.items():
            names.add(name)
            for nested in (state.get("ItemProcessor"), state.get("Iterator")):
                if nested:
                    collect(nested["States"])
            for branch in state.get("Branches", []):
                collect(branch["States"])

    for resource in json.loads(path.read_text())["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            definition = resource["Properties"]["DefinitionString"]
            parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition]
            collect(json.loads("".join(p if isinstance(p, str) else "X" for p in parts))["States"])
    return names


@params(of_kind("mermaid"))
def test_diagram_names_real_states_and_errors(block: Block):
    states = snapshot_state_names()
    nodes = re.findall(r"\w+(\(\[|\[|\{)([^\]\}<]+)", block.code)
    assert nodes, block.name
    for shape, label in nodes:
        assert label in (ERRORS if shape == "([" else states), f"{block.name}: {label}"


# -- tables the code also holds ----------------------------------------------------------------


def section(page: str, heading: str) -> str:
    text = (ROOT / page).read_text()
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def normalized(text: str) -> str:
    """Text as a reader sees it: no Markdown code marks, single spaces."""
    return " ".join(text.replace("`", "").split())


def test_the_exit_code_table_documents_the_clis_codes_with_the_same_meanings():
    rows = re.findall(
        r"^\| (\d+) \| (.+?) \|$", section("docs/cli-and-client.md", "## Exit codes"), re.M
    )
    documented = {int(code): normalized(meaning) for code, meaning in rows}
    assert len(documented) == len(rows), "a code is listed twice"
    assert sorted(documented) == sorted(cli.EXIT_CODES)
    for code, meaning in cli.EXIT_CODES.items():
        # Each row says what --help says, and may go on with details.
        shown = normalized(meaning)
        assert documented[code] == shown or re.match(
            rf"{re.escape(shown)}[:;,.( ]", documented[code]
        ), f"exit code {code}:\n  docs: {documented[code]}\n  --help: {shown}"
