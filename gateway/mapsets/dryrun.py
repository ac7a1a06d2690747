"""Dry-run: plan the same outcomes with the active and a candidate set, and say what would change. Pure.

Compared are the plans as the API shows them (rules, actions by key, deadlines) and, for each
action, which parts of its record would differ (the payload's top-level parts, by name only): a
dry-run answer never carries a payload or a personal value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.mapsets.planning import Plan, plan_with, refusals

ACTION_FIELDS = ("backend", "kind", "rule", "legal_basis", "explanation", "consent_required")


@dataclass(frozen=True, slots=True)
class Sample:
    """One outcome to plan twice; ``origin`` says where it came from (sample, example, recent)."""

    name: str
    origin: str
    outcome: OutcomeV1


@dataclass(slots=True)
class SampleResult:
    name: str
    origin: str
    changed: bool = False
    refused_by_candidate: list[str] = field(default_factory=list)
    refused_by_active: list[str] = field(default_factory=list)
    statistics_only: dict[str, bool] = field(default_factory=dict)
    actions: dict[str, list[Any]] = field(default_factory=lambda: {"added": [], "removed": [], "changed": []})
    rules: dict[str, list[str]] = field(default_factory=lambda: {"added": [], "removed": []})
    deadlines: dict[str, list[Any]] = field(default_factory=lambda: {"added": [], "removed": [], "changed": []})

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "changed": self.changed,
            "refused_by_candidate": self.refused_by_candidate,
            "refused_by_active": self.refused_by_active,
            "statistics_only": self.statistics_only,
            "actions": self.actions,
            "rules": self.rules,
            "deadlines": self.deadlines,
        }


def dry_run(samples: list[Sample], active: MappingSet, candidate: MappingSet) -> dict[str, Any]:
    """Per sample, whether and how its plan changes; totals by origin and overall."""
    results = [compare(sample, active, candidate) for sample in samples]
    totals: dict[str, dict[str, int]] = {}
    for result in results:
        for key in ("all", result.origin):
            counts = totals.setdefault(key, {"samples": 0, "changed": 0, "unchanged": 0, "refused": 0})
            counts["samples"] += 1
            if result.refused_by_candidate:
                counts["refused"] += 1
            elif result.changed:
                counts["changed"] += 1
            else:
                counts["unchanged"] += 1
    return {
        "active_version": active.version,
        "candidate_version": candidate.version,
        "totals": totals,
        "samples": [r.as_dict() for r in results],
    }


def compare(sample: Sample, active: MappingSet, candidate: MappingSet) -> SampleResult:
    result = SampleResult(sample.name, sample.origin)
    result.refused_by_active = refusals(sample.outcome, active)
    result.refused_by_candidate = refusals(sample.outcome, candidate)
    if result.refused_by_candidate:
        result.changed = not result.refused_by_active
        return result
    after = plan_with(sample.outcome, candidate)
    before = None if result.refused_by_active else plan_with(sample.outcome, active)
    _compare_plans(result, before, after)
    return result


def _compare_plans(result: SampleResult, before: Plan | None, after: Plan) -> None:
    old = _actions(before) if before else {}
    new = _actions(after)
    for key in new.keys() - old.keys():
        result.actions["added"].append({"key": key, **{f: new[key][f] for f in ("backend", "kind", "rule")}})
    for key in old.keys() - new.keys():
        result.actions["removed"].append({"key": key, **{f: old[key][f] for f in ("backend", "kind", "rule")}})
    for key in sorted(old.keys() & new.keys()):
        fields = {f: {"old": old[key][f], "new": new[key][f]} for f in ACTION_FIELDS if old[key][f] != new[key][f]}
        parts = _changed_parts(old[key]["payload"], new[key]["payload"])
        if fields or parts:
            result.actions["changed"].append({"key": key, "fields": fields, "record_parts_changed": parts})
    result.actions["added"].sort(key=lambda a: str(a["key"]))
    result.actions["removed"].sort(key=lambda a: str(a["key"]))
    old_rules = {r["rule"] for r in before.describe()["rules"]} if before else set()
    new_rules = {r["rule"] for r in after.describe()["rules"]}
    result.rules = {"added": sorted(new_rules - old_rules), "removed": sorted(old_rules - new_rules)}
    old_due = _deadlines(before) if before else {}
    new_due = _deadlines(after)
    result.deadlines = {
        "added": [new_due[k] for k in sorted(new_due.keys() - old_due.keys())],
        "removed": [old_due[k] for k in sorted(old_due.keys() - new_due.keys())],
        "changed": [
            {"rule": k[0], "action_key": k[1] or None, "old": old_due[k], "new": new_due[k]}
            for k in sorted(old_due.keys() & new_due.keys())
            if old_due[k] != new_due[k]
        ],
    }
    result.statistics_only = {"active": before.statistics_only if before else False, "candidate": after.statistics_only}
    result.changed = before is None or any(
        [*result.actions.values(), *result.rules.values(), *result.deadlines.values()]
    )


def _actions(plan: Plan) -> dict[str, dict[str, Any]]:
    described = {a["key"]: a for a in plan.describe()["actions"]}
    return {a.key: {**described[a.key], "payload": a.payload} for a in plan.actions}


def _deadlines(plan: Plan) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["rule"], d["action_key"] or ""): d for d in plan.describe()["deadlines"]}


def _changed_parts(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The top-level parts of a record that differ, by name: never their content."""
    return sorted(k for k in old.keys() | new.keys() if _digest(old.get(k)) != _digest(new.get(k)))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
