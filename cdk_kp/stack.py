"""The bundled stack's former home, kept so that ``cdk_kp.stack.check_with_every_pack`` and
``cdk_kp.stack.KeyPhrasesStack`` keep working: see :mod:`cdk_kp.infra.stack`."""

from cdk_kp.infra.stack import KeyPhrasesStack, check_with_every_pack

__all__ = ["KeyPhrasesStack", "check_with_every_pack"]
