"""The one place this package reaches the register rules: planning an outcome with a given set.

Pure. Kept to one import so that where the rules live can change in one line.
"""

from __future__ import annotations

from typing import Any

from gateway.contract.codes import unknown_codes
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan import Plan
from gateway.plan.rules import plan_outcome

__all__ = ["Plan", "plan_with", "refusals"]


def plan_with(outcome: OutcomeV1, mappings: MappingSet) -> Plan:
    return plan_outcome(outcome, mappings)


def refusals(outcome: OutcomeV1, mappings: MappingSet) -> list[str]:
    """Why ``mappings`` would refuse ``outcome`` at intake (a code it does not know), if it would."""
    body: Any = outcome.model_dump(mode="json")
    return [f"{field}: {message}" for field, message in unknown_codes(body, mappings)]
