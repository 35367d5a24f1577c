"""The runtime's boundary: the client, the `cdk-kp` command and the contract they share need boto3
and the standard library only. Nothing in them imports aws-cdk-lib, constructs, cdk-nag (or the
jsii runtime they load) or the constructs of cdk_kp.infra, in any form; and importing the client
loads none of them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cdk_kp

from .conftest import ROOT

#: Top-level packages the runtime must not import: the CDK and what it runs on.
FORBIDDEN_PACKAGES = ("aws_cdk", "constructs", "cdk_nag", "jsii")
#: Modules of the library that hold (or re-export) the constructs.
FORBIDDEN_MODULES = ("cdk_kp.infra", "cdk_kp.stack")
#: Names ``cdk_kp`` resolves lazily from cdk_kp.infra: importing one loads aws-cdk-lib.
LAZY_CONSTRUCTS = tuple(
    f"cdk_kp.{name}"
    for name, module in cdk_kp._LAZY.items()
    if module.startswith(f"{FORBIDDEN_MODULES[0]}.")
)


def boundary_files() -> list[Path]:
    """The modules on the runtime's side: cdk_kp/runtime, the contract, the client's old home."""
    package = ROOT / "cdk_kp"
    return [
        *sorted((package / "runtime").rglob("*.py")),
        package / "contract.py",
        package / "client.py",
    ]


def module_of(path: Path) -> str:
    """The dotted name of the module at ``path`` (a package is its ``__init__``)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(source: str, module: str, *, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module (or module attribute) ``source`` imports, by line: ``import`` and ``from``
    statements anywhere (in functions, under TYPE_CHECKING), relative ones resolved, and
    ``importlib.import_module``/``__import__`` of a literal name."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = _absolute(node, package)
            yield node.lineno, origin
            yield from ((node.lineno, f"{origin}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            first = node.args[0]
            assert isinstance(first, ast.Constant)
            yield node.lineno, str(first.value)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from`` import reads from, a relative one resolved against ``package``."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _is_dynamic_import(call: ast.Call) -> bool:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    first = call.args[0] if call.args else None
    named = isinstance(first, ast.Constant) and isinstance(first.value, str)
    return name in ("import_module", "__import__") and named


def crosses(name: str) -> bool:
    """Whether importing ``name`` crosses the boundary."""
    if name.split(".")[0] in FORBIDDEN_PACKAGES or name in LAZY_CONSTRUCTS:
        return True
    return any(name == module or name.startswith(f"{module}.") for module in FORBIDDEN_MODULES)


def crossings(source: str, module: str, *, is_package: bool = False) -> list[str]:
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported(source, module, is_package=is_package)
        if crosses(name)
    ]


def test_the_boundary_covers_the_client_the_command_and_the_contract():
    modules = {module_of(path) for path in boundary_files()}
    assert {
        "cdk_kp.contract",
        "cdk_kp.client",
        "cdk_kp.runtime.client",
        "cdk_kp.runtime.cli",
        "cdk_kp.runtime.cli.commands",
        "cdk_kp.runtime.sharding",
    } <= modules
    assert "cdk_kp.KeyPhrasesStack" in LAZY_CONSTRUCTS
    assert "cdk_kp.KeyPhrasesClient" not in LAZY_CONSTRUCTS


def test_no_runtime_module_imports_the_cdk_or_the_constructs():
    found = [
        crossing
        for path in boundary_files()
        for crossing in crossings(
            path.read_text(), module_of(path), is_package=path.name == "__init__.py"
        )
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "import aws_cdk",
        "import aws_cdk.aws_s3 as s3",
        "from aws_cdk import Stack",
        "import constructs",
        "from cdk_nag import NagSuppressions",
        "import jsii",
        "from cdk_kp.infra.stack import KeyPhrasesStack",
        "from cdk_kp import infra",
        "from cdk_kp import KeyPhrasesStack",
        "from cdk_kp.stack import KeyPhrasesStack",
        "from ..infra import pipeline",
        "from .. import KeyPhrasesPipeline",
        "def f():\n    import aws_cdk",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from constructs import Construct",
        "import importlib\nimportlib.import_module('aws_cdk.aws_iam')",
        "__import__('cdk_kp.infra.batch')",
    ],
)
def test_the_import_check_finds_each_way_of_crossing(source):
    assert crossings(source, "cdk_kp.runtime.example") != []


@pytest.mark.parametrize(
    "source",
    [
        "import boto3",
        "from cdk_kp import contract",
        "from cdk_kp import KeyPhrasesClient",
        "from cdk_kp.runtime.client import KeyPhrasesClient",
        "from . import sharding",
        "from .. import contract",
        "import importlib\nimportlib.import_module('cdk_kp.runtime.client')",
    ],
)
def test_the_import_check_lets_the_runtime_be(source):
    assert crossings(source, "cdk_kp.runtime.example") == []


# -- what importing loads -----------------------------------------------------------------------


def loaded_after(statement: str) -> list[str]:
    """The modules of the CDK side a fresh interpreter has loaded after ``statement``."""
    probe = (
        f"import json, sys\n{statement}\n"
        "print(json.dumps(sorted(m for m in sys.modules"
        f" if m.split('.')[0] in {FORBIDDEN_PACKAGES!r}"
        f" or m.startswith({FORBIDDEN_MODULES!r}))))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    found: list[str] = json.loads(ran.stdout)
    return found


@pytest.mark.parametrize(
    "statement",
    [
        "import cdk_kp.runtime.client",
        "from cdk_kp import KeyPhrasesClient",
        "from cdk_kp.client import KeyPhrasesClient, Outcome",
        "import cdk_kp.runtime.cli",
    ],
)
def test_importing_the_client_loads_no_cdk(statement):
    assert loaded_after(statement) == []


def test_the_probe_sees_a_cdk_module_loaded():
    assert "constructs" in loaded_after("import cdk_kp.runtime.client\nimport constructs")
