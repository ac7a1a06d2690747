"""Retention of the käyttöloki and luovutusloki: the oldest rows go, the chains stay verifiable.

A sweep deletes a prefix of each chain (in id order) whose rows are all older than the retention
period, and records in ``audit_anchors`` the hash of the last row it deleted: the first remaining
row links to it, so ``gateway audit verify`` starts there. A prefix rather than "every old row":
a row stamped out of order (clock skew between workers) waits until the rows before it expire,
and the chain never gets a hole.

A sweep checks what it is about to delete. If that part of the chain is broken it deletes nothing
and says so in the log: retention must never destroy the evidence of tampering.
"""

from __future__ import annotations

from contextlib import aclosing
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.chain import chain_lock_key
from gateway.audit.verify import CHAINS, Anchor, Walker, load_anchor, rows_in_order
from gateway.logs import get_logger
from gateway.store.schema import audit_anchors

log = get_logger("gateway.audit")

STAMPS: dict[str, str] = {"access_log": "accessed_at", "disclosures": "disclosed_at"}
"""Each chain's time column: what a row's age is measured by."""
BATCH_ROWS = 5000
"""Rows deleted per transaction: appends wait for a sweep's lock, so a batch stays short."""


async def sweep_audit_logs(
    engine: AsyncEngine, *, retention_days: int, now: datetime, batch: int = BATCH_ROWS
) -> dict[str, int]:
    """Delete rows older than ``retention_days`` from both logs; return how many per chain."""
    cutoff = now - timedelta(days=retention_days)
    removed: dict[str, int] = {}
    for chain in CHAINS:
        removed[chain] = 0
        while True:
            count = await _sweep_batch(engine, chain, cutoff=cutoff, now=now, batch=batch)
            removed[chain] += count
            if count < batch:
                break
    if any(removed.values()):
        log.info("audit logs swept", retention_days=retention_days, **removed)
    return removed


async def _sweep_batch(engine: AsyncEngine, chain: str, *, cutoff: datetime, now: datetime, batch: int) -> int:
    table = CHAINS[chain]
    stamp = STAMPS[chain]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The append lock: no row joins the chain while its start moves (SQLite: BEGIN IMMEDIATE).
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": chain_lock_key(table)})
        anchor = await load_anchor(conn, chain)
        walker = Walker(chain, anchor)
        last: dict[str, Any] | None = None
        async with aclosing(rows_in_order(conn, table, limit=batch)) as rows:
            async for row in rows:
                if row[stamp] >= cutoff:
                    break
                broken = walker.check(row)
                if broken is not None:
                    log.error(
                        "audit chain broken; retention sweep deletes nothing until it is examined",
                        chain=chain,
                        row=broken.row_id,
                        reason=broken.reason,
                    )
                    return 0
                last = dict(row)
        if last is None:
            return 0
        await conn.execute(delete(table).where(table.c.id <= last["id"]))
        await _move_anchor(conn, chain, anchor, last=last, removed=walker.checked, now=now)
        return walker.checked


async def _move_anchor(
    conn: AsyncConnection, chain: str, anchor: Anchor, *, last: dict[str, Any], removed: int, now: datetime
) -> None:
    values = {
        "anchor_hash": last["row_hash"],
        "last_removed_id": int(last["id"]),
        "removed_rows": anchor.removed_rows + removed,
        "swept_at": now,
    }
    changed = await conn.execute(update(audit_anchors).where(audit_anchors.c.chain == chain).values(**values))
    if changed.rowcount == 0:
        await conn.execute(insert(audit_anchors).values(chain=chain, **values))
