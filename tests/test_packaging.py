"""What the library declares to pip, and which versions this run of the suite really tests.

The library declares ranges (an app brings its own aws-cdk-lib); the development environment is
locked in constraints.txt; `make test-minimum` runs the suite on each range's lower bound.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tools.minimums import minimum_constraints

from .conftest import ROOT

PYPROJECT = (ROOT / "pyproject.toml").read_text()
DEPENDENCIES = [Requirement(d) for d in tomllib.loads(PYPROJECT)["project"]["dependencies"]]


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file, by canonical name."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"{path.name}: {line!r} is not pinned with =="
            found[canonical(name)] = pinned
    return found


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_every_runtime_dependency_is_a_range_with_a_lower_and_an_upper_bound():
    """A pin (==) would make pip replace the app's own aws-cdk-lib, or refuse to install."""
    assert {canonical(d.name) for d in DEPENDENCIES} == {
        "aws-cdk-lib",
        "constructs",
        "cdk-nag",
        "boto3",
    }
    for dependency in DEPENDENCIES:
        operators = sorted(spec.operator for spec in dependency.specifier)
        assert operators == ["<", ">="], dependency
        upper = next(s for s in dependency.specifier if s.operator == "<")
        lower = next(s for s in dependency.specifier if s.operator == ">=")
        # The next major version is excluded, nothing below it.
        assert Version(upper.version) == Version(f"{Version(lower.version).major + 1}.0.0")


def test_the_minimum_environment_pins_each_lower_bound():
    assert minimum_constraints(PYPROJECT) == [
        "aws-cdk-lib==2.269.0",
        "constructs==10.5.1",
        "cdk-nag==3.0.2",
        "boto3==1.34.0",
    ]


def test_a_dependency_without_a_lower_bound_is_named():
    pyproject = '[project]\ndependencies = ["aws-cdk-lib>=2.269.0,<3", "constructs<11"]\n'
    with pytest.raises(ValueError, match=r"dependency 'constructs<11' has no lower bound"):
        minimum_constraints(pyproject)


def test_the_lock_satisfies_the_declared_ranges():
    """`make` installs with constraints.txt: it must pin every dependency within its range."""
    locked = pins(ROOT / "constraints.txt")
    for dependency in DEPENDENCIES:
        assert locked[canonical(dependency.name)] in dependency.specifier, dependency


def test_this_environment_has_the_versions_its_constraints_pin():
    """The suite runs in the locked environment, or (`make test-minimum` sets CDK_KP_CONSTRAINTS)
    on the declared minimums: a run that silently tested other versions fails here."""
    constraints = Path(os.environ.get("CDK_KP_CONSTRAINTS", ROOT / "constraints.txt"))
    expected = pins(constraints)
    for dependency in DEPENDENCIES:
        name = canonical(dependency.name)
        assert version(dependency.name) == expected[name], (name, constraints)
        assert version(dependency.name) in dependency.specifier


def same_ranges(written: str, dependency: Requirement) -> bool:
    """Whether ``written`` (``>=1.0,<2.0``, in any order) is the dependency's declared range."""
    return set(written.split(",")) == {str(s) for s in dependency.specifier}


def test_the_docs_state_the_declared_ranges_and_the_tested_versions():
    """docs/development.md's table: `| package | supported | tested on |`."""
    page = (ROOT / "docs" / "development.md").read_text()
    rows = {
        canonical(cells[0]): cells
        for line in page.splitlines()
        if line.startswith("| ")
        and len(cells := [c.strip().strip("`") for c in line.strip("|").split("|")]) == 3
    }
    python = tomllib.loads(PYPROJECT)["project"]["requires-python"].removeprefix(">=")
    assert rows["python"][1] == f"{python} and later"
    locked = pins(ROOT / "constraints.txt")
    for dependency, minimum in zip(DEPENDENCIES, minimum_constraints(PYPROJECT), strict=True):
        name = canonical(dependency.name)
        _, supported, tested = rows[name]
        assert same_ranges(supported, dependency), name
        assert minimum.split("==")[1] in tested, name
        assert locked[name] in tested, name


def test_the_readme_states_the_declared_ranges_in_one_line():
    readme = " ".join((ROOT / "README.md").read_text().split())
    python = tomllib.loads(PYPROJECT)["project"]["requires-python"].removeprefix(">=")
    assert f"Python {python} and later" in readme
    for dependency in DEPENDENCIES:
        written = re.search(rf"{re.escape(dependency.name)} `([^`]+)`", readme)
        assert written is not None, dependency.name
        assert same_ranges(written.group(1), dependency), dependency.name
    assert "(docs/development.md#supported-versions)" in readme
