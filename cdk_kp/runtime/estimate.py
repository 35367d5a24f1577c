"""What Comprehend will charge for a plan, roughly, before anything is uploaded.

Comprehend bills key phrase extraction in units of 100 characters, with a minimum of 3 units a
document (https://aws.amazon.com/comprehend/pricing/). :mod:`cdk_kp.runtime.scanning` counts
each document's characters as it reads it (blank lines are not counted as documents billed);
the estimate multiplies the units by a price per unit, by default the first tier of the
published price. It is an estimate: the price page is the authority, volume tiers above the
first lower the price, and a corpus in S3 read as ``ONE_DOC_PER_FILE`` is estimated from its
objects' sizes, a character a byte, so it cannot come out low.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdk_kp.runtime.scanning import CHARACTERS_PER_UNIT, MINIMUM_UNITS
from cdk_kp.runtime.uploads import UploadPlan

#: USD a unit (100 characters) of key phrase extraction, the published price's first tier
#: (https://aws.amazon.com/comprehend/pricing/). ``cdk-kp plan --price-per-unit`` overrides it.
DEFAULT_PRICE_PER_UNIT = 0.0001


@dataclass(frozen=True)
class Estimate:
    documents: int
    units: int
    price_per_unit: float
    #: True when sizes stood in for characters (an S3 corpus of one document per object).
    from_sizes: bool

    @property
    def usd(self) -> float:
        return self.units * self.price_per_unit

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "units": self.units,
            "characters_per_unit": CHARACTERS_PER_UNIT,
            "minimum_units_per_document": MINIMUM_UNITS,
            "price_per_unit_usd": self.price_per_unit,
            "usd": round(self.usd, 6),
            "from_sizes": self.from_sizes,
        }


def estimate(plan: UploadPlan, *, price_per_unit: float = DEFAULT_PRICE_PER_UNIT) -> Estimate:
    """The plan's documents, billed units and charge at ``price_per_unit``."""
    return Estimate(plan.documents, plan.units, price_per_unit, plan.units_from_sizes)
