"""The statistics API after the shipped examples are posted: figures, exports, the scope, no personal value."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gateway.examples import move_dates
from gateway.plan.days import FINNISH_TIME
from tests.support.harness import EXAMPLES, Harness, running_gateway


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path) as harness:
        yield harness


def bodies() -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [move_dates(json.loads(p.read_text(encoding="utf-8")), now=now) for p in sorted(EXAMPLES.glob("*.json"))]


async def post_examples(gw: Harness) -> list[dict[str, object]]:
    posted = bodies()
    for body in posted:
        answer = await gw.post(body)
        assert answer.status_code in (200, 201, 202), answer.text
    return posted


def params() -> dict[str, str]:
    today = datetime.now(FINNISH_TIME).date()
    return {"from": today.replace(day=1).isoformat() if today.day > 1 else today.isoformat(), "to": today.isoformat()}


def wide() -> dict[str, str]:
    today = datetime.now(FINNISH_TIME).date()
    return {"from": today.replace(year=today.year - 1).isoformat(), "to": today.isoformat(), "period": "month"}


async def test_the_examples_are_counted_with_every_small_cell_suppressed(gw: Harness) -> None:
    await post_examples(gw)

    answer = await gw.api.get("/v1/statistics", params=wide())

    assert answer.status_code == 200
    body = answer.json()
    assert body["k"] == 5
    everyone = next(row for row in body["events"] if row["unit"] == "*")
    assert everyone["values"][-1] == 10
    counts = [v for table in body["tables"] for row in table["rows"] for v in row["values"]]
    assert all(v is None or v == 0 or v >= 5 for v in counts)


async def test_statistics_need_the_statistics_scope(gw: Harness) -> None:
    token = await gw.token_for("ops-only", scopes=["ops:read"])

    for path in ("/v1/statistics", "/v1/statistics.csv", "/v1/statistics.xlsx"):
        answer = await gw.api.get(path, params=wide(), headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_token_with_only_the_statistics_scope_reads_them(gw: Harness) -> None:
    token = await gw.token_for("supervisor", scopes=["statistics:read"])

    answer = await gw.api.get("/v1/statistics", params=wide(), headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200


async def test_a_range_ending_before_it_starts_or_longer_than_three_years_is_a_422_naming_the_field(
    gw: Harness,
) -> None:
    backwards = await gw.api.get("/v1/statistics", params={"from": "2026-02-01", "to": "2026-01-01"})
    too_long = await gw.api.get("/v1/statistics", params={"from": "2020-01-01", "to": "2026-01-01"})
    not_a_date = await gw.api.get("/v1/statistics", params={"from": "yesterday", "to": "2026-01-01"})

    assert [a.status_code for a in (backwards, too_long, not_a_date)] == [422, 422, 422]
    assert backwards.json()["errors"][0]["code"] == "before_from"
    assert too_long.json()["errors"][0]["code"] == "range_too_long"
    assert backwards.headers["content-type"].startswith("application/problem+json")


async def test_the_csv_and_xlsx_exports_download_with_the_examples_counted(gw: Harness) -> None:
    await post_examples(gw)

    csv_answer = await gw.api.get("/v1/statistics.csv", params=wide())
    xlsx_answer = await gw.api.get("/v1/statistics.xlsx", params=wide())

    assert csv_answer.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv_answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx_answer.content))
    summary = book["Yhteenveto"]
    events = next(r for r in summary.iter_rows(values_only=True) if r[0] == "*" and r[2] == "events")
    assert events[-1] == 10


async def test_no_personal_value_of_the_examples_appears_in_any_statistics_answer(gw: Harness) -> None:
    posted = await post_examples(gw)
    personal: set[str] = set()
    for body in posted:
        client = body["client"]
        assert isinstance(client, dict)
        for key in ("hetu", "phone"):
            if isinstance(client.get(key), str):
                personal.add(str(client[key]))
        # Whole names: a family name such as "Asiakas" is also an ordinary word of the labels.
        if client.get("given_names"):
            personal.add(f"{client['given_names']} {client['family_name']}")

    answers = [(await gw.api.get(path, params=wide())).content for path in ("/v1/statistics", "/v1/statistics.csv")]
    book = load_workbook(io.BytesIO((await gw.api.get("/v1/statistics.xlsx", params=wide())).content))
    cells = " ".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row)
    text = " ".join(a.decode("utf-8-sig") for a in answers) + cells

    assert personal and not [value for value in personal if value in text]


async def test_the_statistics_are_documented_in_openapi(gw: Harness) -> None:
    schema = (await gw.api.get("/openapi.json")).json()

    assert {"/v1/statistics", "/v1/statistics.csv", "/v1/statistics.xlsx"} <= set(schema["paths"])
    assert "StatisticsOut" in schema["components"]["schemas"]
