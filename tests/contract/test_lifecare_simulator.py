"""The Lifecare client against the simulated FHIR server, over real sockets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.lifecare.adapter import LifecareAdapter
from adapters.lifecare.client import FhirClient
from adapters.lifecare.settings import LifecareSettings
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.errors import BackendRejected, BackendTimeout, BackendUnavailable
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryWork
from gateway.plan.rules import plan_outcome
from tests.support.harness import example
from tests.support.servers import ThreadedServer

DELIVERY = "8c1e7d2a-1111-4222-8333-444455556666"


def work(name: str, mappings: MappingSet, delivery: str = DELIVERY) -> DeliveryWork:
    action = next(
        a for a in plan_outcome(OutcomeV1.model_validate(example(name)), mappings).actions if a.backend == "lifecare"
    )
    return DeliveryWork(delivery, "outcome-1", action.key, action.kind, action.payload, attempt=1)


async def counts(lifecare_sim: httpx.AsyncClient) -> dict[str, int]:
    found: dict[str, int] = (await lifecare_sim.get("/_sim/counts")).json()
    return found


async def test_a_delivery_creates_the_resources(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    result = await lifecare_adapter.deliver(work("05", mappings), mappings)
    assert set(result.references["resources"]) == {"Patient", "Encounter", "ServiceRequest/0", "Task/0", "Provenance"}
    assert (await counts(lifecare_sim))["Task"] == 1


async def test_a_resend_creates_nothing_new(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    first = await lifecare_adapter.deliver(work("05", mappings), mappings)
    again = await lifecare_adapter.deliver(work("05", mappings), mappings)
    assert first.references == again.references
    assert sum((await counts(lifecare_sim)).values()) == 5


async def test_a_second_outcome_for_the_same_client_reuses_the_patient(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    first = await lifecare_adapter.deliver(work("05", mappings), mappings)
    second = await lifecare_adapter.deliver(work("05", mappings, delivery="another-delivery"), mappings)
    assert first.references["resources"]["Patient"] == second.references["resources"]["Patient"]
    assert (await counts(lifecare_sim))["Encounter"] == 2


async def test_references_inside_the_transaction_are_resolved(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    refs = (await lifecare_adapter.deliver(work("05", mappings), mappings)).references["resources"]
    task = (await lifecare_sim.get(f"/{refs['Task/0']}")).json()
    assert task["for"]["reference"] == refs["Patient"] and task["focus"]["reference"] == refs["ServiceRequest/0"]


async def test_search_by_hetu_finds_the_patient_without_the_hetu_in_the_url(
    lifecare_server: ThreadedServer, lifecare_adapter: LifecareAdapter, mappings: MappingSet
) -> None:
    await lifecare_adapter.deliver(work("05", mappings), mappings)
    client = FhirClient(LifecareSettings(), lifecare_server.url)
    found = await client.search("Patient", {"identifier": "urn:oid:1.2.246.21|300962-901N"})
    await client.aclose()
    assert found["total"] == 1


async def test_search_by_subject_finds_the_encounter(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    refs = (await lifecare_adapter.deliver(work("05", mappings), mappings)).references["resources"]
    found = (await lifecare_sim.get("/Encounter", params={"subject": refs["Patient"]})).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [refs["Encounter"].split("/")[1]]


async def test_an_invalid_resource_is_refused_with_an_operation_outcome(lifecare_sim: httpx.AsyncClient) -> None:
    response = await lifecare_sim.post(
        "/Encounter",
        json={"resourceType": "Encounter", "status": "not-a-status"},
        headers={"Content-Type": "application/fhir+json"},
    )
    outcome = response.json()
    assert response.status_code == 400 and outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"][0].startswith("Encounter.")


def transaction(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


async def test_a_dangling_urn_reference_fails_the_whole_transaction(lifecare_sim: httpx.AsyncClient) -> None:
    bundle = transaction(
        [
            {
                "fullUrl": "urn:uuid:5b0c5f9e-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:oid:1.2.246.21", "value": "131052-308T"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:5b0c5f9e-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
                    "subject": {"reference": "urn:uuid:5b0c5f9e-0000-4000-8000-00000000dead"},
                },
                "request": {"method": "POST", "url": "Encounter"},
            },
        ]
    )
    response = await lifecare_sim.post("/", json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 400 and "not in this transaction" in response.json()["issue"][0]["diagnostics"]
    assert sum((await counts(lifecare_sim)).values()) == 0


async def test_a_literal_reference_to_nothing_is_refused(lifecare_sim: httpx.AsyncClient) -> None:
    response = await lifecare_sim.post(
        "/Encounter",
        headers={"Content-Type": "application/fhir+json"},
        json={
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
            "subject": {"reference": "Patient/999"},
        },
    )
    assert response.status_code == 400 and "does not resolve" in response.json()["issue"][0]["diagnostics"]


async def test_unknown_search_parameters_are_refused(lifecare_sim: httpx.AsyncClient) -> None:
    response = await lifecare_sim.get("/Patient", params={"name": "x"})
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


async def test_an_unsupported_resource_type_is_not_found(lifecare_sim: httpx.AsyncClient) -> None:
    assert (await lifecare_sim.get("/Observation/1")).status_code == 404


async def test_a_body_that_is_not_fhir_json_is_unsupported_media(lifecare_sim: httpx.AsyncClient) -> None:
    response = await lifecare_sim.post("/Patient", content=b"<Patient/>", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415


async def test_the_capability_statement_declares_fhir_4_0_1(lifecare_sim: httpx.AsyncClient) -> None:
    assert (await lifecare_sim.get("/metadata")).json()["fhirVersion"] == "4.0.1"


async def test_an_injected_503_with_retry_after_is_transient(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    await lifecare_sim.post("/_sim/faults", json={"status": 503, "retry_after": 7, "times": 1})
    with pytest.raises(BackendUnavailable) as caught:
        await lifecare_adapter.deliver(work("05", mappings), mappings)
    assert caught.value.retry_after == 7
    assert (await lifecare_adapter.deliver(work("05", mappings), mappings)).references


async def test_a_slow_answer_is_a_timeout(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    await lifecare_sim.post("/_sim/faults", json={"latency": 2.5, "times": 1})
    with pytest.raises(BackendTimeout):
        await lifecare_adapter.deliver(work("05", mappings), mappings)


async def test_a_dropped_connection_is_a_timeout(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    await lifecare_sim.post("/_sim/faults", json={"drop": "after", "times": 1})
    with pytest.raises(BackendTimeout):
        await lifecare_adapter.deliver(work("05", mappings), mappings)
    assert (await counts(lifecare_sim))["Encounter"] == 1  # it was stored; only the answer was lost


async def test_a_rejection_is_permanent(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    await lifecare_sim.post("/_sim/faults", json={"status": 422, "message": "business rule violated", "times": 1})
    with pytest.raises(BackendRejected, match="business rule violated"):
        await lifecare_adapter.deliver(work("05", mappings), mappings)


async def test_fault_rules_match_by_method_and_path(lifecare_sim: httpx.AsyncClient) -> None:
    await lifecare_sim.post("/_sim/faults", json={"method": "GET", "path": "^/metadata$", "status": 500})
    assert (await lifecare_sim.get("/metadata")).status_code == 500
    assert (await lifecare_sim.get("/Patient")).status_code == 200
    log = (await lifecare_sim.get("/_sim/requests")).json()["requests"]
    assert [entry["status"] for entry in log] == [500, 200]
