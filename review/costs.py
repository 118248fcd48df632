"""What a stack costs while nobody uses it, for the offline tools (the review report, the tests).

The classification lives in `policy/rules/idle.py`, the single source that the policy pack's stack rule also uses,
so that the policy and the cost estimate can never disagree about what costs money idle; its prices, like every
other, in `policy/rules/prices.py`.
"""

from dataclasses import dataclass

from policy.rules.idle import idle_charges
from policy.rules.prices import HOURS_PER_MONTH
from synth.program import Synthesis

__all__ = ["HOURS_PER_MONTH", "IdleCost", "idle_costs"]


@dataclass(frozen=True)
class IdleCost:
    urn: str
    what: str
    usd_per_month: float
    source: str


def idle_costs(program: Synthesis) -> list[IdleCost]:
    charges = idle_charges((resource.urn, resource.type, resource.inputs) for resource in program.resources)
    return [IdleCost(charge.urn, charge.what, charge.usd_per_month, charge.source) for charge in charges]
