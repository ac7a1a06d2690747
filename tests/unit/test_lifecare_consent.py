"""A consent covering health data as a FHIR Consent transaction: what it holds, and its revocation."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from adapters.lifecare.render_consent import CATEGORIES, FORMS, render_consent
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.contract.vocabulary import ConsentForm, ConsentParty, DataCategory
from gateway.errors import RenderError
from gateway.mappings import MappingSet
from gateway.plan import Action
from gateway.plan.consents import ConsentFacts, consent_actions, facts_from_outcome, revocation_action
from tests.support.harness import example

DELIVERY = "5d2c7a10-0000-4000-8000-000000000009"
CONSENT_ID = "0b7e4c11-0000-4000-8000-0000000000c1"
GUARDIAN_HETU = "150375-902J"
REASON = "Asiakas perui suostumuksen puhelimessa"
FIRST_VERSION = {"Patient": "Patient/1", "Consent": "Consent/2", "Provenance": "Provenance/3"}


def facts(
    *, add: tuple[str, ...] = ("health",), guardian: bool = False, parties: list[str] | None = None
) -> ConsentFacts:
    """Example 09's Y100 consent, given during the contact, with ``add`` among its data categories."""
    body = example("09")
    body["consents"][0]["data_categories"].extend(add)
    if parties is not None:
        body["consents"][0]["parties"] = parties
    if guardian:
        body["client"]["guardian"] = {"hetu": GUARDIAN_HETU, "given_names": "Outi", "family_name": "Kelasuo"}
        body["consents"][0]["given_by_guardian"] = True
    outcome = OutcomeV1.model_validate(body)
    return facts_from_outcome(outcome, outcome.consents[0], date(2026, 11, 23))


def delivery(consent: ConsentFacts) -> Action:
    """The fhir_consent action the consent planner queues."""
    return next(
        a for a in consent_actions(consent, suffix=CONSENT_ID, consent_id=CONSENT_ID) if a.backend == "lifecare"
    )


def revocation(consent: ConsentFacts) -> Action:
    """The action the consent service queues when the delivered consent is revoked."""
    first = delivery(consent)
    return revocation_action(first.kind, first.key, consent, CONSENT_ID, REASON)


def bundle_for(action: Action, mappings: MappingSet, **kwargs: Any) -> dict[str, Any]:
    return render_consent(action.payload, mappings, delivery_id=DELIVERY, **kwargs).bundle


def revoked_bundle(mappings: MappingSet) -> dict[str, Any]:
    return bundle_for(revocation(facts()), mappings, identifier_root="first-delivery", previous=FIRST_VERSION)


