"""The errors the client raises on purpose: each a :class:`KeyPhrasesError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cdk_kp.runtime.executions import Outcome


class KeyPhrasesError(Exception):
    """Base of every error the client raises on purpose."""


class StackNotFoundError(KeyPhrasesError):
    """The named CloudFormation stack does not exist (in this account and Region)."""


class NotAKeyPhrasesStackError(KeyPhrasesError):
    """The stack exists but lacks the outputs of a KeyPhrasesStack."""


class InvalidInputError(KeyPhrasesError):
    """The request cannot work: an unknown language or format, nothing to upload, and the like."""


class ExecutionFailedError(KeyPhrasesError):
    """The execution ended without success; ``error`` and ``cause`` are Step Functions'."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.error}: {outcome.cause}")
        self.outcome = outcome

    @property
    def error(self) -> str:
        return self.outcome.error or self.outcome.status


class ArchiveError(KeyPhrasesError):
    """Comprehend's output archive cannot be read."""


def check_choice(field_name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise :class:`InvalidInputError` naming ``field_name`` unless ``value`` is ``allowed``."""
    if value not in allowed:
        raise InvalidInputError(f"{field_name} must be one of {', '.join(allowed)}; got {value!r}")
