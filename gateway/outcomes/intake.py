"""Reading and validating an outcome body: size limit, JSON, the contract and the mapping codes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from adapters.kela.phone_service import TOPICS
from gateway.bookings.models import window_problems
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


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413, "body-too-large", "Body too large", f"The body exceeds the limit of {limit} bytes.", max_bytes=limit
    )


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise Problem(400, "malformed-json", "Malformed JSON", "The body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise Problem(
            400,
            "malformed-json",
            "Malformed JSON",
            f"The body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None


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
