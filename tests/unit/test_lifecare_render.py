"""The patient-register transaction: which resources, conditional on what, with which deadline."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle

from adapters.lifecare.render import render_patient_record
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan.rules import plan_outcome
from tests.support.harness import example

DELIVERY = "3f1b2c4d-0000-4000-8000-000000000001"


def bundle_for(name: str, mappings: MappingSet, **kwargs: Any) -> dict[str, Any]:
    plan = plan_outcome(OutcomeV1.model_validate(example(name)), mappings)
    action = next(a for a in plan.actions if a.backend == "lifecare")
    return render_patient_record(action.payload, mappings, delivery_id=DELIVERY, **kwargs).bundle


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_bundle_is_a_valid_r4_transaction(mappings: MappingSet) -> None:
    bundle = bundle_for("07", mappings)
    assert Bundle.model_validate(bundle).type == "transaction"


def test_a_handover_renders_patient_encounter_service_request_task_and_provenance(mappings: MappingSet) -> None:
    kinds = [e["resource"]["resourceType"] for e in bundle_for("05", mappings)["entry"]]
    assert kinds == ["Patient", "Encounter", "ServiceRequest", "Task", "Provenance"]


def test_a_direct_booking_renders_an_appointment(mappings: MappingSet) -> None:
    appointment = resources(bundle_for("06", mappings), "Appointment")[0]
    assert appointment["status"] == "booked" and appointment["start"] == "2026-11-26T13:00:00+02:00"


def test_the_patient_is_created_only_if_no_patient_has_the_hetu(mappings: MappingSet) -> None:
    entry = bundle_for("05", mappings)["entry"][0]
    assert entry["request"]["ifNoneExist"] == "identifier=urn:oid:1.2.246.21|300962-901N"
    assert entry["resource"]["identifier"][0] == {
        "use": "official",
        "system": "urn:oid:1.2.246.21",
        "value": "300962-901N",
    }


def test_every_entry_is_a_conditional_create(mappings: MappingSet) -> None:
    for entry in bundle_for("07", mappings)["entry"]:
        assert entry["request"]["method"] == "POST" and entry["request"]["ifNoneExist"]


def test_created_resources_carry_the_gateway_identifier_of_the_delivery(mappings: MappingSet) -> None:
    encounter = resources(bundle_for("05", mappings), "Encounter")[0]
    assert encounter["identifier"][0] == {
        "system": mappings.gateway.identifier_system,
        "value": f"{DELIVERY}/encounter",
    }


def test_the_task_carries_the_hta_deadline_as_its_restriction_period(mappings: MappingSet) -> None:
    task = resources(bundle_for("05", mappings), "Task")[0]
    assert task["restriction"]["period"]["end"] == "2026-11-23T23:59:59+02:00"
    assert "Terveydenhuoltolaki" in task["description"]


def test_provenance_names_the_author_and_the_register_keeper(mappings: MappingSet) -> None:
    provenance = resources(bundle_for("05", mappings), "Provenance")[0]
    roles = {a["type"]["coding"][0]["code"]: a for a in provenance["agent"]}
    assert roles["author"]["who"]["identifier"]["value"] == "T-1042"
    assert roles["custodian"]["who"]["identifier"]["value"] == f"urn:oid:{mappings.registers.patient.keeper_oid}"


def test_references_inside_the_bundle_use_its_full_urls(mappings: MappingSet) -> None:
    bundle = bundle_for("05", mappings)
    patient_url = bundle["entry"][0]["fullUrl"]
    assert resources(bundle, "Encounter")[0]["subject"] == {"reference": patient_url}


def test_rendering_is_deterministic(mappings: MappingSet) -> None:
    assert bundle_for("07", mappings) == bundle_for("07", mappings)


def test_a_correction_updates_the_resources_of_the_first_version_but_never_the_patient(
    mappings: MappingSet,
) -> None:
    previous = {
        "Patient": "Patient/1",
        "Encounter": "Encounter/2",
        "ServiceRequest/0": "ServiceRequest/3",
        "Task/0": "Task/4",
        "Provenance": "Provenance/5",
    }
    bundle = bundle_for("05", mappings, identifier_root="first-delivery", previous=previous)
    requests = [(e["request"]["method"], e["request"]["url"]) for e in bundle["entry"]]
    assert requests == [
        ("POST", "Patient"),
        ("PUT", "Encounter/2"),
        ("PUT", "ServiceRequest/3"),
        ("PUT", "Task/4"),
        ("PUT", "Provenance/5"),
    ]
    assert resources(bundle, "Encounter")[0]["identifier"][0]["value"] == "first-delivery/encounter"


def test_the_home_municipality_uses_the_fi_base_extension(mappings: MappingSet) -> None:
    patient = resources(bundle_for("05", mappings), "Patient")[0]
    assert patient["extension"][0]["valueCoding"] == {"system": "urn:oid:1.2.246.537.6.21", "code": "180"}
