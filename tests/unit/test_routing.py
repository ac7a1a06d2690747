"""The register table (THL 3.2.4), row by row: what each outcome becomes, and why."""

from __future__ import annotations

import json
from typing import Any

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan import Plan
from gateway.plan.rules import plan_outcome
from tests.support.harness import example


def plan(body: dict[str, Any], mappings: MappingSet) -> Plan:
    return plan_outcome(OutcomeV1.model_validate(body), mappings)


def keys(p: Plan) -> list[str]:
    return [a.key for a in p.actions]


def test_anonymous_guidance_yields_statistics_only(mappings: MappingSet) -> None:
    p = plan(example("01"), mappings)
    assert p.statistics_only and [r.rule for r in p.rules] == ["anonymous"] and p.deadlines == ()


def test_advice_only_for_an_identified_client_yields_statistics_only(mappings: MappingSet) -> None:
    p = plan(example("02"), mappings)
    assert p.statistics_only and [r.rule for r in p.rules] == ["advice-only"]


def test_a_third_sector_referral_alone_yields_statistics_only(mappings: MappingSet) -> None:
    body = example("02")
    body["results"] = [{"kind": "third_sector_referral", "organisation": "Mielenterveysseura"}]
    p = plan(body, mappings)
    assert p.statistics_only and [r.rule for r in p.rules] == ["third-sector-referral"]


def test_every_rule_names_its_legal_basis(mappings: MappingSet) -> None:
    for name in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10"):
        p = plan(example(name), mappings)
        assert all(r.legal_basis for r in p.rules) and all(a.legal_basis and a.rule for a in p.actions)


def test_a_social_care_initiation_becomes_an_initiation_and_a_guidance_record(mappings: MappingSet) -> None:
    p = plan(example("03"), mappings)
    assert keys(p) == ["kanta:initiation:IKAANTYNEET", "kanta:guidance-record:IKAANTYNEET"]
    assert {a.payload["document"] for a in p.actions} == {"initiation", "guidance_record"}


def test_an_initiation_for_a_client_aged_75_gets_the_seven_working_day_assessment_deadline(
    mappings: MappingSet,
) -> None:
    due = {d.rule_id: d.due.isoformat() for d in plan(example("03"), mappings).deadlines}
    assert due["shl-36-needs-assessment"] == "2026-12-02"


def test_an_initiation_for_a_younger_adult_has_no_seven_day_deadline(mappings: MappingSet) -> None:
    assert "shl-36-needs-assessment" not in {d.rule_id for d in plan(example("07"), mappings).deadlines}


def test_guidance_about_a_pending_matter_becomes_a_guidance_record(mappings: MappingSet) -> None:
    assert keys(plan(example("04"), mappings)) == ["kanta:guidance-record:AIKUISSOSTYO"]


def test_a_health_care_handover_becomes_one_patient_register_transaction(mappings: MappingSet) -> None:
    p = plan(example("05"), mappings)
    assert keys(p) == ["lifecare:patient-record"]
    [hta] = [d for d in p.deadlines if d.action_key == "lifecare:patient-record"]
    assert hta.rule_id == "thl-51-hta-same-day"
    assert p.actions[0].payload["handovers"][0]["deadlines"][0]["due"] == hta.due.isoformat()


def test_a_direct_booking_becomes_a_patient_register_transaction(mappings: MappingSet) -> None:
    p = plan(example("06"), mappings)
    assert keys(p) == ["lifecare:patient-record"] and len(p.actions[0].payload["bookings"]) == 1


def test_an_outcome_touching_both_registers_goes_to_both(mappings: MappingSet) -> None:
    p = plan(example("07"), mappings)
    assert {a.backend for a in p.actions} == {"kanta", "lifecare"}
    assert "both-registers" in [r.rule for r in p.rules]


def test_each_register_receives_only_its_own_data(mappings: MappingSet) -> None:
    p = plan(example("07"), mappings)
    patient = json.dumps([a.payload for a in p.actions if a.backend == "lifecare"], ensure_ascii=False)
    social = json.dumps([a.payload for a in p.actions if a.backend == "kanta"], ensure_ascii=False)
    assert "Toimeentulo-ongelmat" not in patient and "TALOUS" not in patient and "AIKUISSOSTYO" not in patient
    assert "Mieliala laskenut" not in social and "MIELI" not in social and "MIELENTERVEYS-AVO" not in social


