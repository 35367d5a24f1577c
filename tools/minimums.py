"""Print pip constraints pinning every runtime dependency to its declared lower bound.

`make test-minimum` installs the library with these constraints into a fresh virtual environment
and runs the suite there, so the lower bounds in pyproject.toml are the ones tested, by
construction: there is no second list to forget to update.

    python -m tools.minimums [pyproject.toml]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

#: ``name>=1.2.3`` (extras and further clauses allowed), the form every runtime dependency uses.
_LOWER_BOUND = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)(\[[^\]]*\])?\s*>=\s*(?P<version>[0-9][^,;\s]*)"
)


def minimum_constraints(pyproject: str) -> list[str]:
    """``name==version`` for each of ``[project].dependencies``; an error naming any without a
    lower bound, since its oldest supported version would then be unknown."""
    dependencies: list[str] = tomllib.loads(pyproject)["project"]["dependencies"]
    pins: list[str] = []
    for dependency in dependencies:
        match = _LOWER_BOUND.match(dependency)
        if match is None:
            raise ValueError(
                f"dependency {dependency!r} has no lower bound (name>=version): the minimum "
                "environment could not pin it"
            )
        pins.append(f"{match['name']}=={match['version']}")
    return pins


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "pyproject.toml")
    print("\n".join(minimum_constraints(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
