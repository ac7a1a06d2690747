"""The read side of the deadlines view: open deadlines by filter, paged, and counted by state.

A deadline is **open** when nobody has marked it met (in this revision of its outcome or, for the
same rule and hand-over, in an earlier one: a correction does not undo a supervisor's mark), its
outcome's revision is the current one (a correction's older revisions are history), the outcome
is not withdrawn (not every delivery of it cancelled), and, for the deadline of one hand-over, the
delivery of that hand-over is not cancelled. An ``unchanged`` delivery of a correction counts as
the delivery it points at.

Nothing here reads a payload or a free text: rule, legal basis, dates, unit and ids only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.handovers.classify import DeadlineState, NotOpen, Tally, due_bounds, not_open_because, tally
from gateway.handovers.families import family_of, rules_of
from gateway.outbox.states import Status
from gateway.store.schema import deadlines, deliveries, outcomes

_newer = outcomes.alias("newer_revision")
_action = deliveries.alias("action_delivery")
_pointed = deliveries.alias("pointed_delivery")
_any = deliveries.alias("any_delivery")
_any_pointed = deliveries.alias("any_pointed_delivery")
_earlier = deadlines.alias("earlier_deadline")
_earlier_outcome = outcomes.alias("earlier_outcome")


def _effective(row: Any, pointed: Any) -> ColumnElement[Any]:
    """A delivery's status, an ``unchanged`` one counting as the delivery it points at (one link: see enqueue)."""
    return case(
        (row.c.status == Status.UNCHANGED.value, func.coalesce(pointed.c.status, row.c.status)), else_=row.c.status
    )


def _current() -> ColumnElement[bool]:
    return ~exists(select(_newer.c.id).where(_newer.c.supersedes == outcomes.c.id))


def _withdrawn() -> ColumnElement[bool]:
    """Every delivery of the outcome cancelled (and it has some)."""
    joined = _any.outerjoin(_any_pointed, _any_pointed.c.id == _any.c.supersedes)
    return and_(
        exists(select(_any.c.id).where(_any.c.outcome_id == outcomes.c.id)),
        ~exists(
            select(_any.c.id)
            .select_from(joined)
            .where(_any.c.outcome_id == outcomes.c.id, _effective(_any, _any_pointed) != Status.CANCELLED.value)
        ),
    )


def _delivery_cancelled() -> ColumnElement[bool]:
    return and_(_action.c.id.is_not(None), _effective(_action, _pointed) == Status.CANCELLED.value)


def _met() -> ColumnElement[bool]:
    """Marked met here, or the same rule of the same hand-over in any revision of the outcome."""
    return exists(
        select(_earlier.c.id)
        .select_from(_earlier.join(_earlier_outcome, _earlier_outcome.c.id == _earlier.c.outcome_id))
        .where(
            _earlier_outcome.c.source_system == outcomes.c.source_system,
            _earlier_outcome.c.source_outcome_id == outcomes.c.source_outcome_id,
            _earlier.c.rule_id == deadlines.c.rule_id,
            _earlier.c.action_key.is_not_distinct_from(deadlines.c.action_key),
            _earlier.c.met_at.is_not(None),
        )
    )


def _joined(query: Select[Any]) -> Select[Any]:
    return query.select_from(
        deadlines.join(outcomes, outcomes.c.id == deadlines.c.outcome_id)
        .outerjoin(
            _action,
            and_(_action.c.outcome_id == deadlines.c.outcome_id, _action.c.action_key == deadlines.c.action_key),
        )
        .outerjoin(_pointed, _pointed.c.id == _action.c.supersedes)
    )


def _visible(systems: frozenset[str] | None) -> list[ColumnElement[bool]]:
    """``systems``: the source systems whose outcomes the caller reads; None = every client's."""
    return [] if systems is None else [outcomes.c.source_system.in_(sorted(systems))]


def _open() -> list[ColumnElement[bool]]:
    return [~_met(), _current(), ~_withdrawn(), ~_delivery_cancelled()]


@dataclass(frozen=True, slots=True)
class DeadlineFilter:
    unit: str | None = None
    family: str | None = None
    state: DeadlineState | None = None
    due_from: date | None = None
    due_to: date | None = None


@dataclass(frozen=True)
class DeadlinePage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int  # the filter's matches, state included
    tally: Tally  # the filter's matches by state, the state filter left out


class BadCursor(ValueError):
    """A cursor this module did not hand out."""