# -- free text: a register's own summary if given, else the generic one, never the other register's --------

SOCIAL_TEXT = "Vuokrarästejä kolmelta kuukaudelta; asiakas hakee toimeentulotukea ja talousneuvontaa."
HEALTH_TEXT = "Mieliala laskenut syksyllä, unettomuutta; toivoo keskusteluapua."
BOTH_SIDES_TEXT = "Taloudellinen ahdinko ja mielialan lasku; sekä sosiaalihuollon että terveydenhuollon jatko."


def summaries(p: Plan) -> dict[str, str | None]:
    """The guidance summary each action's payload carries, by action key."""
    return {a.key: a.payload["guidance"].get("summary") for a in p.actions}


def explanation(p: Plan, key: str) -> str:
    return next(a.explanation for a in p.actions if a.key == key)


def with_guidance(name: str, **texts: str | None) -> dict[str, Any]:
    body = example(name)
    for field, text in texts.items():
        if text is None:
            body["guidance"].pop(field, None)
        else:
            body["guidance"][field] = text
    return body


def test_each_register_receives_its_own_summary(mappings: MappingSet) -> None:
    carried = summaries(plan(example("07"), mappings))
    assert carried["kanta:guidance-record:AIKUISSOSTYO"] == SOCIAL_TEXT
    assert carried["lifecare:patient-record"] == HEALTH_TEXT


def test_a_text_about_both_sides_goes_nowhere_when_each_register_has_its_own(mappings: MappingSet) -> None:
    payloads = json.dumps([a.payload for a in plan(example("07"), mappings).actions], ensure_ascii=False)
    assert BOTH_SIDES_TEXT not in payloads


def test_a_register_never_receives_the_other_registers_summary(mappings: MappingSet) -> None:
    p = plan(with_guidance("07", summary=None), mappings)
    social = json.dumps([a.payload for a in p.actions if a.backend == "kanta"], ensure_ascii=False)
    patient = json.dumps([a.payload for a in p.actions if a.backend == "lifecare"], ensure_ascii=False)
    assert HEALTH_TEXT not in social and SOCIAL_TEXT not in patient


def test_the_generic_summary_goes_to_every_register_without_a_summary_of_its_own(mappings: MappingSet) -> None:
    carried = summaries(plan(with_guidance("07", social_care_summary=None, health_care_summary=None), mappings))
    assert carried["kanta:guidance-record:AIKUISSOSTYO"] == BOTH_SIDES_TEXT
    assert carried["lifecare:patient-record"] == BOTH_SIDES_TEXT


def test_a_register_without_its_own_summary_falls_back_to_the_generic_one(mappings: MappingSet) -> None:
    carried = summaries(plan(with_guidance("07", health_care_summary=None), mappings))
    assert carried["kanta:guidance-record:AIKUISSOSTYO"] == SOCIAL_TEXT
    assert carried["lifecare:patient-record"] == BOTH_SIDES_TEXT


def test_a_summary_goes_to_the_one_register_the_outcome_touches(mappings: MappingSet) -> None:
    p = plan(example("05"), mappings)
    assert p.actions[0].payload["guidance"]["summary"] == example("05")["guidance"]["summary"]


def test_a_register_specific_summary_for_a_register_the_outcome_does_not_touch_is_not_recorded(
    mappings: MappingSet,
) -> None:
    p = plan(with_guidance("05", social_care_summary=SOCIAL_TEXT), mappings)
    assert SOCIAL_TEXT not in json.dumps([a.payload for a in p.actions], ensure_ascii=False)


