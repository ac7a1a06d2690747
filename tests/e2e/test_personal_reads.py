"""Personal fields need ``personal:read``: masked without it; with it, every read is in the access log."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from gateway.masking import WITHHELD
from gateway.store.engine import create_engine
from gateway.store.schema import access_log
from tests.support.harness import Harness, consent_body, example

READER = ["outcomes:read", "consents:read", "bookings:read"]
HETU = consent_body()["consenter"]["hetu"]


async def access_rows(gw: Harness) -> list[dict[str, Any]]:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(select(access_log).order_by(access_log.c.id))]
    finally:
        await engine.dispose()


async def recorded_consent(gw: Harness) -> str:
    response = await gw.api.post("/v1/consents", json=consent_body())
    assert response.status_code == 201, response.text
    consent_id: str = response.json()["id"]
    return consent_id


async def test_a_consent_read_without_personal_scope_masks_the_consenter_and_free_text(gw: Harness) -> None:
    consent_id = await recorded_consent(gw)
    async with gw.as_token(await gw.token_for("test-suite", scopes=READER)) as reader:
        shown = (await reader.get(f"/v1/consents/{consent_id}")).json()
    assert shown["consenter"] == {"hetu": "<hetu>", "given_names": "<name>", "family_name": "<name>"}
    assert shown["purpose"] == WITHHELD and shown["form_reference"] == WITHHELD
    assert HETU not in json.dumps(shown) and "Kelasuo" not in json.dumps(shown)
    assert shown["status"] == "active" and shown["parties"] == ["kela", "social_care"]


async def test_a_masked_read_is_not_an_access_to_log(gw: Harness) -> None:
    consent_id = await recorded_consent(gw)
    async with gw.as_token(await gw.token_for("test-suite", scopes=READER)) as reader:
        assert (await reader.get(f"/v1/consents/{consent_id}")).status_code == 200
    assert await access_rows(gw) == []


async def test_a_consent_read_with_personal_scope_is_shown_and_logged(gw: Harness) -> None:
    consent_id = await recorded_consent(gw)
    response = await gw.api.get(
        f"/v1/consents/{consent_id}", headers={"X-User": "T-1042", "X-Purpose": "asiakkaan neuvonta"}
    )
    assert response.json()["consenter"]["hetu"] == HETU
    [row] = await access_rows(gw)
    assert (row["record_type"], row["record_id"], row["client_name"]) == ("consent", consent_id, "test-suite")
    assert (row["user"], row["purpose"]) == ("T-1042", "asiakkaan neuvonta")
    assert row["route"] == "GET /v1/consents/{consent_id}" and row["subject_key"]
    assert HETU not in json.dumps(row, default=str)


async def test_a_consent_search_logs_one_read_per_consent_found(gw: Harness) -> None:
    await recorded_consent(gw)
    await gw.api.post("/v1/consents", json=consent_body(form_reference="Y100-2026-4411"))
    found = (await gw.api.post("/v1/consents/search", json={"hetu": HETU})).json()["items"]
    rows = await access_rows(gw)
    assert len(found) == 2 and sorted(r["record_id"] for r in rows) == sorted(c["id"] for c in found)
    assert len({r["subject_key"] for r in rows}) == 1


async def test_an_outcome_read_with_personal_scope_is_logged_under_its_clients_key(gw: Harness) -> None:
    outcome_id = (await gw.post(example("05"))).json()["id"]
    assert (await gw.api.get(f"/v1/outcomes/{outcome_id}")).status_code == 200
    [row] = await access_rows(gw)
    assert row["record_type"] == "outcome" and row["record_id"] == outcome_id and row["subject_key"]


async def test_back_end_messages_are_withheld_without_personal_scope(gw: Harness) -> None:
    await gw.lifecare.post("/_sim/faults", json={"status": 422, "times": 1})
    outcome_id = (await gw.post(example("05"))).json()["id"]
    await gw.deliver_until_settled(outcome_id)
    async with gw.as_token(await gw.token_for("test-suite", scopes=READER)) as reader:
        shown = (await reader.get(f"/v1/outcomes/{outcome_id}")).json()
    messages = [a["message"] for d in shown["deliveries"] for a in d["attempt_history"]]
    assert messages and all(m in (WITHHELD, None) for m in messages)
    assert all(d["last_error"] in (WITHHELD, None) for d in shown["deliveries"])


async def test_an_unprintable_x_user_header_is_422(gw: Harness) -> None:
    consent_id = await recorded_consent(gw)
    response = await gw.api.get(f"/v1/consents/{consent_id}", headers={"X-User": "a\tb"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["header.x-user"]
