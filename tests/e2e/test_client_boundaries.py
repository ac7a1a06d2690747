"""Clients own their source systems: another client's records can be neither written nor seen.

The suite's own token belongs to ``test-suite``, which owns the examples' ``asiakasohjaus-crm``.
Each test makes a second client, ``other-crm``, owning ``other-system`` only.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.harness import Harness, booking_body, consent_body, example

READ_WRITE = ["outcomes:write", "outcomes:read", "consents:write", "consents:read", "bookings:write", "bookings:read"]


async def other_client(gw: Harness, *scopes: str) -> httpx.AsyncClient:
    token = await gw.token_for("other-crm", scopes=list(scopes) or READ_WRITE, systems=("other-system",))
    return gw.as_token(token)


async def accepted(gw: Harness, body: dict[str, Any]) -> str:
    response = await gw.post(body)
    assert response.status_code == 202, response.text
    outcome_id: str = response.json()["id"]
    return outcome_id


async def test_posting_for_a_source_system_the_client_does_not_own_is_403(gw: Harness) -> None:
    async with await other_client(gw) as other:
        response = await other.post("/v1/outcomes", json=example("05"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("foreign-source-system")
    assert await gw.count("outcomes") == 0


async def test_a_correction_of_another_clients_outcome_is_403_and_changes_nothing(gw: Harness) -> None:
    first = example("05")
    await accepted(gw, first)
    correction = {**first, "source": {**first["source"], "revision": 2}}
    async with await other_client(gw) as other:
        response = await other.post("/v1/outcomes", json=correction)
    assert response.status_code == 403
    assert await gw.count("outcomes") == 1


async def test_a_dry_run_for_another_clients_system_is_403_too(gw: Harness) -> None:
    async with await other_client(gw) as other:
        response = await other.post("/v1/outcomes", json=example("05"), params={"dry_run": "true"})
    assert response.status_code == 403


async def test_another_clients_outcome_reads_as_not_found(gw: Harness) -> None:
    outcome_id = await accepted(gw, example("05"))
    async with await other_client(gw) as other:
        response = await other.get(f"/v1/outcomes/{outcome_id}")
    assert response.status_code == 404 and response.json()["detail"] == f"No outcome {outcome_id}."


async def test_finding_by_another_clients_source_system_finds_nothing(gw: Harness) -> None:
    body = example("05")
    await accepted(gw, body)
    async with await other_client(gw) as other:
        response = await other.get("/v1/outcomes", params={"source_system": body["source"]["system"]})
    assert response.status_code == 200 and response.json() == {"items": []}


async def test_an_auditor_with_read_all_reads_every_clients_outcomes(gw: Harness) -> None:
    outcome_id = await accepted(gw, example("05"))
    async with await other_client(gw, "outcomes:read", "records:read-all") as auditor:
        response = await auditor.get(f"/v1/outcomes/{outcome_id}")
    assert response.status_code == 200 and response.json()["id"] == outcome_id


async def test_another_clients_consent_reads_as_not_found(gw: Harness) -> None:
    consent_id = (await gw.api.post("/v1/consents", json=consent_body())).json()["id"]
    async with await other_client(gw) as other:
        response = await other.get(f"/v1/consents/{consent_id}")
    assert response.status_code == 404


async def test_searching_consents_finds_only_the_callers_own(gw: Harness) -> None:
    await gw.api.post("/v1/consents", json=consent_body())
    async with await other_client(gw) as other:
        response = await other.post("/v1/consents/search", json={"hetu": consent_body()["consenter"]["hetu"]})
    assert response.status_code == 200 and response.json() == {"items": []}


async def test_another_clients_consent_cannot_be_revoked(gw: Harness) -> None:
    consent_id = (await gw.api.post("/v1/consents", json=consent_body())).json()["id"]
    revoke = {"reason": "asiakas peruu", "revoked_by": {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1"}}
    async with await other_client(gw) as other:
        response = await other.post(f"/v1/consents/{consent_id}/revoke", json=revoke)
    assert response.status_code == 404
    assert (await gw.api.get(f"/v1/consents/{consent_id}")).json()["status"] == "active"


async def test_another_clients_booking_can_be_neither_read_nor_cancelled(gw: Harness) -> None:
    await gw.api.post("/v1/consents", json=consent_body())
    booking = await gw.api.post("/v1/bookings", json=booking_body())
    assert booking.status_code in (201, 202), booking.text
    booking_id = booking.json()["id"]
    cancel = {"reason": "ei tarvita", "cancelled_by": {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1"}}
    async with await other_client(gw) as other:
        assert (await other.get(f"/v1/bookings/{booking_id}")).status_code == 404
        assert (await other.post(f"/v1/bookings/{booking_id}/cancel", json=cancel)).status_code == 404
    assert (await gw.api.get(f"/v1/bookings/{booking_id}")).json()["status"] != "cancelled"


async def test_a_disabled_clients_tokens_stop_working(gw: Harness) -> None:
    from gateway.security.clients import disable_client, find_client
    from gateway.store.engine import create_engine

    token = await gw.token_for("other-crm", scopes=["outcomes:read"], systems=("other-system",))
    engine = create_engine(gw.settings.resolved_database_url)
    async with engine.begin() as conn:
        client = await find_client(conn, "other-crm")
        assert client is not None
        await disable_client(conn, client.id)
    await engine.dispose()
    # The token was never used, so no cached answer stands in the way.
    async with gw.as_token(token) as disabled:
        response = await disabled.get("/v1/outcomes", params={"source_system": "other-system"})
    assert response.status_code == 401
