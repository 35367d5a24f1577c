"""The README's Python examples run as written, and its two set-up commands are the Makefile's."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_the_four_examples():
    assert len(EXAMPLES) == 4


@pytest.mark.parametrize(
    ("source", "stack", "machines"),
    [
        (EXAMPLES[0], "CorpusStack", 2),
        (EXAMPLES[1], "DocumentsStack", 1),
        (EXAMPLES[2], "MyWorkflowStack", 1),
        (EXAMPLES[3], "ConfidentialStack", 1),
    ],
    ids=["own-batch", "own-stack", "own-state-machine", "keys-vpc-tags"],
)
def test_example_synthesizes(source: str, stack: str, machines: int):
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(source, "README.md", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, cdk.App)
    template = app.synth().get_stack_by_name(stack).template
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::StepFunctions::StateMachine") == machines


def test_setup_commands_are_make_synth_and_make_test():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("synth", "test"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}: install", makefile, flags=re.M)
