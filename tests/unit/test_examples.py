"""Moving a shipped example to the present: contact today, plans on the coming working days."""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.deadlines import is_working_day
from gateway.examples import move_dates
from gateway.mappings import MappingSet
from gateway.outcomes.intake import validate_outcome
from tests.support.harness import EXAMPLES, example

HELSINKI = ZoneInfo("Europe/Helsinki")
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=HELSINKI)  # the examples' contact: Monday 23.11.2026
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Mornings, evenings, weekends, holidays and both daylight saving changes.
NOWS = [
    WEDNESDAY_NOON,
    datetime(2026, 12, 2, 8, 0, tzinfo=HELSINKI),
    datetime(2026, 12, 4, 23, 59, tzinfo=HELSINKI),
    datetime(2026, 12, 23, 12, 0, tzinfo=HELSINKI),
    datetime(2027, 1, 3, 0, 1, tzinfo=HELSINKI),
    datetime(2027, 3, 28, 9, 15, tzinfo=HELSINKI),
    datetime(2027, 6, 25, 12, 0, tzinfo=HELSINKI),
    datetime(2027, 10, 31, 3, 30, tzinfo=HELSINKI),
]


def moved(name: str, now: datetime = WEDNESDAY_NOON, **kwargs: Any) -> dict[str, Any]:
    return move_dates(example(name), now=now, **kwargs)


def local(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(HELSINKI)


def test_the_contact_moves_to_today_at_its_own_time_of_day() -> None:
    assert moved("05")["contact"]["received_at"] == "2026-12-02T09:05:00+02:00"


def test_the_guidance_keeps_its_times_of_day_and_its_length() -> None:
    guidance = moved("05")["guidance"]
    assert (guidance["started_at"], guidance["ended_at"]) == ("2026-12-02T09:05:00+02:00", "2026-12-02T09:25:00+02:00")


def test_a_contact_whose_time_of_day_is_still_ahead_today_moves_to_yesterday() -> None:
    early = datetime(2026, 12, 2, 8, 0, tzinfo=HELSINKI)
    assert moved("05", early)["contact"]["received_at"] == "2026-12-01T09:05:00+02:00"


def test_guidance_still_going_on_now_moves_the_contact_to_yesterday() -> None:
    between_start_and_end = datetime(2026, 12, 2, 9, 15, tzinfo=HELSINKI)
    body = moved("05", between_start_and_end)
    assert body["contact"]["received_at"].startswith("2026-12-01")
    assert body["guidance"]["ended_at"] == "2026-12-01T09:25:00+02:00"


def test_the_time_of_day_is_finnish_time_across_daylight_saving() -> None:
    summer = datetime(2027, 6, 16, 12, 0, tzinfo=HELSINKI)
    assert moved("05", summer)["contact"]["received_at"] == "2027-06-16T09:05:00+03:00"


def test_a_kela_window_moves_to_the_coming_working_days() -> None:
    # Four working days from Thursday: Independence Day falls on Sunday 6.12.2026.
    assert moved("09")["results"][0]["window"] == {"earliest": "2026-12-03", "latest": "2026-12-08"}


def test_a_kela_window_moved_on_a_friday_starts_on_monday() -> None:
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=HELSINKI)
    assert moved("09", friday)["results"][0]["window"] == {"earliest": "2026-12-07", "latest": "2026-12-10"}


def test_a_kela_window_skips_christmas() -> None:
    # Christmas Eve, Christmas Day and Boxing Day (a Saturday) are no working days.
    day_before_christmas_eve = datetime(2026, 12, 23, 12, 0, tzinfo=HELSINKI)
    window = moved("09", day_before_christmas_eve)["results"][0]["window"]
    assert window == {"earliest": "2026-12-28", "latest": "2026-12-31"}


def test_a_kela_window_starts_after_today_even_when_the_contact_moved_to_yesterday() -> None:
    early = datetime(2026, 12, 2, 8, 0, tzinfo=HELSINKI)
    assert moved("09", early)["results"][0]["window"]["earliest"] == "2026-12-03"


