"""The anonymous statistics event: codes and counts, never a person."""

from __future__ import annotations

import dataclasses
import json

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan.rules import plan_outcome
from tests.support.harness import example


def test_the_statistics_event_holds_no_personal_field(mappings: MappingSet) -> None:
    body = example("07")
    event = plan_outcome(OutcomeV1.model_validate(body), mappings).statistics
    text = json.dumps(dataclasses.asdict(event), default=str, ensure_ascii=False)
    client = body["client"]
    for value in (
        client["hetu"],
        client["given_names"],
        client["family_name"],
        client["phone"],
        body["guidance"]["summary"],
        "1979",
    ):
        assert value not in text


def test_how_the_guidance_ended_is_recorded(mappings: MappingSet) -> None:
    event = plan_outcome(OutcomeV1.model_validate(example("07")), mappings).statistics
    assert event.ended_how == ("handed_to_pta", "message_to_receiving_service")
    assert event.duration_minutes == 20 and event.led_to_client_relationship


def test_an_anonymous_outcome_is_counted_as_anonymous(mappings: MappingSet) -> None:
    event = plan_outcome(OutcomeV1.model_validate(example("01")), mappings).statistics
    assert event.anonymous and event.ended_how == ("advice_sufficient",) and event.channel == "chat"


def test_an_authority_contact_made_with_consent_counts_as_referred_with_contact(mappings: MappingSet) -> None:
    event = plan_outcome(OutcomeV1.model_validate(example("10")), mappings).statistics
    assert "referred_with_contact_made" in event.ended_how and event.authority_kind == "police"
