"""A consent covering health data, delivered to the simulated FHIR server over real sockets, then revoked."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from adapters.lifecare.adapter import LifecareAdapter
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.errors import RenderError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from gateway.plan import Action
from gateway.plan.consents import ConsentFacts, consent_actions, facts_from_outcome, revocation_action
from tests.support.harness import example

DELIVERY = "2a6f0c3e-5555-4666-8777-888899990000"
REVOCATION = "2a6f0c3e-5555-4666-8777-888899990001"
CONSENT_ID = "0b7e4c11-0000-4000-8000-0000000000c2"


def health_consent() -> ConsentFacts:
    """Example 09's Y100 consent with health data among its categories."""
    body = example("09")
    body["consents"][0]["data_categories"].append("health")
    outcome = OutcomeV1.model_validate(body)
    return facts_from_outcome(outcome, outcome.consents[0], date(2026, 11, 23))


def planned(consent: ConsentFacts) -> Action:
    """The fhir_consent action the consent planner queues."""
    return next(
        a for a in consent_actions(consent, suffix=CONSENT_ID, consent_id=CONSENT_ID) if a.backend == "lifecare"
    )


def work(consent: ConsentFacts) -> DeliveryWork:
    action = planned(consent)
    return DeliveryWork(DELIVERY, None, action.key, action.kind, action.payload, attempt=1)


def revocation_work(first: DeliveryWork, result: DeliveryResult, consent: ConsentFacts) -> DeliveryWork:
    """The revocation the consent service queues, superseding the delivered consent."""
    original = planned(consent)
    delivered = SimpleNamespace(kind=original.kind, action_key=original.key, legal_basis=original.legal_basis)
    revocation = revocation_action(
        delivered.kind, delivered.action_key, consent, CONSENT_ID, "Asiakas perui suostumuksen"
    )
    return DeliveryWork(
        REVOCATION,
        None,
        revocation.key,
        revocation.kind,
        revocation.payload,
        attempt=1,
        document_version=2,
        supersedes=first.delivery_id,
        previous_refs=result.references,
    )


async def counts(lifecare_sim: httpx.AsyncClient) -> dict[str, int]:
    found: dict[str, int] = (await lifecare_sim.get("/_sim/counts")).json()
    return found


async def stored(lifecare_sim: httpx.AsyncClient, reference: str) -> dict[str, Any]:
    found: dict[str, Any] = (await lifecare_sim.get(f"/{reference}")).json()
    return found


async def test_a_consent_delivery_creates_patient_consent_and_provenance(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    result = await lifecare_adapter.deliver(work(health_consent()), mappings)
    assert set(result.references["resources"]) == {"Patient", "Consent", "Provenance"}
    assert {k: v for k, v in (await counts(lifecare_sim)).items() if v} == {"Patient": 1, "Consent": 1, "Provenance": 1}


async def test_the_stored_consent_refers_to_the_stored_patient(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    refs = (await lifecare_adapter.deliver(work(health_consent()), mappings)).references["resources"]
    assert (await stored(lifecare_sim, refs["Consent"]))["patient"] == {"reference": refs["Patient"]}


async def test_a_resend_creates_nothing_new(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    first = await lifecare_adapter.deliver(work(health_consent()), mappings)
    again = await lifecare_adapter.deliver(work(health_consent()), mappings)
    assert first.references == again.references
    assert sum((await counts(lifecare_sim)).values()) == 3


async def test_a_revocation_makes_the_one_stored_consent_inactive(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    consent = health_consent()
    first = work(consent)
    result = await lifecare_adapter.deliver(first, mappings)
    await lifecare_adapter.deliver(revocation_work(first, result, consent), mappings)
    stored_consent = await stored(lifecare_sim, result.references["resources"]["Consent"])
    assert (stored_consent["status"], stored_consent["meta"]["versionId"]) == ("inactive", "2")
    assert (await counts(lifecare_sim))["Consent"] == 1


async def test_a_revocation_answers_with_the_references_of_the_first_version(
    lifecare_adapter: LifecareAdapter, mappings: MappingSet
) -> None:
    consent = health_consent()
    first = work(consent)
    result = await lifecare_adapter.deliver(first, mappings)
    revoked = await lifecare_adapter.deliver(revocation_work(first, result, consent), mappings)
    assert revoked.references == result.references


async def test_a_revocation_leaves_the_stored_patient_as_it_was(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    consent = health_consent()
    first = work(consent)
    result = await lifecare_adapter.deliver(first, mappings)
    await lifecare_adapter.deliver(revocation_work(first, result, consent), mappings)
    assert (await stored(lifecare_sim, result.references["resources"]["Patient"]))["meta"]["versionId"] == "1"


async def test_a_kind_the_adapter_does_not_know_is_a_render_error(
    lifecare_adapter: LifecareAdapter, lifecare_sim: httpx.AsyncClient, mappings: MappingSet
) -> None:
    with pytest.raises(RenderError, match="cannot deliver"):
        await lifecare_adapter.deliver(replace(work(health_consent()), kind="kela_consent"), mappings)
    assert sum((await counts(lifecare_sim)).values()) == 0
