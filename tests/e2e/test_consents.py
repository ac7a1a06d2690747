"""Consents through the API: recorded, registered with Kela, enforced on deliveries, revocable."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from gateway.outbox.worker import Worker
from tests.support.harness import Harness, consent_body, example, future_window


def booking_outcome(outcome_id: str = "CRM-2026-000109", *, with_consent: bool = False) -> dict[str, Any]:
    """Example 09 (a Kela booking request) with a window in the future, with or without its Y100 consent."""
    body = example("09")
    body["source"]["outcome_id"] = outcome_id
    body["results"][0]["window"] = future_window()
    if not with_consent:
        body["consents"] = []
    return body


async def kela(gw: Harness, what: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await gw.simulators["kela"].get(f"/_sim/{what}")).json()[what]
    return found


async def booking_delivery(gw: Harness, outcome_id: str) -> dict[str, Any]:
    status = await gw.status(outcome_id)
    found: dict[str, Any] = next(d for d in status["deliveries"] if d["kind"] == "kela_booking")
    return found


async def test_a_recorded_y100_consent_is_registered_with_kela(gw: Harness) -> None:
    created = await gw.api.post("/v1/consents", json=consent_body())
    assert created.status_code == 201 and created.headers["location"] == f"/v1/consents/{created.json()['id']}"
    await gw.deliver()
    consent = (await gw.api.get(f"/v1/consents/{created.json()['id']}")).json()
    registration = next(d for d in consent["deliveries"] if d["kind"] == "kela_consent")
    assert registration["status"] == "delivered"
    assert [c["consent_id"] for c in await kela(gw, "consents")] == [registration["references"]["consent_id"]]


async def test_a_verbal_consent_is_not_registered_with_kela(gw: Harness) -> None:
    body = consent_body(form="verbal", form_reference=None)
    created = (await gw.api.post("/v1/consents", json=body)).json()
    assert created["deliveries"] == []


async def test_consents_are_found_by_the_clients_hetu_in_the_body(gw: Harness) -> None:
    first = (await gw.api.post("/v1/consents", json=consent_body())).json()
    await gw.api.post("/v1/consents", json=consent_body(hetu="131052-308T"))
    found = (await gw.api.post("/v1/consents/search", json={"hetu": "091285-9192"})).json()["items"]
    assert [c["id"] for c in found] == [first["id"]]


async def test_the_same_idempotency_key_records_one_consent(gw: Harness) -> None:
    headers = {"Idempotency-Key": "crm-consent-77"}
    first = await gw.api.post("/v1/consents", json=consent_body(), headers=headers)
    again = await gw.api.post("/v1/consents", json=consent_body(), headers=headers)
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = await gw.api.post("/v1/consents", json=consent_body(purpose="Muu tarkoitus"), headers=headers)
    assert other.status_code == 409
    assert await gw.count("consents") == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"form_reference": None}, "form_reference"),
        ({"valid_from": "2026-12-01", "valid_until": "2026-11-01"}, "valid_until"),
        ({"consenter": {"hetu": "091285-9193", "given_names": "A", "family_name": "B"}}, "consenter.hetu"),
        ({"data_categories": ["health", "genome"]}, "data_categories[1]"),
        ({"recorded_by": {"unit": "NO-SUCH-UNIT", "worker_id": "T-1"}}, "recorded_by.unit"),
    ],
    ids=["y100-without-form", "until-before-from", "bad-hetu", "unknown-category", "unknown-unit"],
)
async def test_an_invalid_consent_is_refused_naming_the_field(gw: Harness, changes: dict[str, Any], field: str) -> None:
    response = await gw.api.post("/v1/consents", json=consent_body(**changes))
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}
    assert await gw.count("consents") == 0


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        (
            {"client": {"hetu": None}, "results": [{"kind": "advice_only", "topic": "KELA-ETUUS"}]},
            "client.hetu",
            "consenter_not_identified",
        ),
        ({"consents": [{"form_reference": None}]}, "consents[0].form_reference", "form_reference_missing"),
        ({"consents": [{"given_by_guardian": True}]}, "client.guardian.hetu", "guardian_not_identified"),
    ],
    ids=["unidentified-client", "y100-without-form", "guardian-not-named"],
)
async def test_an_outcome_carrying_a_consent_nobody_can_be_matched_to_is_refused(
    gw: Harness, changes: dict[str, Any], field: str, code: str
) -> None:
    body = booking_outcome(with_consent=True)
    for part, change in changes.items():
        if part == "consents":
            body["consents"] = [{**body["consents"][0], **change[0]}]
        elif part == "client":
            body["client"] = {**body["client"], **change}
        else:
            body[part] = change
    response = await gw.post(body)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert await gw.count("consents") == 0 and await gw.count("outcomes") == 0


async def test_a_booking_waits_for_consent_and_is_released_when_one_arrives(gw: Harness) -> None:
    outcome_id = (await gw.post(booking_outcome())).json()["id"]
    await gw.deliver()
    held = await booking_delivery(gw, outcome_id)
    assert held["status"] == "held_for_consent" and (await gw.status(outcome_id))["state"] == "waiting"
    assert await kela(gw, "bookings") == []
    consent_id = (await gw.api.post("/v1/consents", json=consent_body())).json()["id"]
    await gw.deliver()
    booked = await booking_delivery(gw, outcome_id)
    assert booked["status"] == "delivered" and booked["consent_id"] == consent_id
    assert len(await kela(gw, "bookings")) == 1


async def test_a_consent_given_during_the_contact_authorises_that_contacts_booking(gw: Harness) -> None:
    outcome_id = (await gw.post(booking_outcome(with_consent=True))).json()["id"]
    await gw.deliver()
    delivery = await booking_delivery(gw, outcome_id)
    assert delivery["status"] == "delivered" and delivery["consent_id"]
    consent = (await gw.api.get(f"/v1/consents/{delivery['consent_id']}")).json()
    assert consent["source"].startswith("outcome:asiakasohjaus-crm:CRM-2026-000109")
    assert len(await kela(gw, "consents")) == 1


async def test_a_verbal_consent_authorises_exactly_one_transaction(gw: Harness) -> None:
    verbal = (await gw.api.post("/v1/consents", json=consent_body(form="verbal", form_reference=None))).json()
    first = (await gw.post(booking_outcome("CRM-A"))).json()["id"]
    second = (await gw.post(booking_outcome("CRM-B"))).json()["id"]
    await gw.deliver()
    assert (await booking_delivery(gw, first))["consent_id"] == verbal["id"]
    assert (await booking_delivery(gw, second))["status"] == "held_for_consent"
    assert (await gw.api.get(f"/v1/consents/{verbal['id']}")).json()["status"] == "used"


async def test_an_expired_consent_authorises_nothing(gw: Harness) -> None:
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    await gw.api.post("/v1/consents", json=consent_body(valid_from="2026-01-01", valid_until=yesterday))
    outcome_id = (await gw.post(booking_outcome())).json()["id"]
    await gw.deliver()
    assert (await booking_delivery(gw, outcome_id))["status"] == "held_for_consent"


async def test_revoking_before_delivery_cancels_the_booking_with_a_visible_reason(gw: Harness) -> None:
    consent_id = (await gw.api.post("/v1/consents", json=consent_body())).json()["id"]
    outcome_id = (await gw.post(booking_outcome())).json()["id"]
    assert (await booking_delivery(gw, outcome_id))["status"] == "pending"
    revoke = {
        "reason": "Asiakas peruu suostumuksen puhelimessa",
        "revoked_by": {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"},
    }
    revoked = await gw.api.post(f"/v1/consents/{consent_id}/revoke", json=revoke)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    await gw.deliver()
    cancelled = await booking_delivery(gw, outcome_id)
    assert cancelled["status"] == "cancelled" and "revoked before delivery" in cancelled["status_reason"]
    assert (await gw.status(outcome_id))["state"] == "cancelled"
    assert await kela(gw, "bookings") == []


async def test_revoking_a_registered_consent_withdraws_it_at_kela(gw: Harness) -> None:
    consent_id = (await gw.api.post("/v1/consents", json=consent_body())).json()["id"]
    await gw.deliver()
    revoke = {"reason": "Peruttu", "revoked_by": {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"}}
    await gw.api.post(f"/v1/consents/{consent_id}/revoke", json=revoke)
    await gw.deliver()
    consent = (await gw.api.get(f"/v1/consents/{consent_id}")).json()
    assert [d["kind"] for d in consent["deliveries"] if d["status"] == "delivered"] == [
        "kela_consent",
        "kela_consent_revocation",
    ]
    assert [c["status"] for c in await kela(gw, "consents")] == ["revoked"]


async def test_a_consent_that_lapses_before_sending_holds_the_delivery_again(gw: Harness) -> None:
    today = date.today().isoformat()
    await gw.api.post("/v1/consents", json=consent_body(valid_from="2026-01-01", valid_until=today))
    outcome_id = (await gw.post(booking_outcome())).json()["id"]
    assert (await booking_delivery(gw, outcome_id))["status"] == "pending"
    later = Worker(
        engine=gw.worker.engine,
        adapters=gw.worker.adapters,
        mappings=gw.worker.mappings,
        settings=gw.worker.settings,
        consent_check=gw.worker.consent_check,
        clock=lambda: gw.worker.clock() + timedelta(days=2),
    )
    await later.run_until_idle()
    held = await booking_delivery(gw, outcome_id)
    assert held["status"] == "held_for_consent" and "expired" in held["status_reason"] and held["attempts"] == 0
    assert await kela(gw, "bookings") == []


async def test_the_plan_names_the_consent_each_delivery_needs(gw: Harness) -> None:
    answer = (await gw.post(booking_outcome())).json()
    booking = next(a for a in answer["plan"]["actions"] if a["kind"] == "kela_booking")
    assert booking["consent_required"] == {
        "party": "kela",
        "categories": ["identity_and_contact"],
        "reason": "Kela booking on the client's behalf needs the client's consent.",
    }
