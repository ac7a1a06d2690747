"""The deadlines view through the API: what is open, its state by the Finnish day, marks, owners, privacy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.store.engine import create_engine
from gateway.store.schema import deadlines
from tests.support.deadlines import SetClock, dated, open_list, priority
from tests.support.harness import Harness, running_gateway

# A Monday in November (EET, UTC+2): the hand-over is due the same day, the service promise the next.
CONTACT = "2025-11-17T10:00:00+02:00"


@pytest.fixture
def clock() -> SetClock:
    return SetClock("2025-11-17T12:00:00+02:00")


@pytest.fixture
async def gw(database_url: str, tmp_path: Path, clock: SetClock) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path, api_clock=clock) as harness:
        yield harness


async def _post(gw: Harness, body: dict[str, Any]) -> str:
    response = await gw.post(body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _states(answer: dict[str, Any], outcome: str) -> dict[str, str]:
    return {i["rule_id"]: i["state"] for i in answer["items"] if i["outcome_id"] == outcome}


async def _deadline_ids(gw: Harness, outcome_id: str) -> dict[str, int]:
    """Every deadline of an outcome, open or not, by rule: read from the database (the list shows open ones)."""
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(deadlines.c.rule_id, deadlines.c.id).where(deadlines.c.outcome_id == outcome_id)
            )
            return {rule_id: deadline_id for rule_id, deadline_id in rows}
    finally:
        await engine.dispose()


def _rules(answer: dict[str, Any]) -> set[str]:
    return {i["rule_id"] for i in answer["items"]}


# --- state by the Finnish day ------------------------------------------------------------------


async def test_on_the_contact_day_the_hand_over_is_due_today_and_the_service_promise_upcoming(
    gw: Harness, clock: SetClock
) -> None:
    outcome = await _post(gw, dated("05", CONTACT))
    clock.set("2025-11-17T23:59:59+02:00")
    assert _states(await open_list(gw.api), outcome) == {
        "thl-51-hta-same-day": "due_today",
        "service-promise": "upcoming",
    }


async def test_at_finnish_midnight_the_hand_over_is_overdue_though_the_utc_day_has_not_changed(
    gw: Harness, clock: SetClock
) -> None:
    outcome = await _post(gw, dated("05", CONTACT))
    clock.set("2025-11-17T22:00:00+00:00")  # 00:00 on the 18th in Helsinki, still the 17th in UTC
    answer = await open_list(gw.api)
    assert answer["today"] == "2025-11-18"
    assert _states(answer, outcome) == {"thl-51-hta-same-day": "overdue", "service-promise": "due_today"}


async def test_a_day_later_both_are_overdue(gw: Harness, clock: SetClock) -> None:
    outcome = await _post(gw, dated("05", CONTACT))
    clock.set("2025-11-19T08:00:00+02:00")
    assert _states(await open_list(gw.api), outcome) == {
        "thl-51-hta-same-day": "overdue",
        "service-promise": "overdue",
    }


async def test_counts_are_given_per_state_unit_and_family(gw: Harness, clock: SetClock) -> None:
    await _post(gw, dated("05", CONTACT))  # TA-PALVELUOHJAUS: THL 51 § + promise
    await _post(gw, priority(dated("07", CONTACT)))  # ASOHJ-KESKITETTY: SHL 36 §, THL 51 §, promise
    clock.set("2025-11-18T09:00:00+02:00")
    answer = await open_list(gw.api)
    assert answer["counts"] == {"overdue": 2, "due_today": 2, "upcoming": 1, "total": 5}
    units = {u["unit"]: u["counts"] for u in answer["by_unit"]}
    assert units["TA-PALVELUOHJAUS"] == {"overdue": 1, "due_today": 1, "upcoming": 0, "total": 2}
    assert units["ASOHJ-KESKITETTY"] == {"overdue": 1, "due_today": 1, "upcoming": 1, "total": 3}
    families = {f["family"]: (f["label"], f["counts"]["total"]) for f in answer["by_family"]}
    assert families == {"thl-51": ("THL 51 §", 2), "service-promise": ("Palvelulupaus", 2), "shl-36": ("SHL 36 §", 1)}
    assert all(f["legal_basis"] for f in answer["by_family"])
    groups = {(g["unit"], g["family"]): g["counts"]["total"] for g in answer["by_unit_and_family"]}
    assert groups[("ASOHJ-KESKITETTY", "shl-36")] == 1


async def test_the_state_filter_narrows_the_list_but_not_the_counts(gw: Harness, clock: SetClock) -> None:
    await _post(gw, dated("05", CONTACT))
    clock.set("2025-11-18T09:00:00+02:00")
    answer = await open_list(gw.api, state="overdue")
    assert _rules(answer) == {"thl-51-hta-same-day"} and answer["total"] == 1
    assert answer["counts"]["total"] == 2


async def test_filters_by_unit_family_and_due_dates(gw: Harness) -> None:
    await _post(gw, dated("05", CONTACT))
    await _post(gw, priority(dated("07", CONTACT)))
    assert {i["unit"] for i in (await open_list(gw.api, unit="TA-PALVELUOHJAUS"))["items"]} == {"TA-PALVELUOHJAUS"}
    assert _rules(await open_list(gw.api, family="shl-36")) == {"shl-36-needs-assessment"}
    assert _rules(await open_list(gw.api, family="no-such-family")) == set()
    window = await open_list(gw.api, due_from="2025-11-18", due_to="2025-11-20")
    assert {i["due"] for i in window["items"]} == {"2025-11-18"}


async def test_the_list_is_paged_soonest_due_first(gw: Harness) -> None:
    for _ in range(3):
        await _post(gw, dated("05", CONTACT))
    first = (await gw.api.get("/v1/deadlines", params={"limit": 4})).json()
    second = (await gw.api.get("/v1/deadlines", params={"limit": 4, "cursor": first["next_cursor"]})).json()
    assert [i["due"] for i in first["items"]] == ["2025-11-17"] * 3 + ["2025-11-18"]
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


async def test_a_cursor_the_api_did_not_give_is_a_422(gw: Harness) -> None:
    response = await gw.api.get("/v1/deadlines", params={"cursor": "bm90IGEgY3Vyc29y"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"


# --- what is open -------------------------------------------------------------------------------


async def test_a_correction_that_drops_the_hand_over_removes_its_deadline_from_the_open_list(gw: Harness) -> None:
    body = priority(dated("07", CONTACT))
    await _post(gw, body)
    body["source"]["revision"] = 2
    body["results"] = [r for r in body["results"] if r["kind"] != "health_care_handover"]
    corrected = await _post(gw, body)
    answer = await open_list(gw.api)
    assert {i["outcome_id"] for i in answer["items"]} == {corrected}
    assert _rules(answer) == {"shl-36-needs-assessment", "service-promise"}


async def test_an_outcome_whose_every_delivery_is_cancelled_is_withdrawn_and_has_no_open_deadline(
    gw: Harness,
) -> None:
    outcome = await _post(gw, priority(dated("07", CONTACT)))
    ids = [d["id"] for d in (await gw.status(outcome))["deliveries"]]
    cancelled = await gw.api.post("/v1/ops/deliveries/cancel", json={"ids": ids, "reason": "posted by mistake"})
    assert cancelled.status_code == 200 and len(cancelled.json()["moved"]) == len(ids)
    assert (await open_list(gw.api))["items"] == []


async def test_a_cancelled_hand_over_delivery_takes_only_its_own_deadline_off_the_list(gw: Harness) -> None:
    outcome = await _post(gw, priority(dated("07", CONTACT)))
    (handover,) = [d for d in (await gw.status(outcome))["deliveries"] if d["backend"] == "lifecare"]
    cancelled = await gw.api.post("/v1/ops/deliveries/cancel", json={"ids": [handover["id"]], "reason": "duplicate"})
    assert cancelled.status_code == 200
    assert _rules(await open_list(gw.api)) == {"shl-36-needs-assessment", "service-promise"}


async def test_a_deadline_marked_met_leaves_the_list_with_who_and_when(gw: Harness, clock: SetClock) -> None:
    await _post(gw, dated("05", CONTACT))
    (item,) = [i for i in (await open_list(gw.api))["items"] if i["rule_id"] == "thl-51-hta-same-day"]
    clock.set("2025-11-17T14:30:00+02:00")
    marked = await gw.api.post(f"/v1/deadlines/{item['id']}/met")
    assert marked.status_code == 200, marked.text
    assert marked.json()["result"] == "marked" and marked.json()["met_by"] == "test-suite: test-suite"
    assert marked.json()["met_at"].startswith("2025-11-17T12:30:00")
    assert _rules(await open_list(gw.api)) == {"service-promise"}


async def test_marking_met_again_answers_the_first_mark(gw: Harness, clock: SetClock) -> None:
    await _post(gw, dated("05", CONTACT))
    first_id = (await open_list(gw.api))["items"][0]["id"]
    first = (await gw.api.post(f"/v1/deadlines/{first_id}/met")).json()
    clock.set("2025-11-18T09:00:00+02:00")
    again = await gw.api.post(f"/v1/deadlines/{first_id}/met")
    assert again.status_code == 200
    assert again.json() == {**first, "result": "already_met"}


async def test_a_mark_survives_a_correction_that_keeps_the_hand_over(gw: Harness) -> None:
    body = dated("05", CONTACT)
    await _post(gw, body)
    (item,) = [i for i in (await open_list(gw.api))["items"] if i["rule_id"] == "thl-51-hta-same-day"]
    assert (await gw.api.post(f"/v1/deadlines/{item['id']}/met")).status_code == 200
    body["source"]["revision"] = 2
    body["guidance"]["summary"] = "Yskä jatkunut; korjattu kirjaus."
    corrected = await _post(gw, body)
    answer = await open_list(gw.api)
    assert [(i["outcome_id"], i["rule_id"]) for i in answer["items"]] == [(corrected, "service-promise")]


async def test_marking_the_corrected_revisions_deadline_answers_the_earlier_mark(gw: Harness, clock: SetClock) -> None:
    body = dated("05", CONTACT)
    await _post(gw, body)
    (old,) = [i for i in (await open_list(gw.api))["items"] if i["rule_id"] == "thl-51-hta-same-day"]
    first = (await gw.api.post(f"/v1/deadlines/{old['id']}/met")).json()
    body["source"]["revision"] = 2
    body["guidance"]["summary"] = "Korjattu kirjaus."
    corrected = await _post(gw, body)
    (status,) = [d for d in (await gw.status(corrected))["deadlines"] if d["rule"] == "thl-51-hta-same-day"]
    assert status["due"] == "2025-11-17"
    clock.set("2025-11-18T09:00:00+02:00")
    ids = await _deadline_ids(gw, corrected)
    again = await gw.api.post(f"/v1/deadlines/{ids['thl-51-hta-same-day']}/met")
    assert again.status_code == 200
    assert (again.json()["result"], again.json()["met_at"], again.json()["met_by"]) == (
        "already_met",
        first["met_at"],
        first["met_by"],
    )


async def test_marking_a_deadline_of_an_earlier_revision_is_a_409(gw: Harness) -> None:
    body = dated("05", CONTACT)
    await _post(gw, body)
    old_ids = [i["id"] for i in (await open_list(gw.api))["items"]]
    body["source"]["revision"] = 2
    body["guidance"]["summary"] = "Korjattu kirjaus."
    await _post(gw, body)
    refused = await gw.api.post(f"/v1/deadlines/{old_ids[0]}/met")
    assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["reason"] == "superseded"


async def test_marking_an_unknown_deadline_is_a_404(gw: Harness) -> None:
    response = await gw.api.post("/v1/deadlines/999999/met")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


# --- who sees what ------------------------------------------------------------------------------


async def _other_clients_outcome(gw: Harness) -> tuple[str, str]:
    """An outcome of another client, and that client's reading and marking token."""
    token = await gw.token_for(
        "other-unit", scopes=["outcomes:write", "deadlines:read", "deadlines:write"], systems=("other-crm",)
    )
    async with gw.as_token(token) as other:
        response = await other.post("/v1/outcomes", json=dated("05", CONTACT, system="other-crm"))
    assert response.status_code == 202, response.text
    return str(response.json()["id"]), token