def test_a_direct_booking_keeps_its_working_day_distance_time_of_day_and_length() -> None:
    booking = moved("06")["results"][0]
    # Three working days after the contact in the file (Mon → Thu); from Wednesday 2.12. that is Monday 7.12.
    assert (booking["starts_at"], booking["ends_at"]) == ("2026-12-07T13:00:00+02:00", "2026-12-07T13:45:00+02:00")


def test_a_consent_stays_valid_as_long_after_the_contact_as_in_the_file() -> None:
    original = example("09")
    days = date.fromisoformat(original["consents"][0]["valid_until"]) - date(2026, 11, 23)
    assert moved("09")["consents"][0]["valid_until"] == (date(2026, 12, 2) + days).isoformat()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_no_date_of_an_example_file_survives_the_move(path: Path) -> None:
    original = path.read_text(encoding="utf-8")
    later = datetime(2027, 3, 10, 12, 0, tzinfo=HELSINKI)
    left = set(DATE.findall(original)) & set(DATE.findall(json.dumps(move_dates(json.loads(original), now=later))))
    assert left == set()


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%Y-%m-%d-%H%M"))
def test_nothing_an_example_reports_as_done_lies_ahead_of_now(now: datetime) -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        body = move_dates(json.loads(path.read_text(encoding="utf-8")), now=now)
        done = [body["contact"]["received_at"], body["guidance"]["started_at"], body["guidance"]["ended_at"]]
        assert all(datetime.fromisoformat(moment) <= now for moment in done), path.name
        assert now - datetime.fromisoformat(body["contact"]["received_at"]) < timedelta(days=1), path.name


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%Y-%m-%d-%H%M"))
def test_kela_windows_and_direct_bookings_land_on_coming_working_days(now: datetime) -> None:
    today = now.astimezone(HELSINKI).date()
    window = moved("09", now)["results"][0]["window"]
    first, last = date.fromisoformat(window["earliest"]), date.fromisoformat(window["latest"])
    assert today < first <= last and is_working_day(first) and is_working_day(last)
    booked = local(moved("06", now)["results"][0]["starts_at"]).date()
    assert booked > today and is_working_day(booked)


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%Y-%m-%d-%H%M"))
def test_every_moved_example_passes_intake_on_the_day_it_was_moved(now: datetime, mappings: MappingSet) -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        body = move_dates(json.loads(path.read_text(encoding="utf-8")), now=now)
        validate_outcome(body, mappings, now=now, clock_skew=timedelta(0))


def test_a_suffix_gives_a_fresh_source_outcome_id() -> None:
    assert moved("05", suffix="r1")["source"]["outcome_id"] == "CRM-2026-000105-r1"


def test_without_a_suffix_the_source_outcome_id_is_kept() -> None:
    assert moved("05")["source"] == example("05")["source"]


def test_the_same_example_moved_twice_on_one_day_is_the_same_body() -> None:
    assert moved("09", WEDNESDAY_NOON) == moved("09", WEDNESDAY_NOON + timedelta(hours=3))


def test_moving_leaves_the_given_body_as_it_was() -> None:
    body = example("09")
    before = copy.deepcopy(body)
    move_dates(body, now=WEDNESDAY_NOON, suffix="r1")
    assert body == before


def test_fields_that_are_not_dates_are_left_alone() -> None:
    original, body = example("09"), moved("09")
    for part in ("client", "reasons", "unit"):
        assert body[part] == original[part]
    assert body["results"][0]["topic"] == original["results"][0]["topic"]
    assert body["consents"][0]["form_reference"] == original["consents"][0]["form_reference"]


def test_an_example_without_a_zoned_contact_time_cannot_be_moved() -> None:
    body = example("05")
    body["contact"]["received_at"] = "2026-11-23T09:05:00"
    with pytest.raises(ValueError, match=r"contact\.received_at"):
        move_dates(body, now=WEDNESDAY_NOON)