def resource(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def entry(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e for e in bundle["entry"] if e["resource"]["resourceType"] == kind)


def consent_of(mappings: MappingSet, **kwargs: Any) -> dict[str, Any]:
    return resource(bundle_for(delivery(facts(**kwargs)), mappings), "Consent")


def test_the_bundle_is_a_valid_r4_transaction(mappings: MappingSet) -> None:
    assert Bundle.model_validate(bundle_for(delivery(facts()), mappings)).type == "transaction"


def test_a_consent_renders_patient_consent_and_provenance(mappings: MappingSet) -> None:
    kinds = [e["resource"]["resourceType"] for e in bundle_for(delivery(facts()), mappings)["entry"]]
    assert kinds == ["Patient", "Consent", "Provenance"]


def test_the_patient_is_created_only_if_no_patient_has_the_hetu(mappings: MappingSet) -> None:
    request = entry(bundle_for(delivery(facts()), mappings), "Patient")["request"]
    assert request == {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:oid:1.2.246.21|091285-9192"}


def test_the_consent_is_created_only_if_no_consent_has_the_gateway_identifier(mappings: MappingSet) -> None:
    consent = entry(bundle_for(delivery(facts()), mappings), "Consent")
    value = f"{DELIVERY}/consent"
    assert consent["resource"]["identifier"] == [{"system": mappings.gateway.identifier_system, "value": value}]
    assert consent["request"]["ifNoneExist"] == f"identifier={mappings.gateway.identifier_system}|{value}"


def test_an_active_consent_is_a_patient_privacy_consent(mappings: MappingSet) -> None:
    consent = consent_of(mappings)
    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"


def test_the_category_is_loinc_patient_consent_naming_the_form(mappings: MappingSet) -> None:
    category = consent_of(mappings)["category"][0]
    assert category["coding"][0] == {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
    assert category["text"] == "Kela Y100 -suostumus, allekirjoitettu lomake"


def test_the_consent_is_about_the_patient_in_the_bundle(mappings: MappingSet) -> None:
    bundle = bundle_for(delivery(facts()), mappings)
    assert resource(bundle, "Consent")["patient"] == {"reference": entry(bundle, "Patient")["fullUrl"]}


def test_the_consent_is_dated_when_it_was_given(mappings: MappingSet) -> None:
    assert consent_of(mappings)["dateTime"] == "2026-11-23T09:25:00+02:00"


def test_the_patient_is_the_performer_when_they_gave_it_themselves(mappings: MappingSet) -> None:
    bundle = bundle_for(delivery(facts()), mappings)
    assert resource(bundle, "Consent")["performer"] == [{"reference": entry(bundle, "Patient")["fullUrl"]}]


def test_the_guardian_is_the_performer_when_the_guardian_gave_it(mappings: MappingSet) -> None:
    performer = consent_of(mappings, guardian=True)["performer"][0]
    assert performer["type"] == "RelatedPerson"
    assert performer["identifier"] == {"system": "urn:oid:1.2.246.21", "value": GUARDIAN_HETU}


def test_the_patient_register_keeper_manages_the_consent(mappings: MappingSet) -> None:
    organization = consent_of(mappings)["organization"][0]
    assert organization["identifier"]["value"] == f"urn:oid:{mappings.registers.patient.keeper_oid}"


def test_the_signed_form_is_the_source(mappings: MappingSet) -> None:
    assert consent_of(mappings)["sourceReference"]["identifier"] == {"value": "Y100-2026-3311"}


def test_the_policy_rule_is_opt_in(mappings: MappingSet) -> None:
    coding = consent_of(mappings)["policyRule"]["coding"][0]
    assert (coding["system"], coding["code"]) == ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN")


def test_the_provision_permits_for_the_validity_period(mappings: MappingSet) -> None:
    provision = consent_of(mappings)["provision"]
    assert provision["type"] == "permit"
    assert provision["period"] == {"start": "2026-11-23", "end": "2027-05-31"}


def test_every_party_is_an_information_recipient(mappings: MappingSet) -> None:
    actors = consent_of(mappings)["provision"]["actor"]
    assert [a["role"]["coding"][0]["code"] for a in actors] == ["IRCP", "IRCP"]
    assert actors[1]["reference"]["display"] == mappings.registers.social_care.keeper_name


def test_kela_is_named_by_its_business_id(mappings: MappingSet) -> None:
    kela = consent_of(mappings)["provision"]["actor"][0]["reference"]
    assert kela["identifier"] == {"system": "urn:oid:1.2.246.10", "value": "246246-0"}
    assert "0246246-0" in kela["display"]


def test_the_data_categories_are_coded_with_health_named_explicitly(mappings: MappingSet) -> None:
    classes = consent_of(mappings)["provision"]["class"]
    assert {c["system"] for c in classes} == {mappings.gateway.local_code_system}
    assert [c["code"] for c in classes] == ["identity_and_contact", "benefits", "health"]


def test_the_purpose_is_in_the_narrative(mappings: MappingSet) -> None:
    assert "Kelan puhelinajan varaaminen ja etuusasian selvittäminen" in consent_of(mappings)["text"]["div"]


def test_every_data_category_and_form_has_a_rendering() -> None:
    assert set(CATEGORIES) == {c.value for c in DataCategory}
    assert set(FORMS) == {f.value for f in ConsentForm}


def test_every_party_renders_as_a_recipient(mappings: MappingSet) -> None:
    actors = consent_of(mappings, parties=[p.value for p in ConsentParty])["provision"]["actor"]
    assert len(actors) == len(ConsentParty) and all(a["reference"]["display"] for a in actors)


def test_a_consent_without_health_data_is_refused(mappings: MappingSet) -> None:
    with pytest.raises(RenderError, match="health data"):
        render_consent(facts(add=()).payload(), mappings, delivery_id=DELIVERY)


def test_provenance_names_the_recording_worker_and_the_register_keeper(mappings: MappingSet) -> None:
    provenance = resource(bundle_for(delivery(facts()), mappings), "Provenance")
    roles = {a["type"]["coding"][0]["code"]: a for a in provenance["agent"]}
    assert roles["author"]["who"]["identifier"]["value"] == "T-1042"
    assert roles["custodian"]["who"]["identifier"]["value"] == f"urn:oid:{mappings.registers.patient.keeper_oid}"


def test_rendering_is_deterministic(mappings: MappingSet) -> None:
    assert bundle_for(delivery(facts()), mappings) == bundle_for(delivery(facts()), mappings)


def test_a_revocation_makes_the_consent_inactive(mappings: MappingSet) -> None:
    assert resource(revoked_bundle(mappings), "Consent")["status"] == "inactive"


def test_a_revocation_updates_the_consent_and_provenance_of_the_first_version(mappings: MappingSet) -> None:
    requests = [(e["request"]["method"], e["request"]["url"]) for e in revoked_bundle(mappings)["entry"]]
    assert requests == [("POST", "Patient"), ("PUT", "Consent/2"), ("PUT", "Provenance/3")]


def test_a_revocation_keeps_the_identifiers_of_the_first_version(mappings: MappingSet) -> None:
    consent = resource(revoked_bundle(mappings), "Consent")
    assert consent["id"] == "2" and consent["identifier"][0]["value"] == "first-delivery/consent"


def test_a_revocation_carries_its_reason_in_the_narrative(mappings: MappingSet) -> None:
    assert f"Suostumus peruttu: {REASON}" in resource(revoked_bundle(mappings), "Consent")["text"]["div"]
