"""Checking the käyttöloki and luovutusloki chains: every row's hash, every link, from the anchor on.

Each chain is walked in id order (the order ``chain.append`` wrote it). A row is broken when

- it has no hash (it was written around the chain),
- its ``prev_hash`` is not the previous row's ``row_hash`` (a row before it was deleted or
  inserted, or the previous row was re-hashed after an edit),
- its fields do not hash to its ``row_hash`` (it was edited, or inserted with a forged hash), or
- its id is at or below the chain's retention anchor (a row put back where a sweep had deleted).

The first row must link to the anchor: ``GENESIS`` until a retention sweep has deleted rows, then
the hash of the last row deleted (``audit_anchors``). A chain proves that nothing inside it was
changed; deleting rows from its end is only seen by comparing the head hash with one noted
earlier, so the report gives the head.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.chain import GENESIS, row_hash
from gateway.store.engine import READ_ONLY
from gateway.store.schema import access_log, audit_anchors, disclosures

CHAINS: dict[str, Table] = {"access_log": access_log, "disclosures": disclosures}
"""The chained tables by name; the name is also the chain's key in ``audit_anchors``."""

_NOT_HASHED = frozenset({"id", "prev_hash", "row_hash"})
BATCH_ROWS = 2000


def hashed_fields(table: Table) -> tuple[str, ...]:
    """The columns a row's hash covers: all but its id and the two hashes."""
    return tuple(column.name for column in table.c if column.name not in _NOT_HASHED)


@dataclass(frozen=True, slots=True)
class Break:
    """The first row at which a chain fails: which chain, which row, why (never the row's content)."""

    chain: str
    row_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a chain starts: the hash the first row must link to, and the last id a sweep deleted."""

    anchor_hash: str = GENESIS
    last_removed_id: int = 0
    removed_rows: int = 0


@dataclass(frozen=True, slots=True)
class ChainReport:
    chain: str
    rows_checked: int
    head: str  # the last good row's hash (or the anchor): note it to detect a truncated end later
    anchor: Anchor
    broken: Break | None


class Walker:
    """Follows one chain row by row; :meth:`check` answers the first problem of a row, if any."""

    def __init__(self, chain: str, anchor: Anchor) -> None:
        self.chain = chain
        self.fields = hashed_fields(CHAINS[chain])
        self.expected_prev = anchor.anchor_hash
        self.floor = anchor.last_removed_id
        self.checked = 0

    def check(self, row: RowMapping) -> Break | None:
        row_id = int(row["id"])
        if row_id <= self.floor:
            return Break(self.chain, row_id, "the row is at or below the retention anchor (put back after a sweep)")
        if row["row_hash"] is None or row["prev_hash"] is None:
            return Break(self.chain, row_id, "the row has no hash (written outside the chain)")
        if row["prev_hash"] != self.expected_prev:
            return Break(
                self.chain,
                row_id,
                "the row does not link to the row before it (a row before it was deleted, inserted or re-hashed)",
            )
        if row_hash(row["prev_hash"], {name: row[name] for name in self.fields}) != row["row_hash"]:
            return Break(self.chain, row_id, "the row's fields do not match its hash (altered, or a forged hash)")
        self.expected_prev = row["row_hash"]
        self.checked += 1
        return None


async def load_anchor(conn: AsyncConnection, chain: str) -> Anchor:
    found = (await conn.execute(select(audit_anchors).where(audit_anchors.c.chain == chain))).first()
    if found is None:
        return Anchor()
    return Anchor(found.anchor_hash, int(found.last_removed_id), int(found.removed_rows))


async def rows_in_order(
    conn: AsyncConnection, table: Table, *, batch: int = BATCH_ROWS, limit: int | None = None
) -> AsyncGenerator[RowMapping, None]:
    """The table's rows by id, read in batches (keyset on id) so that a large log never sits in memory."""
    after: int | None = None
    seen = 0
    while limit is None or seen < limit:
        size = batch if limit is None else min(batch, limit - seen)
        query = select(table).order_by(table.c.id).limit(size)
        if after is not None:
            query = query.where(table.c.id > after)
        rows = (await conn.execute(query)).mappings().all()
        for row in rows:
            yield row
        if len(rows) < size:
            return
        after = int(rows[-1]["id"])
        seen += len(rows)


async def verify_chain(conn: AsyncConnection, chain: str, *, batch: int = BATCH_ROWS) -> ChainReport:
    """Walk one chain from its anchor to its end; stop at the first broken row."""
    anchor = await load_anchor(conn, chain)
    walker = Walker(chain, anchor)
    async for row in rows_in_order(conn, CHAINS[chain], batch=batch):
        broken = walker.check(row)
        if broken is not None:
            return ChainReport(chain, walker.checked, walker.expected_prev, anchor, broken)
    return ChainReport(chain, walker.checked, walker.expected_prev, anchor, None)


async def verify_all(engine: AsyncEngine, *, batch: int = BATCH_ROWS) -> list[ChainReport]:
    """Both chains, each read from one snapshot, so that appends and sweeps meanwhile cannot confuse the walk."""
    reports = []
    for chain in CHAINS:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                await conn.execution_options(**{READ_ONLY: True})  # a deferred (snapshot) transaction
            async with conn.begin():
                reports.append(await verify_chain(conn, chain, batch=batch))
    return reports
