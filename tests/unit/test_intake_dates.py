"""Intake against the clock: what an outcome reports has happened, and what it asks Kela for has not passed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.mappings import MappingSet
from gateway.outcomes.intake import validate_outcome
from gateway.problems import Problem
from tests.support.harness import example

HELSINKI = ZoneInfo("Europe/Helsinki")
SKEW = timedelta(minutes=5)
# Example 09: contact on Monday 23.11.2026 at 09:05-09:25, Kela window Tuesday 24.11. to Friday 27.11.
AFTER_THE_CONTACT = datetime(2026, 11, 23, 10, 0, tzinfo=HELSINKI)


def problems(body: dict[str, Any], mappings: MappingSet, now: datetime) -> dict[str, str]:
    """Field → error code of the 422 answer (an empty dict when the outcome is accepted)."""
    try:
        validate_outcome(body, mappings, now=now, clock_skew=SKEW)
    except Problem as problem:
        assert problem.status == 422
        return {error["field"]: error["code"] for error in problem.errors}
    return {}


def test_the_kela_example_is_accepted_right_after_its_contact(mappings: MappingSet) -> None:
    assert problems(example("09"), mappings, AFTER_THE_CONTACT) == {}


def test_a_contact_further_ahead_than_the_clock_skew_is_refused(mappings: MappingSet) -> None:
    body = example("05")
    body["contact"]["received_at"] = (AFTER_THE_CONTACT + SKEW + timedelta(seconds=1)).isoformat()
    body["guidance"]["started_at"] = body["contact"]["received_at"]
    body["guidance"]["ended_at"] = body["contact"]["received_at"]
    assert problems(body, mappings, AFTER_THE_CONTACT)["contact.received_at"] == "in_future"


def test_a_contact_ahead_of_the_clock_within_the_skew_is_accepted(mappings: MappingSet) -> None:
    body = example("05")
    ahead = (AFTER_THE_CONTACT + SKEW).isoformat()
    body["contact"]["received_at"] = body["guidance"]["started_at"] = body["guidance"]["ended_at"] = ahead
    assert problems(body, mappings, AFTER_THE_CONTACT) == {}


def test_guidance_that_ends_in_the_future_is_refused_by_its_field(mappings: MappingSet) -> None:
    body = example("05")
    body["guidance"]["ended_at"] = (AFTER_THE_CONTACT + timedelta(hours=1)).isoformat()
    assert problems(body, mappings, AFTER_THE_CONTACT) == {"guidance.ended_at": "in_future"}


def test_guidance_that_starts_in_the_future_is_refused_by_its_field(mappings: MappingSet) -> None:
    body = example("05")
    later = AFTER_THE_CONTACT + timedelta(hours=1)
    body["guidance"]["started_at"] = later.isoformat()
    body["guidance"]["ended_at"] = (later + timedelta(minutes=20)).isoformat()
    assert problems(body, mappings, AFTER_THE_CONTACT) == {
        "guidance.started_at": "in_future",
        "guidance.ended_at": "in_future",
    }


def test_a_kela_window_that_has_passed_by_today_is_refused_though_it_was_open_on_the_contact_day(
    mappings: MappingSet,
) -> None:
    posted_late = datetime(2026, 11, 30, 12, 0, tzinfo=HELSINKI)
    assert problems(example("09"), mappings, posted_late) == {"results[0].window": "window_in_past"}


def test_a_kela_window_with_working_days_left_today_is_accepted(mappings: MappingSet) -> None:
    on_its_last_day = datetime(2026, 11, 27, 16, 0, tzinfo=HELSINKI)
    assert problems(example("09"), mappings, on_its_last_day) == {}


def test_a_kela_window_with_only_a_weekend_left_is_refused(mappings: MappingSet) -> None:
    body = example("09")
    body["results"][0]["window"] = {"earliest": "2026-11-24", "latest": "2026-11-29"}
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=HELSINKI)
    assert problems(body, mappings, saturday) == {"results[0].window": "window_without_working_day"}


def test_today_is_the_finnish_day_when_the_clock_is_read_in_utc(mappings: MappingSet) -> None:
    body = example("09")
    body["results"][0]["window"] = {"earliest": "2026-11-24", "latest": "2026-11-24"}
    # 22:30 UTC on the 24th is already the 25th in Helsinki: the one-day window has passed.
    late_evening = datetime(2026, 11, 24, 22, 30, tzinfo=ZoneInfo("UTC"))
    assert problems(body, mappings, late_evening) == {"results[0].window": "window_in_past"}


def test_date_problems_are_reported_beside_contract_and_code_errors(mappings: MappingSet) -> None:
    body = example("09")
    body["client"]["hetu"] = "091285-919X"
    body["reasons"]["main"] = "NO-SUCH-REASON"
    body["contact"]["received_at"] = "2026-12-31T09:05:00+02:00"
    posted_late = datetime(2026, 12, 7, 12, 0, tzinfo=HELSINKI)
    assert problems(body, mappings, posted_late) == {
        "client.hetu": "value_error",
        "reasons.main": "unknown_code",
        "contact.received_at": "in_future",
        "results[0].window": "window_in_past",
    }


def test_a_window_the_contract_refuses_is_not_reported_twice(mappings: MappingSet) -> None:
    body = example("09")
    body["results"][0]["window"] = {"earliest": "2026-11-27", "latest": "2026-11-24"}
    found = problems(body, mappings, AFTER_THE_CONTACT)
    assert list(found) == ["results[0].window"] and found["results[0].window"] != "window_in_past"


@pytest.mark.parametrize("field", ["contact.received_at", "results[0].window"])
def test_date_problems_do_not_echo_the_client(field: str, mappings: MappingSet) -> None:
    body = example("09")
    body["contact"]["received_at"] = "2026-12-31T09:05:00+02:00"
    try:
        validate_outcome(body, mappings, now=datetime(2026, 12, 7, 12, 0, tzinfo=HELSINKI), clock_skew=SKEW)
    except Problem as problem:
        message = next(e["message"] for e in problem.errors if e["field"] == field)
    else:
        pytest.fail("the outcome was accepted")
    assert body["client"]["hetu"] not in message and body["client"]["family_name"] not in message