async def test_another_clients_deadlines_are_hidden(gw: Harness) -> None:
    mine = await _post(gw, dated("05", CONTACT))
    theirs, token = await _other_clients_outcome(gw)
    async with gw.as_token(token) as other:
        answer = await open_list(other)
    assert {i["outcome_id"] for i in answer["items"]} == {theirs}
    assert answer["counts"]["total"] == 2
    mine_ids = [i["id"] for i in (await open_list(gw.api))["items"] if i["outcome_id"] == mine]
    async with gw.as_token(token) as other:
        assert (await other.post(f"/v1/deadlines/{mine_ids[0]}/met")).status_code == 404


async def test_a_token_reading_all_records_sees_every_clients_deadlines(gw: Harness) -> None:
    mine = await _post(gw, dated("05", CONTACT))
    theirs, _ = await _other_clients_outcome(gw)
    token = await gw.token_for("supervisor", scopes=["deadlines:read", "records:read-all"])
    async with gw.as_token(token) as supervisor:
        answer = await open_list(supervisor)
    assert {i["outcome_id"] for i in answer["items"]} == {mine, theirs}


async def test_reading_without_deadlines_read_is_a_403(gw: Harness) -> None:
    token = await gw.token_for("test-suite", scopes=["outcomes:read", "deadlines:write"])
    async with gw.as_token(token) as caller:
        response = await caller.get("/v1/deadlines")
    assert response.status_code == 403 and response.json()["required_scope"] == "deadlines:read"


