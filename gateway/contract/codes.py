"""Local codes of an outcome body checked against the active mapping set.

Runs on the raw JSON body, beside the pydantic validation rather than after it, so that an
outcome with both a bad hetu and an unknown reason code is told about both at once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gateway.mappings import MappingSet

FieldProblem = tuple[str, str]


class _Checker:
    def __init__(self, mappings: MappingSet) -> None:
        self.mappings = mappings
        self.problems: list[FieldProblem] = []

    def check(self, field: str, code: Any, known: Collection[str], what: str) -> None:
        if isinstance(code, str) and code not in known:
            self.problems.append((field, f"unknown {what} code {code!r} in mapping set {self.mappings.version}"))

    def result(self, where: str, result: dict[str, Any]) -> None:
        m = self.mappings
        match result.get("kind"):
            case "social_care_initiation" | "pending_social_care_matter":
                self.check(f"{where}.service_area", result.get("service_area"), m.service_areas, "service area")
                for j, code in _items(result.get("reasons")):
                    self.check(f"{where}.reasons[{j}]", code, m.reasons, "reason")
            case "health_care_handover":
                self.check(f"{where}.receiving", result.get("receiving"), m.health_units, "receiving unit")
            case "direct_health_care_booking":
                self.check(f"{where}.unit", result.get("unit"), m.health_units, "health care unit")
            case "advice_only":
                self.check(f"{where}.topic", result.get("topic"), m.reasons, "reason")


def unknown_codes(body: Any, mappings: MappingSet) -> list[FieldProblem]:
    """Return (field path, message) for every local code the mapping set does not know."""
    if not isinstance(body, dict):
        return []
    checker = _Checker(mappings)
    checker.check("unit", body.get("unit"), mappings.units, "guidance unit")
    reasons = body.get("reasons")
    if isinstance(reasons, dict):
        checker.check("reasons.main", reasons.get("main"), mappings.reasons, "reason")
        for i, code in _items(reasons.get("additional")):
            checker.check(f"reasons.additional[{i}]", code, mappings.reasons, "reason")
    for i, result in _items(body.get("results")):
        if isinstance(result, dict):
            checker.result(f"results[{i}]", result)
    return checker.problems


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []
