"""Mapping versions through the admin API: upload, validation, diff, dry-run, activation, every process switching."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap
from sqlalchemy import select

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.examples import move_dates
from gateway.mappings import DEFAULT_MAPPINGS_DIR
from gateway.mapsets.document import document_from_folder, folder_texts, parse
from gateway.mapsets.planning import plan_with
from gateway.store.engine import create_engine
from gateway.store.schema import outcomes
from tests.support.harness import Harness, eventually, example, running_gateway

POLL = 0.2


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path, mappings_poll_seconds=POLL) as harness:
        yield harness


@pytest.fixture
def document() -> dict[str, Any]:
    return document_from_folder(DEFAULT_MAPPINGS_DIR)


def _version(document: dict[str, Any], version: str, **changes: Any) -> dict[str, Any]:
    other = copy.deepcopy(document)
    other["version"] = version
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = other
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(leaf) if isinstance(target, list) else leaf] = value
    return other


def _today(name: str) -> dict[str, Any]:
    return move_dates(example(name), now=datetime.now(UTC), suffix=uuid.uuid4().hex[:8])


async def _upload(gw: Harness, document: dict[str, Any]) -> dict[str, Any]:
    response = await gw.api.post("/v1/mappings/versions", json={"document": document, "comment": "test"})
    assert response.status_code == 201, response.text
    version: dict[str, Any] = response.json()["version"]
    return version


async def test_an_invalid_upload_is_rejected_with_every_problem_listed_and_nothing_stored(
    gw: Harness, document: dict[str, Any]
) -> None:
    broken = _version(document, "2026.12.1", child_welfare_area="NO-SUCH-AREA")
    broken["units"]["ASOHJ-KESKITETTY"]["oid"] = "not-an-oid"
    broken["reasons"]["ARKI"]["area"] = "housing"
    broken["channels"].pop("chat")
    broken["rules"][5]["valid_from"] = "2023-08-01"
    response = await gw.api.post("/v1/mappings/versions", json={"document": broken})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "/child_welfare_area",
        "/units/ASOHJ-KESKITETTY/oid",
        "/reasons/ARKI/area",
        "/channels/chat",
        "/rules/5",
    } <= fields
    listed = (await gw.api.get("/v1/mappings/versions")).json()
    assert [v["number"] for v in listed["versions"]] == [1]


async def test_the_yaml_files_can_be_uploaded_as_they_are_and_twice_give_one_version(gw: Harness) -> None:
    texts = folder_texts(DEFAULT_MAPPINGS_DIR)
    texts["organisation.yaml"] = texts["organisation.yaml"].replace('version: "2026.11.1"', 'version: "2026.12.1"')
    first = await gw.api.post("/v1/mappings/versions", json={"files": texts})
    again = await gw.api.post("/v1/mappings/versions", json={"files": texts})
    assert first.json()["created"] is True and again.json()["created"] is False
    assert first.json()["version"]["number"] == again.json()["version"]["number"] == 2
    assert first.json()["version"]["label"].startswith("2026.12.1+")


async def test_the_admin_api_needs_the_mappings_admin_scope(gw: Harness) -> None:
    token = await gw.token_for("operators", scopes=["ops:read", "ops:write"])
    async with gw.as_token(token) as operator:
        assert (await operator.get("/v1/mappings/versions")).status_code == 403


async def test_activation_and_rollback_switch_the_plans_and_the_history_names_who(
    gw: Harness, document: dict[str, Any]
) -> None:
    loaded = (await gw.api.get("/v1/mappings/versions")).json()["versions"][0]["label"]
    two = await _upload(gw, _version(document, "2026.12.1", rules__0__working_days=2))
    activated = await gw.api.post("/v1/mappings/active", json={"number": two["number"], "expected_current": 1})
    assert activated.json() == {"active": 2, "previous": 1}
    await _planned_with(gw, two["label"])
    rolled = await gw.api.post("/v1/mappings/rollback", json={"expected_current": 2, "comment": "deadline wrong"})
    assert rolled.json() == {"active": 1, "previous": 2}
    await _planned_with(gw, loaded)
    changes = (await gw.api.get("/v1/mappings/history")).json()["changes"]
    assert [(c["action"], c["number"], c["previous_number"]) for c in changes] == [
        ("rolled_back", 1, 2),
        ("activated", 2, 1),
        ("uploaded", 2, None),
        ("loaded", 1, None),
    ]
    assert changes[0]["actor"] == "test-suite:test-suite" and changes[0]["comment"] == "deadline wrong"


async def _planned_with(gw: Harness, label: str, *, seconds: float = 10 * POLL + 2) -> None:
    async def plans_with_it() -> bool:
        answer = (await gw.post(_today("05"), dry_run="true")).json()
        return bool(answer["plan"]["mapping_version"] == label)

    await eventually(plans_with_it, seconds=seconds, what=f"planning with {label}")


async def test_an_activation_over_an_unseen_version_answers_409(gw: Harness, document: dict[str, Any]) -> None:
    two = await _upload(gw, _version(document, "2"))
    three = await _upload(gw, _version(document, "3"))
    assert (await gw.api.post("/v1/mappings/active", json={"number": two["number"]})).status_code == 200
    stale = await gw.api.post("/v1/mappings/active", json={"number": three["number"], "expected_current": 1})
    assert stale.status_code == 409 and stale.json()["type"].endswith("stale-activation")


async def test_a_second_gateway_on_the_same_database_switches_within_the_poll_interval(
    gw: Harness, document: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    async with running_gateway(database_url, tmp_path / "second", mappings_poll_seconds=POLL) as second:
        two = await _upload(gw, _version(document, "2026.12.1"))
        await gw.api.post("/v1/mappings/active", json={"number": two["number"]})
        # A poll interval, plus a request's time either side of it.
        await _planned_with(second, two["label"], seconds=POLL + 1)


async def test_planning_during_an_activation_uses_exactly_one_version_per_outcome(
    gw: Harness, document: dict[str, Any]
) -> None:
    loaded = parse(document)
    candidate = _version(document, "2026.12.1", rules__0__working_days=3)
    two = await _upload(gw, candidate)
    sets = {loaded.version: loaded, two["label"]: parse(candidate)}
    posted: list[tuple[dict[str, Any], Any]] = []
    switched = asyncio.Event()

    async def stream() -> None:
        # Posts go on until the new version has planned some of them: the switch happens mid-stream.
        while not switched.is_set():
            body = _today("05")
            answer = await gw.post(body)
            posted.append((body, answer))
            if answer.status_code == 202 and answer.json()["plan"]["mapping_version"] == two["label"]:
                switched.set()

    async def activate() -> None:
        await gw.api.post("/v1/mappings/active", json={"number": two["number"]})

    await asyncio.wait_for(asyncio.gather(*(stream() for _ in range(4)), activate()), timeout=30)
    seen = set()
    for body, answer in posted:
        assert answer.status_code == 202, answer.text
        plan = (await gw.status(answer.json()["id"]))["plan"]
        seen.add(plan["mapping_version"])
        assert plan == plan_with(OutcomeV1.model_validate(body), sets[plan["mapping_version"]]).describe()
    assert seen == set(sets)


async def test_a_dry_run_shows_the_changed_plan_of_a_sample_when_a_reasons_area_changes(
    gw: Harness, document: dict[str, Any]
) -> None:
    candidate = copy.deepcopy(document)
    candidate["reasons"]["MIELI"]["area"] = "social_care"
    answer = await gw.api.post(
        "/v1/mappings/dry-run", json={"document": candidate, "samples": [_today("07")], "examples": False, "recent": 0}
    )
    assert answer.status_code == 200, answer.text
    [sample] = answer.json()["samples"]
    assert sample["changed"] is True
    assert {a["key"] for a in sample["actions"]["changed"]} == {
        "kanta:initiation:AIKUISSOSTYO",
        "lifecare:patient-record",
    }


async def test_a_dry_run_replans_recent_outcomes_from_their_stored_facts(gw: Harness, document: dict[str, Any]) -> None:
    posted = await gw.post(_today("07"))
    assert posted.status_code == 202
    candidate = copy.deepcopy(document)
    candidate["reasons"]["MIELI"]["area"] = "social_care"
    answer = (await gw.api.post("/v1/mappings/dry-run", json={"document": candidate, "examples": False})).json()
    [recent] = [s for s in answer["samples"] if s["origin"] == "recent"]
    assert recent["name"] == posted.json()["id"] and recent["changed"] is True
    assert answer["totals"]["recent"]["changed"] == 1


async def test_a_diff_against_the_active_version_lists_the_change(gw: Harness, document: dict[str, Any]) -> None:
    two = await _upload(gw, _version(document, "2026.11.1", reasons__MIELI__area="social_care"))
    diff = (await gw.api.get(f"/v1/mappings/versions/{two['number']}/diff")).json()
    assert diff["from"] == 1
    assert [(d["path"], d["old"], d["new"]) for d in diff["differences"]] == [
        ("/reasons/MIELI/area", "health_care", "social_care")
    ]


async def test_the_concept_map_export_validates_as_fhir_r4(gw: Harness) -> None:
    bundle = (await gw.api.get("/v1/mappings/versions/1/concept-maps")).json()
    assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) == 4
    for entry in bundle["entry"]:
        ConceptMap.model_validate(entry["resource"])


async def test_stored_planning_facts_carry_none_of_the_posted_personal_values(gw: Harness) -> None:
    bodies = [_today(name) for name in ("03", "07", "08", "09")]
    for body in bodies:
        assert (await gw.post(body)).status_code == 202
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            stored = [row[0] for row in await conn.execute(select(outcomes.c.planning_facts))]
    finally:
        await engine.dispose()
    assert len(stored) == len(bodies) and all(stored)
    text = json.dumps(stored, ensure_ascii=False)
    for body in bodies:
        for value in _personal(body):
            assert value not in text


def _personal(body: dict[str, Any]) -> list[str]:
    keys = {
        "hetu", "given_names", "family_name", "birth_date", "phone", "email", "summary", "social_care_summary",
        "health_care_summary", "description", "note", "concern", "purpose", "form_reference", "reporter_name",
    }  # fmt: skip
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key in keys and isinstance(value, str):
            found.append(value)

    walk(body, None)
    assert found  # the scan scans something
    return found
