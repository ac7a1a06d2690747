"""Inbound contract v1: what a valid outcome is, and how each kind of bad input is named."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.contract.codes import unknown_codes
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.problems import validation_errors
from tests.support.harness import EXAMPLES, example

RESULT_TAGS = frozenset({"health_care_handover", "social_care_initiation", "direct_health_care_booking"})


def problems(body: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        OutcomeV1.model_validate(body)
    return {e["field"]: e["message"] for e in validation_errors(caught.value, skip=RESULT_TAGS)}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_example_is_valid_with_known_codes(path: Any, mappings: MappingSet) -> None:
    body = example(path.stem[:2])
    OutcomeV1.model_validate(body)
    assert unknown_codes(body, mappings) == []


def test_a_bad_hetu_is_named_by_field() -> None:
    body = example("05")
    body["client"]["hetu"] = "300962-901X"
    assert problems(body) == {"client.hetu": "invalid hetu: the check character does not match"}


def test_an_anonymous_client_with_personal_fields_names_them() -> None:
    body = example("01")
    body["client"].update(hetu="131052-308T", phone="+358401234567")
    message = problems(body)["client"]
    assert "hetu" in message and "phone" in message


def test_an_anonymous_outcome_cannot_initiate_a_social_care_matter() -> None:
    body = example("01")
    body["results"] = copy.deepcopy(example("03")["results"])
    assert "social_care_initiation" in problems(body)["(body)"]


def test_an_end_before_the_start_is_refused() -> None:
    body = example("05")
    body["guidance"]["ended_at"] = "2026-11-23T08:00:00+02:00"
    assert problems(body) == {"guidance": "guidance ended_at is before started_at"}


def test_a_timestamp_without_a_zone_is_refused() -> None:
    body = example("05")
    body["contact"]["received_at"] = "2026-11-23T09:05:00"
    assert "timezone" in problems(body)["contact.received_at"]


def test_a_booking_ending_before_it_starts_is_named_under_its_result() -> None:
    body = example("06")
    body["results"][0]["ends_at"] = "2026-11-26T12:00:00+02:00"
    assert "results[0]" in problems(body)


def test_phone_numbers_are_normalised_to_e164() -> None:
    body = example("03")
    assert OutcomeV1.model_validate(body).client.phone == "+358401234568"


def test_a_phone_number_that_is_not_one_is_refused() -> None:
    body = example("05")
    body["client"]["phone"] = "12"
    assert "phone" in problems(body)["client.phone"]


def test_a_birth_date_that_contradicts_the_hetu_is_refused() -> None:
    body = example("05")
    body["client"]["birth_date"] = "1962-09-29"
    assert problems(body) == {"client": "birth_date does not match the hetu"}


def test_an_authority_contact_must_name_the_authority() -> None:
    body = example("08")
    del body["contact"]["authority"]
    assert "authority" in problems(body)["contact"]


def test_results_that_record_on_the_client_need_an_identified_client() -> None:
    body = example("05")
    del body["client"]["hetu"]
    assert "client.hetu" in problems(body)["(body)"]


def test_advice_only_cannot_be_combined_with_other_results() -> None:
    body = example("05")
    body["results"].append({"kind": "advice_only"})
    assert "advice_only" in problems(body)["(body)"]


def test_unknown_fields_are_refused_not_ignored() -> None:
    body = example("05")
    body["client"]["shoe_size"] = 42
    assert "client.shoe_size" in problems(body)


def test_unknown_codes_are_each_named_with_the_mapping_version(mappings: MappingSet) -> None:
    body = example("07")
    body["reasons"]["main"] = "NOPE"
    body["results"][1]["receiving"] = "NOWHERE"
    found = dict(unknown_codes(body, mappings))
    assert set(found) == {"reasons.main", "results[1].receiving"}
    assert mappings.version in found["reasons.main"]


def test_unknown_codes_are_found_even_when_the_body_is_otherwise_invalid(mappings: MappingSet) -> None:
    body = example("05")
    body["client"]["hetu"] = "bad"
    body["unit"] = "NO-SUCH-UNIT"
    assert [field for field, _ in unknown_codes(body, mappings)] == ["unit"]
