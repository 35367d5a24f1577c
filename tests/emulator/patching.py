"""How a bridge changes moto: it replaces attributes of moto's classes and modules, or entries
of moto's tables, while it is installed, and puts the originals back when it is removed.

A bridge reads the attribute it wraps when it is installed, so bridges installed one after the
other over the same method layer: each calls the one installed before it, and
:func:`~tests.emulator.session.local_aws` removes them in the reverse order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from typing import Any

#: An entry of :func:`items_patched` that is removed while the patch is in place.
REMOVED: Any = object()


@contextlib.contextmanager
def patched(*patches: tuple[Any, str, Any]) -> Iterator[None]:
    """Each ``(owner, attribute, replacement)`` in place (a class or a module), then the
    originals back, as they were stored (a ``staticmethod`` stays one)."""
    saved = [(owner, attr, vars(owner)[attr]) for owner, attr, _ in patches]
    try:
        for owner, attr, replacement in patches:
            setattr(owner, attr, replacement)
        yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


@contextlib.contextmanager
def items_patched(table: MutableMapping[str, Any], entries: dict[str, Any]) -> Iterator[None]:
    """``table`` with ``entries`` set (or removed, for :data:`REMOVED`), then as it was."""
    saved = {key: table.get(key, REMOVED) for key in entries}
    try:
        for key, value in entries.items():
            if value is REMOVED:
                table.pop(key, None)
            else:
                table[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is REMOVED:
                table.pop(key, None)
            else:
                table[key] = value
