"""Reading and validating an outcome body: size limit, JSON, the contract and the mapping codes."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from adapters.kela.phone_service import TOPICS
from gateway.bookings.models import window_problems
from gateway.consents.plan import outcome_consent_problems
from gateway.contract.codes import unknown_codes
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.contract.results import KelaBookingRequest
from gateway.mappings import MappingSet
from gateway.problems import Problem, validation_errors
from gateway.routing import contact_day

RESULT_TAGS = frozenset(
    {
        "advice_only",
        "social_care_initiation",
        "pending_social_care_matter",
        "health_care_handover",
        "direct_health_care_booking",
        "child_welfare_notice",
        "kela_booking_request",
        "third_sector_referral",
    }
)


def booking_problems(outcome: OutcomeV1) -> list[dict[str, str]]:
    """Kela booking requests: a known topic, and a window that has a working day on or after the contact."""
    problems: list[dict[str, str]] = []
    day = contact_day(outcome)
    for i, result in enumerate(outcome.results):
        if isinstance(result, KelaBookingRequest):
            where = f"results[{i}]"
            if result.topic not in TOPICS:
                problems.append(
                    {
                        "field": f"{where}.topic",
                        "code": "unknown_topic",
                        "message": f"unknown Kela topic {result.topic!r}; see GET /v1/kela/topics",
                    }
                )
            problems.extend(window_problems(result.window.earliest, result.window.latest, day, f"{where}.window"))
    return problems


def validate_outcome(body: Any, mappings: MappingSet) -> OutcomeV1:
    """The outcome, or a 422 problem naming every bad field (contract and mapping codes together)."""
    errors: list[dict[str, str]] = []
    outcome: OutcomeV1 | None = None
    try:
        outcome = OutcomeV1.model_validate(body)
    except ValidationError as exc:
        errors.extend(validation_errors(exc, skip=RESULT_TAGS))
    errors.extend(
        {"field": field, "message": message, "code": "unknown_code"} for field, message in unknown_codes(body, mappings)
    )
    if outcome is not None:
        errors.extend(booking_problems(outcome))
        errors.extend(outcome_consent_problems(outcome, contact_day(outcome)))
    if errors or outcome is None:
        raise Problem(
            422,
            "invalid-outcome",
            "The outcome is not valid",
            f"{len(errors)} problem(s) found; nothing was stored.",
            errors=errors,
            mapping_version=mappings.version,
        )
    return outcome
