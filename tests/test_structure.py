"""The shape of the code: short functions in the library, no file too long to read."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from .conftest import ROOT

#: The most lines of code a function or method of the library may have (its docstring, blank
#: lines and comment lines not counted; its signature counted).
MAX_FUNCTION_LINES = 60
#: The most lines any Python file of the repository may have.
MAX_FILE_LINES = 600
#: Folders of the repository that hold its Python code.
CODE_FOLDERS = ("cdk_kp", "tests", "benchmarks", "tools")


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def code_lines(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    """Lines of ``function`` holding code: not blank, not only a comment, not its docstring."""
    assert function.end_lineno is not None
    skipped: set[int] = set()
    body = function.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        assert body[0].end_lineno is not None
        skipped = set(range(body[0].lineno, body[0].end_lineno + 1))
    first = min([function.lineno, *(d.lineno for d in function.decorator_list)])
    return sum(
        1
        for number in range(first, function.end_lineno + 1)
        if number not in skipped
        and lines[number - 1].strip()
        and not lines[number - 1].strip().startswith("#")
    )


def long_functions(path: Path) -> list[tuple[str, int]]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = code_lines(node, lines)
            if length > MAX_FUNCTION_LINES:
                found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", length))
    return found


def test_no_function_of_the_library_is_longer_than_60_lines_of_code():
    found = [entry for path in python_files("cdk_kp") for entry in long_functions(path)]
    assert found == []


def test_no_python_file_is_longer_than_600_lines():
    found = {
        str(path.relative_to(ROOT)): length
        for path in [*python_files(*CODE_FOLDERS), ROOT / "app.py"]
        if (length := len(path.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert found == {}


def test_the_counts_leave_out_docstrings_comments_and_blank_lines():
    source = '''
@decorator
def f(
    a: int,
) -> int:
    """A docstring
    of three
    lines."""
    # a comment

    return a
'''
    (function,) = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]
    assert code_lines(function, source.splitlines()) == 5
