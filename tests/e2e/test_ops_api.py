"""The operators' API: the queues across clients, one delivery whole, actions and their log, back-ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from gateway.masking import WITHHELD
from gateway.settings import WorkerSettings
from gateway.store.engine import create_engine
from gateway.store.schema import access_log, deliveries
from tests.support.harness import FAST_WORKER, Harness, example, running_gateway


async def delivery_of(gw: Harness, outcome_id: str, kind: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = next(
        d for d in (await gw.status(outcome_id))["deliveries"] if kind is None or d["kind"] == kind
    )
    return found


async def act(gw: Harness, action: str, **body: Any) -> dict[str, Any]:
    response = await gw.api.post(f"/v1/ops/deliveries/{action}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def rows(gw: Harness, table: Any) -> list[dict[str, Any]]:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(select(table))]
    finally:
        await engine.dispose()


async def change(gw: Harness, delivery_id: str, **values: Any) -> None:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))
    finally:
        await engine.dispose()


async def failed_handover(gw: Harness, outcome: str = "CRM-OPS-1") -> str:
    """An example 05 delivery the Lifecare simulator rejected: failed, for an operator."""
    await gw.fault(status=422, message="Encounter.period is required", times=1)
    body = example("05")
    body["source"]["outcome_id"] = outcome
    outcome_id = (await gw.post(body)).json()["id"]
    await gw.deliver_until_settled(outcome_id)
    delivery = await delivery_of(gw, outcome_id)
    assert delivery["status"] == "failed"
    return str(delivery["id"])


async def test_the_list_filters_counts_by_status_and_pages_stably(gw: Harness) -> None:
    failed = await failed_handover(gw)
    for name in ("04", "03"):
        await gw.deliver_until_settled((await gw.post(example(name))).json()["id"])
    everything = (await gw.api.get("/v1/ops/deliveries")).json()
    only_failed = (await gw.api.get("/v1/ops/deliveries", params={"status": "failed"})).json()
    assert [d["id"] for d in only_failed["items"]] == [failed] and only_failed["total"] == 1
    assert only_failed["counts"] == everything["counts"] and only_failed["counts"]["failed"] == 1
    assert "payload" not in only_failed["items"][0]
    lifecare = (await gw.api.get("/v1/ops/deliveries", params={"backend": "lifecare", "error": "period"})).json()
    assert [d["id"] for d in lifecare["items"]] == [failed]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await gw.api.get("/v1/ops/deliveries", params=params)).json()
        seen += [d["id"] for d in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [d["id"] for d in everything["items"]] and len(seen) == everything["total"] > 2


async def test_a_delivery_is_masked_without_personal_read_and_logged_with_it(gw: Harness) -> None:
    outcome_id = (await gw.post(example("05"))).json()["id"]
    await gw.deliver_until_settled(outcome_id)
    delivery_id = (await delivery_of(gw, outcome_id))["id"]
    operator = gw.as_token(await gw.token_for("ops-team", scopes=["ops:read"]))
    masked = (await operator.get(f"/v1/ops/deliveries/{delivery_id}")).json()
    assert masked["payload"] == WITHHELD and masked["attempt_history"][0]["result"] == "delivered"
    assert masked["source"]["outcome_id"] == example("05")["source"]["outcome_id"]
    assert [r for r in await rows(gw, access_log) if r["record_type"] == "delivery"] == []
    reader = gw.as_token(await gw.token_for("ops-team", scopes=["ops:read", "personal:read"]))
    shown = (await reader.get(f"/v1/ops/deliveries/{delivery_id}", headers={"X-User": "op-7"})).json()
    assert shown["payload"]["client"]["hetu"] == example("05")["client"]["hetu"]
    [logged] = [r for r in await rows(gw, access_log) if r["record_type"] == "delivery"]
    assert logged["record_id"] == delivery_id and logged["user"] == "op-7" and logged["subject_key"]


async def test_a_dry_run_lists_what_would_move_and_moves_nothing(gw: Harness) -> None:
    failed = await failed_handover(gw)
    answer = await act(gw, "release", filter={"statuses": ["failed"]}, dry_run=True)
    assert answer["matched"] == [failed] and answer["moved"] == []
    assert (await gw.api.get(f"/v1/ops/deliveries/{failed}")).json()["status"] == "failed"
    assert (await gw.api.get("/v1/ops/actions")).json()["items"] == []


async def test_a_released_held_delivery_is_delivered(database_url: str, tmp_path: Path) -> None:
    worker = WorkerSettings(**{**FAST_WORKER.model_dump(), "max_attempts": 1})
    async with running_gateway(database_url, tmp_path, worker=worker) as gw:
        await gw.fault(status=503, times=1)
        outcome_id = (await gw.post(example("05"))).json()["id"]
        held = await gw.deliver_until_settled(outcome_id)
        delivery_id = held["deliveries"][0]["id"]
        assert held["deliveries"][0]["status"] == "held"
        answer = await act(gw, "release", ids=[delivery_id], reason="Lifecare is back")
        assert answer["moved"] == [delivery_id]
        delivered = (await gw.deliver_until_settled(outcome_id))["deliveries"][0]
        assert delivered["status"] == "delivered" and len((await gw.resources())["Encounter"]) == 1


async def test_a_cancelled_delivery_keeps_the_operators_reason(gw: Harness) -> None:
    failed = await failed_handover(gw)
    answer = await act(gw, "cancel", ids=[failed], reason="sent by hand to the clinic")
    assert answer["moved"] == [failed]
    detail = (await gw.api.get(f"/v1/ops/deliveries/{failed}")).json()
    assert detail["status"] == "cancelled"
    assert detail["status_reason"] == "cancelled by operator: sent by hand to the clinic"


async def test_an_executed_action_is_in_the_action_log(gw: Harness) -> None:
    failed = await failed_handover(gw)
    operator = gw.as_token(await gw.token_for("ops-team", scopes=["ops:write", "ops:read"]))
    body = {"ids": [failed], "reason": "duplicate of a paper referral", "dry_run": False}
    assert (await operator.post("/v1/ops/deliveries/cancel", json=body, headers={"X-User": "op-7"})).is_success
    [entry] = (await operator.get("/v1/ops/actions")).json()["items"]
    assert (entry["action"], entry["client_name"], entry["actor"], entry["user"]) == (
        "cancel",
        "ops-team",
        "ops-team",
        "op-7",
    )
    assert entry["reason"] == "duplicate of a paper referral" and entry["delivery_ids"] == [failed]
    assert entry["selection"] == {"ids": [failed]} and entry["moved"] == 1


async def test_a_replay_of_a_purged_payload_is_refused(gw: Harness) -> None:
    outcome_id = (await gw.post(example("05"))).json()["id"]
    delivery_id = (await gw.deliver_until_settled(outcome_id))["deliveries"][0]["id"]
    await change(gw, delivery_id, payload=None, purged_at=gw.worker.clock())  # as retention leaves it
    answer = await act(gw, "replay", ids=[delivery_id], reason="lost at Lifecare")
    assert answer["moved"] == [] and [r["id"] for r in answer["refused"]] == [delivery_id]
    assert "purged" in answer["refused"][0]["reason"]


async def test_a_replay_of_a_superseded_version_is_refused(gw: Harness) -> None:
    first = (await gw.post(example("05"))).json()["id"]
    old = (await gw.deliver_until_settled(first))["deliveries"][0]["id"]
    correction = example("05")
    correction["source"]["revision"] = 2
    correction["results"][0]["note"] = "Yskä jatkunut neljä viikkoa."
    await gw.deliver_until_settled((await gw.post(correction)).json()["id"])
    answer = await act(gw, "replay", ids=[old], reason="resend the referral")
    assert answer["moved"] == [] and "newer version" in answer["refused"][0]["reason"]
    assert (await gw.api.get(f"/v1/ops/deliveries/{old}")).json()["status"] == "delivered"


async def test_the_ops_api_needs_its_scopes(gw: Harness) -> None:
    reader = gw.as_token(await gw.token_for("crm", scopes=["outcomes:read"]))
    assert (await reader.get("/v1/ops/deliveries")).status_code == 403
    assert (await reader.get("/v1/ops/backends")).status_code == 403
    looker = gw.as_token(await gw.token_for("ops-team", scopes=["ops:read"]))
    refused = await looker.post("/v1/ops/deliveries/replay", json={"ids": ["x"], "dry_run": True})
    assert refused.status_code == 403 and refused.json()["required_scope"] == "ops:write"


async def test_an_action_without_a_reason_is_refused_unless_a_dry_run(gw: Harness) -> None:
    response = await gw.api.post("/v1/ops/deliveries/cancel", json={"ids": ["x"]})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


async def test_backends_show_every_back_end_with_depth_and_recent_attempts(gw: Harness) -> None:
    await failed_handover(gw)
    health = {b["backend"]: b for b in (await gw.api.get("/v1/ops/backends")).json()["backends"]}
    assert set(health) == {"lifecare", "kanta", "kela"}
    assert health["lifecare"]["depth"] == {"failed": 1} and health["lifecare"]["error_rate"] == 1.0
    assert health["kela"]["circuit"]["state"] == "closed" and health["kela"]["attempts"] == 0
    assert health["lifecare"]["latency_ms"]["p50"] is not None
