"""The plan: what an outcome must become, and why. Produced by ``routing.plan_outcome``.

Plain frozen dataclasses: the plan is built by a pure function and only serialised at the edges
(the API answer shows it without payloads; the store keeps the payloads in the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

Backend = Literal["lifecare", "kanta", "kela"]
BACKENDS: tuple[Backend, ...] = ("lifecare", "kanta", "kela")


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One register rule that matched the outcome, with the law or guidance behind it."""

    rule: str
    legal_basis: str
    explanation: str


@dataclass(frozen=True, slots=True)
class ConsentNeed:
    """A delivery that may only go out under a valid consent naming ``party`` for ``categories``."""

    party: str
    categories: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Action:
    """One delivery to one back-end. ``key`` is stable across revisions of the same outcome."""

    key: str
    backend: Backend
    kind: str
    rule: str
    legal_basis: str
    explanation: str
    payload: dict[str, Any] = field(repr=False)
    consent: ConsentNeed | None = None


@dataclass(frozen=True, slots=True)
class PlannedDeadline:
    rule_id: str
    applies_to: str
    due: date
    description: str
    legal_basis: str
    action_key: str | None


@dataclass(frozen=True, slots=True)
class StatisticsEvent:
    """The anonymous statistics of one outcome: no hetu, name, phone, free text or birth date."""

    contact_date: date
    unit: str
    main_reason: str
    additional_reasons: tuple[str, ...]
    contacted_by: str
    authority_kind: str | None
    channel: str
    ended_how: tuple[str, ...]
    duration_minutes: int
    led_to_client_relationship: bool
    anonymous: bool


@dataclass(frozen=True, slots=True)
class Plan:
    rules: tuple[RuleHit, ...]
    actions: tuple[Action, ...]
    deadlines: tuple[PlannedDeadline, ...]
    statistics: StatisticsEvent
    mapping_version: str

    @property
    def statistics_only(self) -> bool:
        return not self.actions

    def describe(self) -> dict[str, Any]:
        """The plan as the API shows it: rules, actions and deadlines, never a payload."""
        return {
            "mapping_version": self.mapping_version,
            "statistics_only": self.statistics_only,
            "rules": [{"rule": r.rule, "legal_basis": r.legal_basis, "explanation": r.explanation} for r in self.rules],
            "actions": [
                {
                    "key": a.key,
                    "backend": a.backend,
                    "kind": a.kind,
                    "rule": a.rule,
                    "legal_basis": a.legal_basis,
                    "explanation": a.explanation,
                    "consent_required": (
                        {"party": a.consent.party, "categories": list(a.consent.categories), "reason": a.consent.reason}
                        if a.consent
                        else None
                    ),
                }
                for a in self.actions
            ],
            "deadlines": [
                {
                    "rule": d.rule_id,
                    "applies_to": d.applies_to,
                    "due": d.due.isoformat(),
                    "description": d.description,
                    "legal_basis": d.legal_basis,
                    "action_key": d.action_key,
                }
                for d in self.deadlines
            ],
        }