def _encode(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[date, int]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return date.fromisoformat(parts[0]), int(parts[1])
    except (ValueError, TypeError, IndexError, KeyError):
        raise BadCursor("not a cursor this API gave") from None


async def _rule_ids(conn: AsyncConnection, where: Sequence[ColumnElement[bool]]) -> list[str]:
    found = await conn.execute(_joined(select(deadlines.c.rule_id).distinct()).where(*where))
    return sorted(found.scalars())


async def _conditions(
    conn: AsyncConnection, f: DeadlineFilter, systems: frozenset[str] | None
) -> list[ColumnElement[bool]]:
    """Every condition of the filter but its state."""
    where = [*_open(), *_visible(systems)]
    if f.unit is not None:
        where.append(outcomes.c.unit == f.unit)
    if f.due_from is not None:
        where.append(deadlines.c.due >= f.due_from)
    if f.due_to is not None:
        where.append(deadlines.c.due <= f.due_to)
    if f.family is not None:
        # The family is derived from the rule id in Python (one place); SQL gets the rules it covers.
        members = rules_of(f.family, await _rule_ids(conn, where))
        where.append(deadlines.c.rule_id.in_(members) if members else false())
    return where


def _state_conditions(state: DeadlineState | None, today: date) -> list[ColumnElement[bool]]:
    if state is None:
        return []
    first, last = due_bounds(state, today)
    return [
        *([deadlines.c.due >= first] if first is not None else []),
        *([deadlines.c.due <= last] if last is not None else []),
    ]


def _item(row: Any) -> dict[str, Any]:
    family = family_of(row.rule_id)
    return {
        "id": row.id,
        "outcome_id": row.outcome_id,
        "unit": row.unit,
        "contact_date": row.contact_date,
        "rule_id": row.rule_id,
        "family": family.key,
        "family_label": family.label,
        "legal_basis": row.legal_basis,
        "description": row.description,
        "applies_to": row.applies_to,
        "action_key": row.action_key,
        "action_kind": row.action_kind,
        "due": row.due,
    }


_LISTED = (
    deadlines.c.id,
    deadlines.c.outcome_id,
    deadlines.c.rule_id,
    deadlines.c.applies_to,
    deadlines.c.due,
    deadlines.c.description,
    deadlines.c.legal_basis,
    deadlines.c.action_key,
    outcomes.c.unit,
    outcomes.c.contact_date,
    _action.c.kind.label("action_kind"),
)


async def open_deadlines(
    conn: AsyncConnection,
    f: DeadlineFilter,
    *,
    today: date,
    systems: frozenset[str] | None,
    cursor: str | None,
    limit: int,
) -> DeadlinePage:
    """A page of open deadlines, soonest due first (the most overdue at the head), and their counts."""
    where = await _conditions(conn, f, systems)
    grouped = await conn.execute(
        _joined(select(outcomes.c.unit, deadlines.c.rule_id, deadlines.c.due, func.count()))
        .where(*where)
        .group_by(outcomes.c.unit, deadlines.c.rule_id, deadlines.c.due)
    )
    rows = [(unit, rule_id, due, int(n)) for unit, rule_id, due, n in grouped]
    counted = tally(rows, today, {rule_id: family_of(rule_id).key for _, rule_id, _, _ in rows})
    where = [*where, *_state_conditions(f.state, today)]
    total = (await conn.execute(_joined(select(func.count())).where(*where))).scalar_one()
    page = _joined(select(*_LISTED)).where(*where)
    if cursor is not None:
        after_due, after_id = _decode(cursor)
        page = page.where(
            or_(deadlines.c.due > after_due, and_(deadlines.c.due == after_due, deadlines.c.id > after_id))
        )
    found = (await conn.execute(page.order_by(deadlines.c.due, deadlines.c.id).limit(limit + 1))).all()
    more = len(found) > limit
    found = found[:limit]
    next_cursor = _encode(found[-1].due.isoformat(), found[-1].id) if more else None
    return DeadlinePage([_item(r) for r in found], next_cursor, int(total), counted)


@dataclass(frozen=True, slots=True)
class Standing:
    """One deadline as a mark sees it: its first mark, and why it is not open if it is not."""

    id: int
    outcome_id: str
    rule_id: str
    # The first mark of this rule for this hand-over, here or in an earlier revision of the outcome.
    met_at: datetime | None
    met_by: str | None
    not_open: NotOpen | None


def _first_mark(deadline_id: int) -> Select[Any]:
    """The earliest mark of the same rule for the same hand-over in any revision of the deadline's outcome."""
    mine = deadlines.alias("marked_deadline")
    mine_outcome = outcomes.alias("marked_outcome")
    same = exists(
        select(mine.c.id)
        .select_from(mine.join(mine_outcome, mine_outcome.c.id == mine.c.outcome_id))
        .where(
            mine.c.id == deadline_id,
            mine_outcome.c.source_system == outcomes.c.source_system,
            mine_outcome.c.source_outcome_id == outcomes.c.source_outcome_id,
            mine.c.rule_id == deadlines.c.rule_id,
            mine.c.action_key.is_not_distinct_from(deadlines.c.action_key),
        )
    )
    return (
        select(deadlines.c.met_at, deadlines.c.met_by)
        .select_from(deadlines.join(outcomes, outcomes.c.id == deadlines.c.outcome_id))
        .where(same, deadlines.c.met_at.is_not(None))
        .order_by(deadlines.c.met_at, deadlines.c.id)
        .limit(1)
    )


async def standing(conn: AsyncConnection, deadline_id: int, *, systems: frozenset[str] | None) -> Standing | None:
    """One deadline the caller may see, or None."""
    row = (
        await conn.execute(
            _joined(
                select(
                    deadlines.c.id,
                    deadlines.c.outcome_id,
                    deadlines.c.rule_id,
                    _current().label("current"),
                    _withdrawn().label("withdrawn"),
                    _delivery_cancelled().label("delivery_cancelled"),
                )
            ).where(deadlines.c.id == deadline_id, *_visible(systems))
        )
    ).one_or_none()
    if row is None:
        return None
    mark = (await conn.execute(_first_mark(deadline_id))).one_or_none()
    return Standing(
        id=row.id,
        outcome_id=row.outcome_id,
        rule_id=row.rule_id,
        met_at=mark.met_at if mark is not None else None,
        met_by=mark.met_by if mark is not None else None,
        not_open=not_open_because(
            current=bool(row.current), withdrawn=bool(row.withdrawn), delivery_cancelled=bool(row.delivery_cancelled)
        ),
    )


async def open_deadline(
    conn: AsyncConnection, deadline_id: int, *, systems: frozenset[str] | None
) -> dict[str, Any] | None:
    """One open deadline the caller may see, as the list shows it; None if it is not open or not theirs."""
    row = (
        await conn.execute(_joined(select(*_LISTED)).where(deadlines.c.id == deadline_id, *_open(), *_visible(systems)))
    ).one_or_none()
    return None if row is None else _item(row)
