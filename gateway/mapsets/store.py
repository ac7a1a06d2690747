"""Mapping versions in the database: add, get, list, activate, roll back, history, and the first load.

Keyword-only functions on a connection whose transaction the caller owns, except
:func:`ensure_initial`, which makes its own. Activation swaps the one row of ``mapping_active`` and
records the change in the same transaction: who, what, when, and the version it replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.mapsets.document import label_of
from gateway.store.schema import mapping_active, mapping_changes, mapping_versions

SLOT = "active"


class UnknownVersion(LookupError):
    def __init__(self, number: int) -> None:
        super().__init__(f"mapping version {number} does not exist")
        self.number = number


class StaleActivation(RuntimeError):
    """The active version is not the one the caller saw: someone else changed it meanwhile."""

    def __init__(self, expected: int | None, current: int | None) -> None:
        super().__init__(f"the active mapping version is {current}, not {expected}")
        self.expected = expected
        self.current = current


class NothingToRollBack(RuntimeError):
    def __init__(self, current: int | None) -> None:
        super().__init__(f"mapping version {current} was not activated over another one: nothing to roll back to")
        self.current = current


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    label: str
    created_at: datetime
    created_by: str
    comment: str | None

    def as_dict(self, active: int | None) -> dict[str, Any]:
        return {
            "number": self.number,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "comment": self.comment,
            "active": self.number == active,
        }


@dataclass(frozen=True, slots=True)
class Change:
    id: int
    changed_at: datetime
    actor: str
    action: str
    number: int
    previous_number: int | None
    comment: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "changed_at": self.changed_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "number": self.number,
            "previous_number": self.previous_number,
            "comment": self.comment,
        }


_VERSION_COLUMNS = (
    mapping_versions.c.number,
    mapping_versions.c.label,
    mapping_versions.c.created_at,
    mapping_versions.c.created_by,
    mapping_versions.c.comment,
)


async def add_version(
    conn: AsyncConnection, *, document: Mapping[str, Any], actor: str, now: datetime, comment: str | None = None
) -> tuple[int, bool]:
    """Store a validated document; (its number, True) — or (the existing number, False) for known content."""
    label = label_of(document)
    existing = await _number_of(conn, label)
    if existing is not None:
        return existing, False
    try:
        async with conn.begin_nested():
            number: int = (
                await conn.execute(
                    insert(mapping_versions)
                    .values(label=label, content=dict(document), created_at=now, created_by=actor, comment=comment)
                    .returning(mapping_versions.c.number)
                )
            ).scalar_one()
    except IntegrityError:
        # The same content uploaded at the same moment by someone else: theirs is the version.
        found = await _number_of(conn, label)
        if found is None:
            raise
        return found, False
    await _record(conn, now=now, actor=actor, action="uploaded", number=number, previous=None, comment=comment)
    return number, True


async def _number_of(conn: AsyncConnection, label: str) -> int | None:
    found = (await conn.execute(select(mapping_versions.c.number).where(mapping_versions.c.label == label))).scalar()
    return None if found is None else int(found)


async def get_version(conn: AsyncConnection, number: int) -> tuple[Version, dict[str, Any]] | None:
    row = (
        await conn.execute(
            select(*_VERSION_COLUMNS, mapping_versions.c.content).where(mapping_versions.c.number == number)
        )
    ).first()
    if row is None:
        return None
    return _version(row), dict(row.content)


async def list_versions(conn: AsyncConnection) -> list[Version]:
    rows = await conn.execute(select(*_VERSION_COLUMNS).order_by(mapping_versions.c.number.desc()))
    return [_version(r) for r in rows]


async def active_number(conn: AsyncConnection) -> int | None:
    """The active version's number: one primary-key read, cheap enough to poll every few seconds."""
    found = (await conn.execute(select(mapping_active.c.number).where(mapping_active.c.slot == SLOT))).scalar()
    return None if found is None else int(found)


