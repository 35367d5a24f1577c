"""What docs/ says of the code's shape, checked against the code: the layout tree names every
module, and the constructs page lists exactly the attributes each construct sets."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk

from cdk_kp import KeyPhrasesBatch, KeyPhrasesPipeline

from .conftest import ROOT
from .test_readme import Block, of_kind, params


def layout_paths(tree: str) -> set[Path]:
    """The paths a layout tree names: each line starts with names (``a.py, b.py`` or ``dir/``),
    indented two spaces a level under their folder; a line whose start is not names continues
    the previous description."""
    folders: list[tuple[int, Path]] = []
    paths: set[Path] = set()
    for line in tree.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        names = [name.strip() for name in re.split(r" {2,}", line.strip())[0].split(",")]
        if not line.strip() or any(" " in name for name in names):
            continue
        folders = [(level, path) for level, path in folders if level < indent]
        parent = folders[-1][1] if folders else ROOT
        for name in names:
            paths.add(parent / name.rstrip("/"))
            if name.endswith("/"):
                folders.append((indent, parent / name.rstrip("/")))
    return paths


@params([block for block in of_kind("text") if block.marker == "layout"])
def test_the_layout_tree_names_real_paths_and_every_module(block: Block):
    paths = layout_paths(block.code)
    assert {path for path in paths if not path.exists()} == set(), block.name
    package = ROOT / "cdk_kp"
    modules = {
        path
        for folder in (package, package / "infra", package / "runtime")
        for path in folder.glob("*.py")
        if not (path.name == "__init__.py" and folder != package)
    }
    assert sorted(map(str, modules - paths)) == [], f"{block.name}: modules not in the tree"


def test_every_text_block_is_a_layout():
    assert [block.name for block in of_kind("text") if block.marker != "layout"] == []


def names_in(text: str) -> set[str]:
    """The code-marked identifiers of a passage."""
    return set(re.findall(r"`(\w+)`", text))


def test_the_constructs_page_lists_every_public_attribute():
    """The attributes each construct sets are the ones docs/constructs-and-props.md lists."""
    page = (ROOT / "docs/constructs-and-props.md").read_text()
    pipeline_attributes = page.split("\n### Attributes\n", 1)[1].split("\n###", 1)[0]
    workflow_attributes = re.search(r"Attributes: (`start_task`.*?)\. ", page, re.S)
    batch_attributes = re.search(r"- Attributes: (`pipeline`.*?)\n- ", page, re.S)
    assert workflow_attributes
    assert batch_attributes
    stack = cdk.Stack(cdk.App(), "Attributes")
    pipeline = KeyPhrasesPipeline(stack, "Pipeline")
    batch = KeyPhrasesBatch(stack, "Batch", pipeline=pipeline)
    for construct, passage in (
        (pipeline, pipeline_attributes),
        (pipeline.workflow, workflow_attributes.group(1)),
        (batch, batch_attributes.group(1)),
    ):
        public = {name for name in vars(construct) if not name.startswith("_")}
        listed = names_in(passage) - {"None", "JobNetwork", "CallAwsService"}
        assert public == listed, type(construct).__name__