async def test_marking_without_deadlines_write_is_a_403(gw: Harness) -> None:
    await _post(gw, dated("05", CONTACT))
    deadline_id = (await open_list(gw.api))["items"][0]["id"]
    token = await gw.token_for("test-suite", scopes=["deadlines:read"])
    async with gw.as_token(token) as caller:
        response = await caller.post(f"/v1/deadlines/{deadline_id}/met")
    assert response.status_code == 403 and response.json()["required_scope"] == "deadlines:write"
    assert len((await open_list(gw.api))["items"]) == 2


def _personal_values(body: Any) -> set[str]:
    """Every personal value of a posted body: identifiers, names, phones and free texts."""
    found: set[str] = set()
    personal = {"hetu", "given_names", "family_name", "phone", "birth_date", "summary", "social_care_summary"}
    personal |= {"health_care_summary", "note", "description", "concern", "reporter_name", "purpose"}
    if isinstance(body, dict):
        for key, value in body.items():
            if key in personal and isinstance(value, str):
                found.add(value)
            else:
                found |= _personal_values(value)
    elif isinstance(body, list):
        for value in body:
            found |= _personal_values(value)
    return found


async def test_no_personal_value_of_the_posted_outcomes_appears_in_the_answer(gw: Harness) -> None:
    bodies = [dated("05", CONTACT), priority(dated("07", CONTACT)), dated("08", CONTACT)]
    for body in bodies:
        await _post(gw, body)
    text = (await gw.api.get("/v1/deadlines")).text
    values = set().union(*(_personal_values(b) for b in bodies))
    assert len(values) > 10
    assert [v for v in values if v in text] == []
