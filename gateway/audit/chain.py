"""Tamper evidence for the audit tables: every row's hash covers its fields and the row before.

Altering, deleting or inserting a row in the middle breaks every later hash, which ``gateway
audit verify`` finds. Written by hand because the chain is a few lines over ``hashlib``; what
matters is that the canonical form of a row is stable across SQLite and PostgreSQL round trips.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

GENESIS = "0" * 64


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of one row: SHA-256 over the previous hash and the row's fields in canonical JSON."""
    body = json.dumps({k: _canonical(v) for k, v in fields.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def chain_lock_key(table: Table) -> int:
    digest = hashlib.sha256(f"audit-chain\x00{table.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def append(conn: AsyncConnection, table: Table, fields: Mapping[str, Any]) -> str:
    """Insert one row at the end of ``table``'s chain; return its hash.

    Two transactions appending at once would both read the same last hash and fork the chain, so
    on PostgreSQL the append takes a transaction-scoped advisory lock on the table's chain; on
    SQLite every writing transaction already holds the database's one write lock.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": chain_lock_key(table)})
    last = (
        await conn.execute(
            select(table.c.row_hash).where(table.c.row_hash.is_not(None)).order_by(table.c.id.desc()).limit(1)
        )
    ).scalar()
    prev = last or GENESIS
    digest = row_hash(prev, fields)
    await conn.execute(insert(table).values(**fields, prev_hash=prev, row_hash=digest))
    return digest
