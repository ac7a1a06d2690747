"""Reading and validating an outcome body: size limit, JSON, the contract, the mapping codes and the clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from gateway.bookings.models import window_problems
from gateway.contract.codes import unknown_codes
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.contract.results import BookingWindow
from gateway.mappings import MappingSet
from gateway.plan.consents import outcome_consent_problems
from gateway.plan.days import FINNISH_TIME, contact_day
from gateway.problems import Problem, validation_errors

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
_ZONED: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


def booking_problems(body: Any, today: date, mappings: MappingSet) -> list[dict[str, str]]:
    """Kela booking requests: a known topic, and a window that has not passed and holds a working day from today.

    Measured from today, not from the contact: an outcome posted days after the contact must not
    ask Kela for a slot that has gone by. Runs on the raw body, like the mapping codes, so that it
    is reported beside any contract error; what does not parse is the contract's to report.
    """
    problems: list[dict[str, str]] = []
    for i, result in _items(body, "results"):
        if not isinstance(result, dict) or result.get("kind") != "kela_booking_request":
            continue
        where = f"results[{i}]"
        topic = result.get("topic")
        if isinstance(topic, str) and topic not in mappings.kela.topics:
            problems.append(
                {
                    "field": f"{where}.topic",
                    "code": "unknown_topic",
                    "message": f"unknown Kela topic {topic!r}; see GET /v1/kela/topics",
                }
            )
        try:
            window = BookingWindow.model_validate(result.get("window"))
        except ValidationError:
            continue
        problems.extend(window_problems(window.earliest, window.latest, today, f"{where}.window"))
    return problems


def clock_problems(body: Any, now: datetime, skew: timedelta) -> list[dict[str, str]]:
    """The contact and the guidance it reports have happened: none of their times lies ahead of ``now``.

    ``skew`` allows for the source system's clock running a little ahead of ours.
    """
    latest = now + skew
    problems = []
    for part, key in (("contact", "received_at"), ("guidance", "started_at"), ("guidance", "ended_at")):
        section = body.get(part) if isinstance(body, dict) else None
        moment = _zoned(section.get(key)) if isinstance(section, dict) else None
        if moment is not None and moment > latest:
            field = f"{part}.{key}"
            problems.append(
                {
                    "field": field,
                    "code": "in_future",
                    "message": f"{field} is in the future (more than {_minutes(skew)} ahead of the gateway's clock)",
                }
            )
    return problems


def validate_outcome(body: Any, mappings: MappingSet, *, now: datetime, clock_skew: timedelta) -> OutcomeV1:
    """The outcome, or a 422 problem naming every bad field (contract, mapping codes and dates together).

    ``now`` is the request's clock, passed in so that validation stays pure.
    """
    errors: list[dict[str, str]] = []
    outcome: OutcomeV1 | None = None
    try:
        outcome = OutcomeV1.model_validate(body)
    except ValidationError as exc:
        errors.extend(validation_errors(exc, skip=RESULT_TAGS))
    errors.extend(
        {"field": field, "message": message, "code": "unknown_code"} for field, message in unknown_codes(body, mappings)
    )
    # A field the contract already refused is not reported twice.
    refused = {error["field"] for error in errors}
    checks = [
        *clock_problems(body, now, clock_skew),
        *booking_problems(body, now.astimezone(FINNISH_TIME).date(), mappings),
    ]
    errors.extend(problem for problem in checks if problem["field"] not in refused)
    if outcome is not None:
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


def _zoned(value: Any) -> datetime | None:
    try:
        return _ZONED.validate_python(value)
    except ValidationError:
        return None


def _items(body: Any, key: str) -> list[tuple[int, Any]]:
    value = body.get(key) if isinstance(body, dict) else None
    return list(enumerate(value)) if isinstance(value, list) else []


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
