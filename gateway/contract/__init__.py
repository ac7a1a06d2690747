"""The inbound contract: what source systems post, versioned and validated at the boundary."""

from gateway.contract.outcome_v1 import OutcomeV1

__all__ = ["OutcomeV1"]
