"""Corrections: what a higher revision re-sends, replaces, cancels or leaves alone."""

from __future__ import annotations

import copy
from typing import Any

from adapters.kanta.content import build_content
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.fingerprints import Fingerprinter
from gateway.mappings import MappingSet
from gateway.outbox.corrections import Previous, Step, diff
from gateway.plan import Action, Plan
from gateway.plan.rules import plan_outcome
from tests.support.harness import example


def action(key: str) -> Action:
    return Action(key, "kanta", "social_care_document", "rule", "basis", "why", {"k": key})


def previous(
    key: str, *, digest: str = "old", status: str = "delivered", version: int = 1, supersedes: str | None = None
) -> Previous:
    return Previous(f"d-{key}", key, digest, status, version, supersedes)


def test_an_unchanged_action_is_not_re_sent() -> None:
    [step] = diff([action("a")], {"a": previous("a", digest="same")}, {"a": "same"})
    assert step.change == "unchanged" and step.action is None and step.previous == "d-a"


def test_a_changed_delivered_action_becomes_the_next_version() -> None:
    [step] = diff([action("a")], {"a": previous("a", version=2)}, {"a": "new"})
    assert (step.change, step.supersedes, step.document_version) == ("changed", "d-a", 3)


def test_a_changed_action_never_delivered_replaces_it_as_the_same_version() -> None:
    [step] = diff([action("a")], {"a": previous("a", status="held", version=2, supersedes="d-root")}, {"a": "new"})
    assert (step.cancel, step.supersedes, step.document_version) == ("d-a", "d-root", 2)


def test_a_changed_action_in_flight_waits_for_it_as_the_next_version() -> None:
    [step] = diff([action("a")], {"a": previous("a", status="in_flight")}, {"a": "new"})
    assert (step.supersedes, step.document_version, step.cancel) == ("d-a", 2, None)


def test_a_new_action_is_sent_as_a_first_version() -> None:
    [step] = diff([action("b")], {}, {"b": "x"})
    assert (step.change, step.document_version, step.supersedes) == ("new", 1, None)


def test_an_action_the_correction_drops_is_reported_not_deleted() -> None:
    steps = diff([], {"a": previous("a")}, {})
    assert [(s.change, s.previous) for s in steps] == [("removed", "d-a")]


# -- a correction through the planner: what changed is what a record shows, nothing else ------------------

FINGERPRINTS = Fingerprinter(b"corrections-test")


def delivered(plan: Plan) -> dict[str, Previous]:
    """Every action of ``plan`` as delivered once (what a correction is compared with)."""
    return {
        a.key: Previous(f"d-{a.key}", a.key, FINGERPRINTS.of(a.payload), "delivered", 1, None) for a in plan.actions
    }


def correct(first: dict[str, Any], second: dict[str, Any], mappings: MappingSet) -> tuple[Plan, dict[str, Step]]:
    """Plan both revisions and diff the second against the first, delivered."""
    before = plan_outcome(OutcomeV1.model_validate(first), mappings)
    after = plan_outcome(OutcomeV1.model_validate(second), mappings)
    steps = diff(after.actions, delivered(before), {a.key: FINGERPRINTS.of(a.payload) for a in after.actions})
    return after, {s.key: s for s in steps}


def social_care_initiation() -> dict[str, Any]:
    """Revision 1: a social care initiation only, with a generic summary (example 03)."""
    return example("03")


def with_a_handover(body: dict[str, Any]) -> dict[str, Any]:
    """Revision 2: the same, plus a hand-over to health care."""
    second = copy.deepcopy(body)
    second["source"]["revision"] = 2
    second["results"].append(
        {"kind": "health_care_handover", "receiving": "hta", "urgency": "non_urgent", "note": "Kaatuillut kotona."}
    )
    return second


def test_adding_a_handover_leaves_the_social_care_documents_unchanged(mappings: MappingSet) -> None:
    first = social_care_initiation()
    _, steps = correct(first, with_a_handover(first), mappings)
    assert {key: step.change for key, step in steps.items()} == {
        "kanta:initiation:IKAANTYNEET": "unchanged",
        "kanta:guidance-record:IKAANTYNEET": "unchanged",
        "lifecare:patient-record": "new",
    }


def test_the_guidance_record_keeps_its_description_when_a_handover_is_added(mappings: MappingSet) -> None:
    first = social_care_initiation()
    after, _ = correct(first, with_a_handover(first), mappings)
    record = next(a for a in after.actions if a.key == "kanta:guidance-record:IKAANTYNEET")
    assert record.payload["guidance"]["summary"] == first["guidance"]["summary"]
    content = build_content(record.payload, mappings).data
    description = content["merkinta_ohjauksesta_ja_neuvonnasta"]["asiakaskertomusmerkinta"]["tapahtuma"]["kuvaus"]
    assert first["guidance"]["summary"] in description


def test_removing_the_handover_again_leaves_the_social_care_documents_unchanged(mappings: MappingSet) -> None:
    first = with_a_handover(social_care_initiation())
    second = social_care_initiation()
    second["source"]["revision"] = 3
    _, steps = correct(first, second, mappings)
    assert {key: step.change for key, step in steps.items()} == {
        "kanta:initiation:IKAANTYNEET": "unchanged",
        "kanta:guidance-record:IKAANTYNEET": "unchanged",
        "lifecare:patient-record": "removed",
    }


def test_a_changed_summary_re_versions_only_the_documents_that_show_it(mappings: MappingSet) -> None:
    first = social_care_initiation()
    second = copy.deepcopy(first)
    second["source"]["revision"] = 2
    second["guidance"]["social_care_summary"] = "Omainen uupunut; kotihoidon tarve arvioitava."
    _, steps = correct(first, second, mappings)
    assert {key: step.change for key, step in steps.items()} == {
        "kanta:initiation:IKAANTYNEET": "unchanged",
        "kanta:guidance-record:IKAANTYNEET": "changed",
    }
    assert steps["kanta:guidance-record:IKAANTYNEET"].document_version == 2
