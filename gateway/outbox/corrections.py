"""Corrections: what a later revision of an outcome changes, action by action. Pure.

A source system corrects an outcome by posting it again with a higher revision. The new plan is
compared with the latest delivery of each action key:

- unchanged payload → nothing is re-sent (the new revision points at the earlier delivery);
- changed payload, earlier one delivered → a new version: a replacing document (RPLC) in Kanta,
  updated resources in Lifecare;
- changed payload, earlier one never delivered → the earlier one is cancelled and the new one
  takes its place as the same version;
- changed payload, earlier one in flight → the new version waits until that attempt ends;
- an action the new plan no longer has → reported, not deleted: an archived record is corrected
  in the register itself, never silently removed by an integration.

The comparison is by payload digest. That re-versions a record exactly when its content changed
because each payload carries exactly what its record shows, and what a register receives never
depends on the other register's results (``gateway.plan.payloads``): adding a hand-over to a social care
outcome leaves its Kanta documents ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from gateway.outbox.states import NEVER_DELIVERED, Status
from gateway.plan import Action

Change = Literal["new", "changed", "unchanged", "removed"]


@dataclass(frozen=True, slots=True)
class Previous:
    """The latest delivery of one action key in the outcome's earlier revisions."""

    delivery_id: str
    action_key: str
    digest: str
    status: str
    document_version: int
    supersedes: str | None


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    change: Change
    action: Action | None
    supersedes: str | None = None
    document_version: int = 1
    cancel: str | None = None  # an earlier, never-delivered delivery this one replaces
    previous: str | None = None  # the earlier delivery an unchanged or removed action points at


def diff(actions: Iterable[Action], previous: Mapping[str, Previous], digest: Mapping[str, str]) -> list[Step]:
    """Steps for the new revision; ``digest`` maps each new action's key to its payload digest."""
    steps: list[Step] = []
    seen: set[str] = set()
    for action in actions:
        seen.add(action.key)
        before = previous.get(action.key)
        if before is None:
            steps.append(Step(action.key, "new", action))
        elif before.digest == digest[action.key] and before.status not in ("cancelled",):
            steps.append(Step(action.key, "unchanged", None, previous=before.delivery_id))
        elif before.status in NEVER_DELIVERED:
            steps.append(
                Step(
                    action.key,
                    "changed",
                    action,
                    supersedes=before.supersedes,
                    document_version=before.document_version,
                    cancel=before.delivery_id,
                )
            )
        elif before.status == Status.CANCELLED:
            steps.append(
                Step(
                    action.key,
                    "changed",
                    action,
                    supersedes=before.supersedes,
                    document_version=before.document_version,
                )
            )
        else:  # delivered, unchanged (pointing further back) or in flight: a new version on top of it
            steps.append(
                Step(
                    action.key,
                    "changed",
                    action,
                    supersedes=before.delivery_id,
                    document_version=before.document_version + 1,
                )
            )
    for key, before in previous.items():
        if key not in seen:
            steps.append(Step(key, "removed", None, previous=before.delivery_id))
    return steps
