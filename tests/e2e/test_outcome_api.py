"""Through the public API: an outcome in, records out, and every way a request can be wrong."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.harness import Harness, example, future_window


async def test_a_handover_becomes_fhir_resources_in_lifecare(gw: Harness) -> None:
    accepted = await gw.post(example("05"))
    assert accepted.status_code == 202
    await gw.deliver()
    status = await gw.status(accepted.json()["id"])
    assert status["state"] == "delivered"
    delivery = status["deliveries"][0]
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    assert delivery["attempt_history"][0]["result"] == "delivered"
    stored = await gw.resources()
    patient = stored["Patient"][0]
    assert patient["identifier"][0]["value"] == "300962-901N"
    assert delivery["references"]["resources"]["Patient"] == f"Patient/{patient['id']}"
    assert stored["Task"][0]["restriction"]["period"]["end"].startswith("2026-11-23")


async def test_the_answer_explains_the_plan(gw: Harness) -> None:
    body = (await gw.post(example("07"))).json()
    assert body["status"] == "accepted" and body["links"]["self"] == f"/v1/outcomes/{body['id']}"
    assert [r["rule"] for r in body["plan"]["rules"]] == [
        "both-registers",
        "social-care-initiation",
        "patient-register",
    ]
    assert all(a["legal_basis"] for a in body["plan"]["actions"])


async def test_the_status_shows_deadlines(gw: Harness) -> None:
    outcome_id = (await gw.post(example("08"))).json()["id"]
    deadlines = {d["rule"]: d["due"] for d in (await gw.status(outcome_id))["deadlines"]}
    assert deadlines["lsl-26-decision"] == "2026-12-02"


async def test_an_anonymous_outcome_leaves_nothing_in_lifecare_and_nothing_personal_anywhere(gw: Harness) -> None:
    body = example("01")
    accepted = await gw.post(body)
    assert accepted.status_code == 202 and accepted.json()["statistics_only"] is True
    await gw.deliver()
    assert all(not items for items in (await gw.resources()).values())
    stored = await gw.table_text()
    assert body["guidance"]["summary"] not in stored
    assert await gw.count("deliveries") == 0 and await gw.count("statistics_events") == 1


async def test_advice_only_for_a_named_client_stores_nothing_personal(gw: Harness) -> None:
    body = example("02")
    assert (await gw.post(body)).status_code == 202
    stored = await gw.table_text()
    for value in (body["client"]["hetu"], body["client"]["family_name"], "401234567"):
        assert value not in stored


async def test_every_accepted_outcome_records_one_statistics_event(gw: Harness) -> None:
    for name in ("01", "02", "05", "07"):
        assert (await gw.post(example(name))).status_code == 202
    assert await gw.count("statistics_events") == 4


async def test_a_dry_run_returns_the_plan_and_writes_nothing(gw: Harness) -> None:
    response = await gw.post(example("07"), dry_run="true")
    assert response.status_code == 200 and response.json()["dry_run"] is True
    assert len(response.json()["plan"]["actions"]) == 3
    assert await gw.count("outcomes") == 0 and await gw.count("statistics_events") == 0


async def test_invalid_input_names_every_bad_field_and_writes_nothing(gw: Harness) -> None:
    body = example("05")
    body["client"]["hetu"] = "300962-901X"
    body["reasons"]["main"] = "NO-SUCH-REASON"
    body["contact"]["received_at"] = "2026-11-23T09:05:00"
    body["guidance"]["ended_at"] = "2026-11-23T08:00:00+02:00"
    response = await gw.post(body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"client.hetu", "contact.received_at", "guidance", "reasons.main"}
    assert problem["mapping_version"] in next(e["message"] for e in problem["errors"] if e["field"] == "reasons.main")
    assert "300962-901X" not in response.text
    assert await gw.count("outcomes") == 0


async def test_an_anonymous_outcome_with_personal_fields_is_refused(gw: Harness) -> None:
    body = example("01")
    body["client"]["hetu"] = "131052-308T"
    response = await gw.post(body)
    assert response.status_code == 422 and "hetu" in response.json()["errors"][0]["message"]


async def test_a_body_over_the_limit_is_413(gw: Harness) -> None:
    body = example("05")
    body["guidance"]["summary"] = "x" * 300_000
    response = await gw.post(body)
    assert response.status_code == 413 and response.json()["max_bytes"] == gw.settings.max_body_bytes


async def test_malformed_json_is_400(gw: Harness) -> None:
    response = await gw.api.post("/v1/outcomes", content=b'{"source": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"


async def test_the_same_outcome_posted_again_returns_the_first_answer(gw: Harness) -> None:
    first = await gw.post(example("05"))
    again = await gw.post(example("05"))
    assert again.status_code == 202 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await gw.count("outcomes") == 1 and await gw.count("deliveries") == 1


async def test_the_same_outcome_with_a_different_body_is_409(gw: Harness) -> None:
    await gw.post(example("05"))
    changed = example("05")
    changed["guidance"]["summary"] = "Toinen teksti."
    response = await gw.post(changed)
    assert response.status_code == 409 and response.json()["title"] == "Conflicting outcome"
    assert await gw.count("outcomes") == 1


async def test_an_unknown_outcome_is_404_problem(gw: Harness) -> None:
    response = await gw.api.get("/v1/outcomes/does-not-exist")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


async def test_outcomes_can_be_found_by_their_source_id(gw: Harness) -> None:
    outcome_id = (await gw.post(example("05"))).json()["id"]
    found = (
        await gw.api.get(
            "/v1/outcomes", params={"source_system": "asiakasohjaus-crm", "source_outcome_id": "CRM-2026-000105"}
        )
    ).json()
    assert [item["id"] for item in found["items"]] == [outcome_id]


async def test_kanta_and_kela_deliveries_wait_visibly_when_their_adapters_are_off(
    database_url: str, tmp_path: object
) -> None:
    from pathlib import Path

    from tests.support.harness import running_gateway

    assert isinstance(tmp_path, Path)
    async with running_gateway(database_url, tmp_path, kanta={"enabled": False}, kela={"enabled": False}) as gw:
        body = example("09")
        body["results"][0]["window"] = future_window()
        outcome_id = (await gw.post(body)).json()["id"]
        await gw.deliver()
        status = await gw.status(outcome_id)
        assert status["state"] == "waiting"
        assert {d["status"] for d in status["deliveries"]} == {"awaiting_adapter"}
        assert "no kela adapter" in status["deliveries"][0]["status_reason"]


async def test_requests_without_a_token_are_401_problems(gw: Harness) -> None:
    async with httpx.AsyncClient(base_url=str(gw.api.base_url)) as anonymous:
        response = await anonymous.post("/v1/outcomes", json=example("05"))
    assert response.status_code == 401 and response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_unknown_token_is_401(gw: Harness) -> None:
    response = await gw.api.get("/v1/outcomes/x", headers={"Authorization": "Bearer gwt_not-a-token"})
    assert response.status_code == 401 and response.json()["title"] == "Invalid token"


async def test_a_token_without_the_scope_is_403(gw: Harness) -> None:
    reader = await gw.token_for("test-suite", scopes=["outcomes:read"])
    response = await gw.api.post("/v1/outcomes", json=example("05"), headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 403 and response.json()["required_scope"] == "outcomes:write"


async def test_health_and_api_docs_need_no_token(gw: Harness) -> None:
    async with httpx.AsyncClient(base_url=str(gw.api.base_url)) as anonymous:
        assert (await anonymous.get("/health/live")).status_code == 200
        assert (await anonymous.get("/health/ready")).json()["checks"]["database"] == "ok"
        spec = (await anonymous.get("/openapi.json")).json()
        assert (await anonymous.get("/docs")).status_code == 200
    assert "OutcomeV1" in spec["components"]["schemas"]
    request_body = spec["paths"]["/v1/outcomes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert request_body == {"$ref": "#/components/schemas/OutcomeV1"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_docs_load_every_asset_from_the_gateway_itself(gw: Harness, page: str) -> None:
    async with httpx.AsyncClient(base_url=str(gw.api.base_url)) as anonymous:
        html = (await anonymous.get(page)).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
        for asset in assets:
            assert (await anonymous.get(asset)).status_code == 200, asset


async def test_metrics_need_the_ops_scope_and_show_queue_depth(gw: Harness) -> None:
    await gw.post(example("05"))
    response = await gw.api.get("/metrics")
    assert response.status_code == 200
    assert 'gateway_queue_depth{backend="lifecare",status="pending"} 1.0' in response.text


async def test_a_refused_outcome_is_counted_by_its_status(gw: Harness) -> None:
    body = example("05")
    body["unit"] = "NO-SUCH-UNIT"
    assert (await gw.post(body)).status_code == 422
    response = await gw.api.get("/metrics")
    assert 'gateway_outcomes_rejected_total{status="422"} 1.0' in response.text
