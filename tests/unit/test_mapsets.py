"""Mapping documents as pure data: validation, diff, ConceptMap export, planning facts and dry-run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import DEFAULT_MAPPINGS_DIR, load_mappings
from gateway.mapsets.conceptmap import SUPPORT_NEED, concept_maps
from gateway.mapsets.diff import diff_documents
from gateway.mapsets.document import document_from_folder, document_from_texts, folder_texts, parse
from gateway.mapsets.dryrun import Sample, dry_run
from gateway.mapsets.facts import outcome_from_facts, planning_facts, synthetic_hetu
from gateway.mapsets.planning import plan_with
from gateway.mapsets.validation import validate_document

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "outcomes").glob("*.json"))


@pytest.fixture
def document() -> dict[str, Any]:
    return document_from_folder(DEFAULT_MAPPINGS_DIR)


def _outcome(path: Path) -> OutcomeV1:
    return OutcomeV1.model_validate(json.loads(path.read_text(encoding="utf-8")))


def test_the_shipped_mapping_folder_is_a_valid_document(document: dict[str, Any]) -> None:
    assert validate_document(document) == []


def test_a_document_and_the_folder_it_came_from_make_the_same_set_apart_from_the_version(
    document: dict[str, Any],
) -> None:
    from_folder = load_mappings()
    from_document = parse(document)
    assert from_document.model_dump(exclude={"version"}) == from_folder.model_dump(exclude={"version"})
    assert from_document.version.startswith("2026.11.1+")


def test_the_same_content_has_the_same_version_label_wherever_it_came_from(document: dict[str, Any]) -> None:
    from_texts = document_from_texts(folder_texts(DEFAULT_MAPPINGS_DIR))
    assert parse(from_texts).version == parse(json.loads(json.dumps(document))).version


def test_an_invalid_document_lists_every_problem_at_once(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    broken["child_welfare_area"] = "NO-SUCH-AREA"
    broken["units"]["ASOHJ-KESKITETTY"]["oid"] = "1.2.246.x"
    broken["reasons"]["ARKI"]["area"] = "housing"
    broken["channels"].pop("chat")
    broken["rules"][5]["valid_from"] = "2023-08-01"  # overlaps the rule it replaced
    broken["reasons"]["ASUMINEN"]["display"] = ""
    broken["rules"][0]["months"] = 1  # both measures
    locations = {p.location for p in validate_document(broken)}
    assert {
        "/child_welfare_area",
        "/units/ASOHJ-KESKITETTY/oid",
        "/reasons/ARKI/area",
        "/channels/chat",
        "/rules/5",
        "/reasons/ASUMINEN/display",
        "/rules/0",
    } <= locations


def test_a_unit_outside_the_organisations_oid_register_is_named(document: dict[str, Any]) -> None:
    document["health_units"]["SUUN-TH"]["oid"] = "1.2.246.10.12345678.10.305"
    [problem] = validate_document(document)
    assert problem.location == "/health_units/SUUN-TH/oid"


def test_successive_versions_of_one_provision_may_follow_each_other_but_not_overlap(document: dict[str, Any]) -> None:
    rules = document["rules"]
    assert rules[4]["valid_until"] == "2023-08-31" and rules[5]["valid_from"] == "2023-09-01"
    rules[4]["valid_until"] = "2023-09-01"
    [problem] = validate_document(document)
    assert problem.location == "/rules/5" and "thl-51-hta-3-days" in problem.message


def test_an_undated_rule_is_refused(document: dict[str, Any]) -> None:
    del document["rules"][2]["valid_from"]
    assert "/rules/2/valid_from" in {p.location for p in validate_document(document)}


def test_local_codes_differing_only_in_case_are_ambiguous(document: dict[str, Any]) -> None:
    document["reasons"]["arki"] = dict(document["reasons"]["ARKI"])
    assert any(p.location == "/reasons/arki" for p in validate_document(document))


def test_one_service_task_code_with_two_displays_is_inconsistent(document: dict[str, Any]) -> None:
    document["guidance_service_task"] = {"code": "03", "display": "Something else"}
    [problem] = validate_document(document)
    assert problem.location == "/guidance_service_task"


def test_pydantic_errors_are_listed_with_the_checks(document: dict[str, Any]) -> None:
    document["organisation"]["unexpected"] = 1
    document["channels"]["phone"]["display"] = ""
    locations = {p.location for p in validate_document(document)}
    assert {"/organisation/unexpected", "/channels/phone/display"} <= locations


def test_a_diff_names_each_changed_added_and_removed_path(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    new["reasons"]["MIELI"]["area"] = "social_care"
    new["reasons"]["UUSI"] = {"display": "Uusi", "area": "other"}
    del new["health_units"]["SUUN-TH"]
    changes = {(d.path, d.change, json.dumps(d.old), json.dumps(d.new)) for d in diff_documents(document, new)}
    assert changes == {
        ("/reasons/MIELI/area", "changed", '"health_care"', '"social_care"'),
        ("/reasons/UUSI", "added", "null", '{"display": "Uusi", "area": "other"}'),
        ("/health_units/SUUN-TH", "removed", json.dumps(document["health_units"]["SUUN-TH"]), "null"),
    }


def test_a_diff_matches_deadline_rules_by_id_not_position(document: dict[str, Any]) -> None:
    new = copy.deepcopy(document)
    new["rules"].insert(0, {**new["rules"][0], "id": "new-rule"})
    [difference] = diff_documents(document, new)
    assert (difference.path, difference.change) == ("/rules/new-rule", "added")


def test_concept_maps_export_validates_as_fhir_r4_concept_maps(document: dict[str, Any]) -> None:
    maps = concept_maps(parse(document))
    for resource in maps:
        ConceptMap.model_validate(resource)
    reasons = next(m for m in maps if m["id"] == "reasons-support-need")
    group = reasons["group"][0]
    assert group["target"] == SUPPORT_NEED
    assert {"code": "ARKI", "display": "Arjessa selviytyminen"}.items() <= group["element"][0].items()
    assert group["element"][0]["target"][0]["code"] == "1"
    assert {m["id"] for m in maps} == {
        "reasons-support-need",
        "channels-asiointitapa",
        "channels-encounter-class",
        "service-areas-service-task",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_an_outcome_rebuilt_from_its_planning_facts_plans_as_the_original(path: Path) -> None:
    mappings = load_mappings()
    outcome = _outcome(path)
    rebuilt = outcome_from_facts(json.loads(json.dumps(planning_facts(outcome))))
    assert plan_with(rebuilt, mappings).describe() == plan_with(outcome, mappings).describe()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_planning_facts_hold_no_personal_value_of_the_outcome(path: Path) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    facts = json.dumps(planning_facts(OutcomeV1.model_validate(body)), ensure_ascii=False)
    for value in _personal_values(body):
        assert value not in facts, f"{path.name}: a personal value reached the planning facts"


def _personal_values(body: dict[str, Any]) -> list[str]:
    personal = {
        "hetu", "given_names", "family_name", "birth_date", "phone", "email", "summary", "social_care_summary",
        "health_care_summary", "description", "note", "concern", "purpose", "form_reference", "reporter_name",
        "matter_reference", "organisation",
    }  # fmt: skip
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif key in personal and isinstance(value, str):
            found.append(value)

    walk(body, None)
    return found


def test_a_client_aged_75_on_the_contact_day_keeps_the_shl_36_deadline_when_rebuilt_from_facts() -> None:
    body = json.loads(next(p for p in EXAMPLES if p.name.startswith("03")).read_text(encoding="utf-8"))
    day = OutcomeV1.model_validate(body).contact.received_at.date()
    body["client"]["hetu"] = synthetic_hetu(day.replace(year=day.year - 75))
    body["client"].pop("birth_date", None)
    outcome = OutcomeV1.model_validate(body)
    facts = planning_facts(outcome)
    rebuilt = outcome_from_facts(facts)
    assert facts["client"]["aged_75_or_over"] is True
    mappings = load_mappings()
    deadlines = {d["rule"] for d in plan_with(rebuilt, mappings).describe()["deadlines"]}
    assert "shl-36-needs-assessment" in deadlines
    assert plan_with(rebuilt, mappings).describe() == plan_with(outcome, mappings).describe()


def test_dry_run_shows_a_changed_plan_when_a_reasons_area_changes(document: dict[str, Any]) -> None:
    candidate = copy.deepcopy(document)
    candidate["reasons"]["MIELI"]["area"] = "social_care"
    sample = Sample("both registers", "sample", _outcome(next(p for p in EXAMPLES if p.name.startswith("07"))))
    result = dry_run([sample], parse(document), parse(candidate))
    [described] = result["samples"]
    assert described["changed"] is True
    changed = {a["key"]: a["record_parts_changed"] for a in described["actions"]["changed"]}
    assert changed["kanta:initiation:AIKUISSOSTYO"] == ["reasons"]
    assert result["totals"]["all"] == {"samples": 1, "changed": 1, "unchanged": 0, "refused": 0}


def test_dry_run_reports_an_outcome_the_candidate_would_refuse(document: dict[str, Any]) -> None:
    candidate = copy.deepcopy(document)
    del candidate["reasons"]["TALOUS"]
    sample = Sample("both registers", "sample", _outcome(next(p for p in EXAMPLES if p.name.startswith("07"))))
    [described] = dry_run([sample], parse(document), parse(candidate))["samples"]
    assert described["refused_by_candidate"] and "TALOUS" in described["refused_by_candidate"][0]


def test_dry_run_shows_an_added_deadline_rule_with_its_due_date(document: dict[str, Any]) -> None:
    candidate = copy.deepcopy(document)
    candidate["rules"][0]["working_days"] = 2
    sample = Sample("handover", "sample", _outcome(next(p for p in EXAMPLES if p.name.startswith("05"))))
    [described] = dry_run([sample], parse(document), parse(candidate))["samples"]
    [changed] = described["deadlines"]["changed"]
    assert changed["rule"] == "service-promise" and changed["old"]["due"] < changed["new"]["due"]


def test_a_dry_run_answer_carries_no_payload_or_personal_value(document: dict[str, Any]) -> None:
    candidate = copy.deepcopy(document)
    candidate["reasons"]["MIELI"]["area"] = "social_care"
    samples = [Sample(p.name, "example", _outcome(p)) for p in EXAMPLES]
    text = json.dumps(dry_run(samples, parse(document), parse(candidate)), ensure_ascii=False)
    for path in EXAMPLES:
        for value in _personal_values(json.loads(path.read_text(encoding="utf-8"))):
            assert value not in text
    assert '"payload"' not in text


def test_a_kela_topic_without_its_finnish_name_is_named(document: dict[str, Any]) -> None:
    document["kela"]["topics"]["KELA-ELAKE"]["fi"] = " "
    [problem] = validate_document(document)
    assert problem.location == "/kela/topics/KELA-ELAKE/fi"


def test_a_result_kind_without_its_statistics_ending_is_named(document: dict[str, Any]) -> None:
    del document["statistics"]["ended_how"]["third_sector_referral"]
    [problem] = validate_document(document)
    assert problem.location == "/statistics/ended_how/third_sector_referral"


def test_an_authority_kind_without_a_finnish_display_is_named(document: dict[str, Any]) -> None:
    del document["statistics"]["displays"]["authority_kind"]["police"]
    [problem] = validate_document(document)
    assert problem.location == "/statistics/displays/authority_kind/police"
