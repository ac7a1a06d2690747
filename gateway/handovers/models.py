"""The deadlines API's answers: rule, legal basis, dates, unit and ids, never a personal value."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.handovers.classify import Counts, DeadlineState, Tally
from gateway.handovers.families import family_of

MAX_PAGE = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateCounts(_Model):
    overdue: int = Field(description="Due before today (Finnish time).")
    due_today: int
    upcoming: int
    total: int

    @classmethod
    def of(cls, counts: Counts) -> StateCounts:
        return cls(overdue=counts.overdue, due_today=counts.due_today, upcoming=counts.upcoming, total=counts.total)


class UnitCounts(_Model):
    unit: str
    counts: StateCounts


class FamilyCounts(_Model):
    family: str = Field(description="`shl-36`, `lsl-26`, `thl-51`, `service-promise`, or a rule id of its own.")
    label: str = Field(description="E.g. `SHL 36 §`.")
    legal_basis: str
    counts: StateCounts


class GroupCounts(_Model):
    unit: str
    family: str
    counts: StateCounts


class DeadlineOut(_Model):
    id: int
    outcome_id: str = Field(description="The gateway's outcome id (its current revision).")
    unit: str
    contact_date: date = Field(description="The Finnish calendar day of the contact: the clock starts here.")
    rule_id: str
    family: str
    family_label: str
    legal_basis: str = Field(description="The exact basis of the rule in force on the contact date.")
    description: str = Field(description="What must be done by the due date (the rule's Finnish wording).")
    applies_to: str = Field(
        description="guidance_contact | social_care_initiation | child_welfare_notice | health_care_handover"
    )
    action_key: str | None = Field(description="The planned delivery the deadline belongs to; null: the whole outcome.")
    action_kind: str | None = Field(description="That delivery's kind.")
    due: date
    state: DeadlineState


class DeadlineList(_Model):
    today: date = Field(description="The Finnish calendar day the states are measured against.")
    items: list[DeadlineOut]
    next_cursor: str | None
    total: int = Field(description="Open deadlines matching every filter.")
    counts: StateCounts = Field(description="Matches by state, ignoring the `state` filter.")
    by_unit: list[UnitCounts]
    by_family: list[FamilyCounts]
    by_unit_and_family: list[GroupCounts]

    @classmethod
    def tallied(cls, tally: Tally, **rest: object) -> DeadlineList:
        families = []
        for key, counts in sorted(tally.by_family.items()):
            family = family_of(key)
            families.append(
                FamilyCounts(
                    family=key, label=family.label, legal_basis=family.legal_basis, counts=StateCounts.of(counts)
                )
            )
        return cls.model_validate(
            {
                **rest,
                "counts": StateCounts.of(tally.all),
                "by_unit": [UnitCounts(unit=u, counts=StateCounts.of(c)) for u, c in sorted(tally.by_unit.items())],
                "by_family": families,
                "by_unit_and_family": [
                    GroupCounts(unit=u, family=f, counts=StateCounts.of(c))
                    for (u, f), c in sorted(tally.by_group.items())
                ],
            }
        )


class MetOut(_Model):
    id: int
    outcome_id: str
    rule_id: str
    result: Literal["marked", "already_met"] = Field(
        description="`already_met`: marked before (here or, for the same hand-over, in an earlier revision); "
        "the first mark stands."
    )
    met_at: datetime = Field(
        description="When it was first marked (here, or for the same hand-over in an earlier revision)."
    )
    met_by: str | None = Field(description="Who marked it: the client and its token's name (or the person).")
