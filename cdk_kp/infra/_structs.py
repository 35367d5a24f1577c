"""Reading jsii structs back in Python."""

from __future__ import annotations

from typing import Any


def struct_values(struct: Any | None) -> dict[str, Any]:
    """The keyword arguments a jsii struct (``BucketProps``, ``SubnetSelection``, ...) was built
    with, and only those; ``{}`` for ``None``.

    jsii structs keep them in ``_values``; this is the way to read them back generically.
    """
    if struct is None:
        return {}
    values: dict[str, Any] = dict(struct._values)
    return values
