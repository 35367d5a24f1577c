"""The client's former home, kept so that ``from cdk_kp.client import KeyPhrasesClient`` (and the
rest of its public names) keeps working: see :mod:`cdk_kp.runtime.client`."""

from cdk_kp.runtime.client import *  # noqa: F403
from cdk_kp.runtime.client import __all__ as __all__