def test_the_plan_names_the_free_text_a_record_carries_and_why(mappings: MappingSet) -> None:
    own = plan(example("07"), mappings)
    generic = plan(with_guidance("07", social_care_summary=None, health_care_summary=None), mappings)
    assert "Free text: guidance.social_care_summary" in explanation(own, "kanta:guidance-record:AIKUISSOSTYO")
    assert "Free text: guidance.health_care_summary" in explanation(own, "lifecare:patient-record")
    assert "Free text: guidance.summary (no social care summary given)" in explanation(
        generic, "kanta:guidance-record:AIKUISSOSTYO"
    )
    assert "Free text: guidance.summary (no health care summary given)" in explanation(
        generic, "lifecare:patient-record"
    )


def test_the_plan_says_when_a_record_carries_no_free_text(mappings: MappingSet) -> None:
    p = plan(with_guidance("07", summary=None, social_care_summary=None, health_care_summary=None), mappings)
    assert "Free text: no guidance summary (the record of initiation does not show one)" in explanation(
        p, "kanta:initiation:AIKUISSOSTYO"
    )
    assert "Free text: no guidance summary (none given)" in explanation(p, "lifecare:patient-record")


def test_an_authority_contact_with_its_own_description_shows_no_summary(mappings: MappingSet) -> None:
    p = plan(example("10"), mappings)
    assert (
        "summary"
        not in next(a for a in p.actions if a.key == "kanta:authority-contact:LAPSIPERHEET").payload["guidance"]
    )
    assert "the result's own description is shown instead" in explanation(p, "kanta:authority-contact:LAPSIPERHEET")


def test_a_child_welfare_notice_is_recorded_on_the_child_with_its_statutory_clock(mappings: MappingSet) -> None:
    p = plan(example("08"), mappings)
    assert keys(p) == ["kanta:child-welfare-notice:LASTENSUOJELU"]
    assert p.actions[0].payload["client"]["hetu"] == "070819A925P"
    due = {d.rule_id: d.due.isoformat() for d in p.deadlines}
    assert due["lsl-26-decision"] == "2026-12-02" and due["lsl-26-assessment"] == "2027-02-23"


def test_an_authority_contact_with_consent_adds_the_contact_document(mappings: MappingSet) -> None:
    assert "kanta:authority-contact:LAPSIPERHEET" in keys(plan(example("10"), mappings))


def test_a_professional_reporting_without_consent_adds_a_notice_of_need(mappings: MappingSet) -> None:
    body = example("10")
    body["results"][0]["made_with_consent"] = False
    assert "kanta:need-notice:LAPSIPERHEET" in keys(plan(body, mappings))


def test_a_kela_booking_request_needs_the_clients_consent(mappings: MappingSet) -> None:
    p = plan(example("09"), mappings)
    booking = next(a for a in p.actions if a.kind == "kela_booking")
    assert booking.consent is not None and booking.consent.party == "kela"


def test_a_consent_naming_kela_is_registered_with_kela(mappings: MappingSet) -> None:
    assert "kela:consent:1" in keys(plan(example("09"), mappings))


def test_the_hta_deadline_follows_the_rule_in_force_on_the_contact_date(mappings: MappingSet) -> None:
    body = example("05")
    for field in ("received_at",):
        body["contact"][field] = "2023-08-31T09:05:00+03:00"
    body["guidance"].update(started_at="2023-08-31T09:05:00+03:00", ended_at="2023-08-31T09:25:00+03:00")
    [deadline] = [d for d in plan(body, mappings).deadlines if d.action_key == "lifecare:patient-record"]
    assert (deadline.rule_id, deadline.due.isoformat()) == ("thl-51-hta-3-days", "2023-09-05")


def test_the_contact_date_is_the_finnish_calendar_date(mappings: MappingSet) -> None:
    body = example("05")
    body["contact"]["received_at"] = "2026-11-23T23:30:00+00:00"  # already 24.11. in Helsinki
    assert plan(body, mappings).statistics.contact_date.isoformat() == "2026-11-24"


def test_planning_is_pure(mappings: MappingSet) -> None:
    body = example("07")
    assert plan(body, mappings) == plan(body, mappings)


def test_the_described_plan_carries_no_payload(mappings: MappingSet) -> None:
    described = json.dumps(plan(example("07"), mappings).describe(), ensure_ascii=False)
    assert "210179-967X" not in described and "Testaaja" not in described
