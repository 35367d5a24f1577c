"""What every part of the emulator shares: the account, the Region, Comprehend's active statuses
and the shape of a Comprehend error."""

from __future__ import annotations

from moto.core.exceptions import JsonRESTError

ACCOUNT = "123456789012"
REGION = "us-east-1"

#: The statuses of a Comprehend job that is still running.
ACTIVE_STATUSES = ("SUBMITTED", "IN_PROGRESS")


def comprehend_error(name: str) -> JsonRESTError:
    """A Comprehend error named ``name``, as moto's Comprehend raises its own."""
    return JsonRESTError(name, f"scripted {name}")
