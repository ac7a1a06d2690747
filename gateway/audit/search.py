"""Finding entries of the käyttöloki and luovutusloki: filters, pages stable on id, and batches for export.

Newest first. A page ends at an id, and the next page starts below it: rows appended meanwhile
(each search by hetu adds one to the käyttöloki) never shift or repeat what a reader pages through.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import ColumnElement, RowMapping, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.registry import BACKENDS
from gateway.audit.models import AccessEntry, DisclosureEntry
from gateway.audit.verify import CHAINS
from gateway.store.engine import reading

STAMPS: dict[str, str] = {"access_log": "accessed_at", "disclosures": "disclosed_at"}
EXPORT_BATCH = 1000
_CURSOR_PREFIX = "before:"


@dataclass(frozen=True, slots=True)
class Filters:
    subject_key: str | None = None  # the client's keyed hash, never the hetu
    since: datetime | None = None
    until: datetime | None = None
    who: str | None = None  # the reading API client (käyttöloki) or the recipient back-end (luovutusloki)


def encode_cursor(before_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{before_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a page continues below; ValueError if the cursor is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a cursor of this API") from None
    number = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not number.isdigit() or len(number) > 18:
        raise ValueError("not a cursor of this API")
    return int(number)


def _conditions(chain: str, filters: Filters) -> list[ColumnElement[bool]]:
    table = CHAINS[chain]
    stamp = table.c[STAMPS[chain]]
    found: list[ColumnElement[bool]] = []
    if filters.subject_key is not None:
        found.append(table.c.subject_key == filters.subject_key)
    if filters.since is not None:
        found.append(stamp >= filters.since)
    if filters.until is not None:
        found.append(stamp < filters.until)
    if filters.who is not None:
        if chain == "access_log":
            found.append(or_(table.c.client_name == filters.who, table.c.client_id == filters.who))
        else:
            found.append(table.c.backend == filters.who)
    return found


async def page(
    conn: AsyncConnection, chain: str, filters: Filters, *, before_id: int | None, limit: int
) -> tuple[list[RowMapping], int, str | None]:
    """One page of entries (newest first), the total that match, and the cursor of the next page."""
    table = CHAINS[chain]
    conditions = _conditions(chain, filters)
    total = (await conn.execute(select(func.count()).select_from(table).where(*conditions))).scalar_one()
    query = select(table).where(*conditions).order_by(table.c.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(table.c.id < before_id)
    rows = list((await conn.execute(query)).mappings().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, int(total), encode_cursor(int(rows[-1]["id"])) if more else None


async def batches(
    engine: AsyncEngine, chain: str, filters: Filters, *, before_id: int | None, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[RowMapping]]:
    """Every matching entry (newest first), a batch per short read, so that an export holds no connection long."""
    table = CHAINS[chain]
    conditions = _conditions(chain, filters)
    while True:
        query = select(table).where(*conditions).order_by(table.c.id.desc()).limit(batch)
        if before_id is not None:
            query = query.where(table.c.id < before_id)
        async with reading(engine) as conn:
            rows = list((await conn.execute(query)).mappings().all())
        if rows:
            yield rows
        if len(rows) < batch:
            return
        before_id = int(rows[-1]["id"])


def access_entry(row: RowMapping) -> AccessEntry:
    return AccessEntry(
        id=row["id"],
        accessed_at=row["accessed_at"],
        client=row["client_name"],
        client_id=row["client_id"],
        actor=row["actor"],
        user=row["user"],
        purpose=row["purpose"],
        record_type=row["record_type"],
        record_id=row["record_id"],
        route=row["route"],
    )


_TITLES = MappingProxyType({spec.name: spec.title for spec in BACKENDS})


def recipients() -> list[str]:
    return sorted(_TITLES)


def disclosure_entry(row: RowMapping) -> DisclosureEntry:
    return DisclosureEntry(
        id=row["id"],
        disclosed_at=row["disclosed_at"],
        recipient=row["backend"],
        recipient_title=_TITLES.get(row["backend"], row["backend"]),
        kind=row["kind"],
        legal_basis=row["legal_basis"],
        consent_id=row["consent_id"],
        outcome_id=row["outcome_id"],
        delivery_id=row["delivery_id"],
        actor=row["actor"],
    )
