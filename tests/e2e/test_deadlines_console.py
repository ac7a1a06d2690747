"""The deadlines page over HTTP: behind its scope, without personal data, marks only with the form's token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.deadlines import SetClock, dated, open_list
from tests.support.harness import Harness, running_gateway

CONTACT = "2025-11-17T10:00:00+02:00"


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = SetClock("2025-11-18T09:00:00+02:00")
    async with running_gateway(database_url, tmp_path, api_clock=clock) as harness:
        yield harness


def _console(gw: Harness, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gw.api.base_url, cookies={"gw_console": token}, timeout=30)


async def test_the_page_shows_counts_rule_and_legal_basis_and_no_personal_value(gw: Harness) -> None:
    body = dated("05", CONTACT)
    assert (await gw.post(body)).status_code == 202
    token = await gw.token_for("test-suite", scopes=["deadlines:read"])
    async with _console(gw, token) as console:
        html = (await console.get("/console/deadlines")).text
    assert "overdue 1" in html and "due today 1" in html and "upcoming 0" in html
    assert "THL 51 §" in html and "Terveydenhuoltolaki 1326/2010 51 §" in html and "TA-PALVELUOHJAUS" in html
    personal = [body["client"][k] for k in ("hetu", "given_names", "family_name", "phone")]
    personal += [body["guidance"]["summary"], body["results"][0]["note"]]
    assert [v for v in personal if v in html] == []
    assert "Mark met" not in html  # a reading login has no button


async def test_the_page_needs_deadlines_read(gw: Harness) -> None:
    token = await gw.token_for("test-suite", scopes=["ops:read"])
    async with _console(gw, token) as console:
        response = await console.get("/console/deadlines")
    assert response.status_code == 403 and "deadlines:read" in response.text


async def test_a_mark_without_the_forms_csrf_token_marks_nothing(gw: Harness) -> None:
    assert (await gw.post(dated("05", CONTACT))).status_code == 202
    deadline_id = (await open_list(gw.api))["items"][0]["id"]
    token = await gw.token_for("test-suite", scopes=["deadlines:read", "deadlines:write"])
    async with _console(gw, token) as console:
        response = await console.post("/console/deadlines/met/confirm", data={"id": str(deadline_id), "csrf": "x"})
    assert response.status_code == 403
    assert len((await open_list(gw.api))["items"]) == 2


async def test_a_mark_needs_deadlines_write(gw: Harness) -> None:
    assert (await gw.post(dated("05", CONTACT))).status_code == 202
    deadline_id = (await open_list(gw.api))["items"][0]["id"]
    token = await gw.token_for("test-suite", scopes=["deadlines:read"])
    async with _console(gw, token) as console:
        html = (await console.get("/console/deadlines")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf is not None  # the logout form's
        response = await console.post(
            "/console/deadlines/met/confirm", data={"id": str(deadline_id), "csrf": csrf.group(1)}
        )
    assert response.status_code == 403 and "deadlines:write" in response.text
    assert len((await open_list(gw.api))["items"]) == 2
