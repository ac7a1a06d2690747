"""The audit API through the public interface: who read a client's data, who received it, as JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.audit.verify import verify_all
from gateway.store.engine import create_engine
from tests.support.clock import ManualClock
from tests.support.harness import Harness, example, running_gateway

BOTH_REGISTERS_HETU = "210179-967X"  # the client of example 07
HANDOVER_HETU = "300962-901N"  # the client of example 05
OTHER_HETU = "131052-308T"


async def delivered(gw: Harness, name: str) -> dict[str, Any]:
    response = await gw.post(example(name))
    assert response.status_code == 202, response.text
    return await gw.deliver_until_settled(response.json()["id"])


async def disclosures(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/audit/disclosures/search", json=body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def accesses(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/audit/access/search", json=body)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_a_delivered_outcome_leaves_chained_disclosures_found_by_the_clients_hetu(gw: Harness) -> None:
    both = await delivered(gw, "07")
    await delivered(gw, "05")
    found = await disclosures(gw.api, hetu=BOTH_REGISTERS_HETU)
    assert sorted(i["delivery_id"] for i in found["items"]) == sorted(d["id"] for d in both["deliveries"])
    assert {i["recipient"] for i in found["items"]} == {"kanta", "lifecare"}
    assert all(item["legal_basis"] and item["recipient_title"] for item in found["items"])
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        reports = {r.chain: r for r in await verify_all(engine)}
    finally:
        await engine.dispose()
    assert (reports["disclosures"].rows_checked, reports["disclosures"].broken) == (len(both["deliveries"]) + 1, None)


async def test_a_client_with_nothing_disclosed_finds_nothing(gw: Harness) -> None:
    await delivered(gw, "07")
    assert await disclosures(gw.api, hetu=OTHER_HETU) == {"items": [], "total": 0, "next_cursor": None}


async def test_disclosures_are_found_by_recipient(gw: Harness) -> None:
    both = await delivered(gw, "07")
    found = await disclosures(gw.api, hetu=BOTH_REGISTERS_HETU, recipient="kanta")
    to_kanta = [d["id"] for d in both["deliveries"] if d["backend"] == "kanta"]
    assert sorted(item["delivery_id"] for item in found["items"]) == sorted(to_kanta)
    assert found["total"] == len(to_kanta) > 0


async def test_an_unknown_recipient_is_a_422_naming_the_field(gw: Harness) -> None:
    response = await gw.api.post("/v1/audit/disclosures/search", json={"recipient": "somewhere"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["recipient"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def timed(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path, clock=clock) as harness:
        yield harness


async def test_disclosures_are_found_by_time_range(timed: Harness, clock: ManualClock) -> None:
    first = (await timed.post(example("05"))).json()["id"]
    clock.catch_up()
    await timed.deliver_until_settled(first)
    between = clock.advance(1800)
    clock.advance(1800)
    second = (await timed.post(example("07"))).json()["id"]
    await timed.deliver_until_settled(second)
    later = await disclosures(timed.api, **{"from": between.isoformat()})
    earlier = await disclosures(timed.api, to=between.isoformat())
    assert {i["outcome_id"] for i in later["items"]} == {second}
    assert {i["outcome_id"] for i in earlier["items"]} == {first}


async def test_to_before_from_is_a_422(gw: Harness) -> None:
    response = await gw.api.post(
        "/v1/audit/access/search", json={"from": "2026-03-02T10:00:00+02:00", "to": "2026-03-01T10:00:00+02:00"}
    )
    assert response.status_code == 422


async def test_a_search_by_hetu_is_itself_in_the_access_log(gw: Harness) -> None:
    auditor = gw.as_token(await gw.token_for("tietosuojavastaava", scopes=["audit:read"]))
    async with auditor:
        auditor.headers.update({"X-User": "tsv-1", "X-Purpose": "client data request"})
        await disclosures(auditor, hetu=HANDOVER_HETU)
    found = await accesses(gw.api, hetu=HANDOVER_HETU)
    oldest = found["items"][-1]
    assert (oldest["client"], oldest["user"], oldest["record_type"], oldest["purpose"]) == (
        "tietosuojavastaava",
        "tsv-1",
        "disclosures",
        "client data request",
    )


async def test_the_access_log_pages_newest_first_on_id_with_the_total(gw: Harness) -> None:
    auditor = gw.as_token(await gw.token_for("auditor", scopes=["audit:read"]))
    async with auditor:
        for _ in range(5):
            await accesses(auditor, hetu=OTHER_HETU)
    pages, cursor = [], None
    while True:
        page = await accesses(gw.api, client="auditor", limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [item["id"] for page in pages for item in page["items"]]
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert {page["total"] for page in pages} == {5}
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5


async def test_a_cursor_not_given_by_the_api_is_a_422(gw: Harness) -> None:
    response = await gw.api.post("/v1/audit/access/search", json={"cursor": "bm9wZQ"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_the_csv_export_opens_with_the_header_row(gw: Harness) -> None:
    await delivered(gw, "07")
    response = await gw.api.post("/v1/audit/disclosures/search", params={"format": "csv"}, json={})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "id",
        "disclosed_at",
        "recipient",
        "recipient_title",
        "kind",
        "legal_basis",
        "consent_id",
        "outcome_id",
        "delivery_id",
        "actor",
    ]
    assert len(rows) == 1 + await gw.count("disclosures")


async def test_accept_text_csv_asks_for_the_export_too(gw: Harness) -> None:
    response = await gw.api.post("/v1/audit/access/search", headers={"Accept": "text/csv"}, json={})
    assert response.status_code == 200
    assert response.text.splitlines()[0].startswith("id,accessed_at,client,")


async def test_the_csv_export_defuses_cells_that_a_spreadsheet_would_run(gw: Harness) -> None:
    name = '=HYPERLINK("http://example.invalid","x")'
    reader = gw.as_token(await gw.token_for(name, scopes=["audit:read"]))
    async with reader:
        await accesses(reader, hetu=OTHER_HETU)
    response = await gw.api.post("/v1/audit/access/search", params={"format": "csv"}, json={"client": name})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["client"] for row in rows] == ["'" + name]


async def test_a_token_without_audit_read_gets_403(gw: Harness) -> None:
    reader = gw.as_token(await gw.token_for("crm", scopes=["outcomes:read", "personal:read"]))
    async with reader:
        response = await reader.post("/v1/audit/disclosures/search", json={"hetu": HANDOVER_HETU})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_hetu_in_the_query_string_is_refused_and_not_echoed(gw: Harness) -> None:
    response = await gw.api.post("/v1/audit/disclosures/search", params={"hetu": HANDOVER_HETU}, json={})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.hetu"
    assert HANDOVER_HETU not in response.text


async def test_an_invalid_hetu_in_the_body_is_a_422_that_does_not_echo_it(gw: Harness) -> None:
    response = await gw.api.post("/v1/audit/access/search", json={"hetu": "131052-308X"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["hetu"]
    assert "131052-308X" not in response.text


async def test_a_search_body_that_is_not_json_is_a_415(gw: Harness) -> None:
    response = await gw.api.post(
        "/v1/audit/access/search", content=b"hetu=131052-308T", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_the_audit_routes_are_in_the_openapi_document_with_their_problems(gw: Harness) -> None:
    document = (await gw.api.get("/openapi.json")).json()
    operation = document["paths"]["/v1/audit/disclosures/search"]["post"]
    assert {"200", "401", "403", "413", "415", "422"} <= set(operation["responses"])
    assert "text/csv" in operation["responses"]["200"]["content"]
    assert "DisclosureQuery" in document["components"]["schemas"]