async def activate(
    conn: AsyncConnection,
    *,
    number: int,
    actor: str,
    now: datetime,
    comment: str | None = None,
    expected_current: int | None = None,
    action: str = "activated",
) -> int | None:
    """Make ``number`` the active version; returns the one it replaced (itself if it was already active).

    With ``expected_current``, refuses (:class:`StaleActivation`) when the active version is another:
    an admin who looked at a diff against version 3 does not activate over a version 4 unseen.
    """
    current = await _locked_current(conn)
    if expected_current is not None and expected_current != current:
        raise StaleActivation(expected_current, current)
    if (
        await conn.execute(select(mapping_versions.c.number).where(mapping_versions.c.number == number))
    ).first() is None:
        raise UnknownVersion(number)
    if current == number:
        return current  # already active: nothing changes, nothing to record
    if current is None:
        await conn.execute(insert(mapping_active).values(slot=SLOT, number=number, activated_at=now))
    else:
        await conn.execute(
            update(mapping_active).where(mapping_active.c.slot == SLOT).values(number=number, activated_at=now)
        )
    await _record(conn, now=now, actor=actor, action=action, number=number, previous=current, comment=comment)
    return current


async def rollback(
    conn: AsyncConnection, *, actor: str, now: datetime, comment: str | None = None, expected_current: int | None = None
) -> tuple[int, int]:
    """Go back to the version that was active before the current one was activated: (now active, replaced)."""
    current = await _locked_current(conn)
    if expected_current is not None and expected_current != current:
        raise StaleActivation(expected_current, current)
    previous = (
        await conn.execute(
            select(mapping_changes.c.previous_number)
            .where(
                mapping_changes.c.action == "activated",
                mapping_changes.c.number == current,
                mapping_changes.c.previous_number.is_not(None),
            )
            .order_by(mapping_changes.c.id.desc())
            .limit(1)
        )
    ).scalar()
    if previous is None or current is None:
        raise NothingToRollBack(current)
    await activate(conn, number=int(previous), actor=actor, now=now, comment=comment, action="rolled_back")
    return int(previous), current


async def history(conn: AsyncConnection, *, limit: int = 200) -> list[Change]:
    rows = await conn.execute(select(mapping_changes).order_by(mapping_changes.c.id.desc()).limit(limit))
    return [Change(r.id, r.changed_at, r.actor, r.action, r.number, r.previous_number, r.comment) for r in rows]


async def ensure_initial(engine: AsyncEngine, *, document: Mapping[str, Any], actor: str, now: datetime) -> bool:
    """On first start, store ``document`` as version 1, activate it and record 'loaded'. True if this call did.

    Safe when several processes start at once: the unique label and the one ``mapping_active`` row
    let exactly one transaction commit; the others find the versions there and do nothing.
    """
    async with engine.connect() as conn:
        if (await conn.execute(select(func.count()).select_from(mapping_versions))).scalar_one():
            return False
    try:
        async with engine.begin() as conn:
            if (await conn.execute(select(func.count()).select_from(mapping_versions))).scalar_one():
                return False
            label = label_of(document)
            number: int = (
                await conn.execute(
                    insert(mapping_versions)
                    .values(
                        label=label,
                        content=dict(document),
                        created_at=now,
                        created_by=actor,
                        comment="loaded from the mapping folder",
                    )
                    .returning(mapping_versions.c.number)
                )
            ).scalar_one()
            await conn.execute(insert(mapping_active).values(slot=SLOT, number=number, activated_at=now))
            await _record(conn, now=now, actor=actor, action="loaded", number=number, previous=None, comment=None)
    except IntegrityError:
        return False
    return True


async def _locked_current(conn: AsyncConnection) -> int | None:
    query = select(mapping_active.c.number).where(mapping_active.c.slot == SLOT)
    if conn.dialect.name == "postgresql":
        # Two activations at once: the second waits here and then sees the first's result.
        query = query.with_for_update()
    found = (await conn.execute(query)).scalar()
    return None if found is None else int(found)


async def _record(
    conn: AsyncConnection,
    *,
    now: datetime,
    actor: str,
    action: str,
    number: int,
    previous: int | None,
    comment: str | None,
) -> None:
    await conn.execute(
        insert(mapping_changes).values(
            changed_at=now, actor=actor[:128], action=action, number=number, previous_number=previous, comment=comment
        )
    )


def _version(row: Any) -> Version:
    return Version(row.number, row.label, row.created_at, row.created_by, row.comment)
