"""Load the named SQL blocks of ``queries.sql`` and run them with the right types and dialect."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import BindParameter, TextClause, bindparam, text

from gateway.store.types import JsonType, UtcDateTime

_BLOCK = re.compile(r"^-- name: (\w+)\n(?:--[^\n]*\n)*(.*?)(?=^-- name: |\Z)", re.MULTILINE | re.DOTALL)
_TIMESTAMPS = ("now", "lease_until", "not_before", "expires_at", "failing_since")


@cache
def _blocks() -> dict[str, str]:
    source = (Path(__file__).with_name("queries.sql")).read_text(encoding="utf-8")
    return {name: body.strip().rstrip(";") for name, body in _BLOCK.findall(source)}


@cache
def query(name: str, dialect: str) -> TextClause:
    """The named query for ``dialect`` ('sqlite' or 'postgresql'), with typed bind parameters."""
    postgresql = dialect == "postgresql"
    sql = (
        _blocks()[name]
        .replace("{skip_locked}", "FOR UPDATE SKIP LOCKED" if postgresql else "")
        .replace("{lock_rows}", "FOR UPDATE" if postgresql else "")
    )
    clause = text(sql)
    params: list[BindParameter[Any]] = [bindparam(p, type_=UtcDateTime()) for p in _TIMESTAMPS if f":{p}" in sql]
    if ":refs" in sql:
        params.append(bindparam("refs", type_=JsonType))
    if ":ids" in sql:
        params.append(bindparam("ids", expanding=True))
    if "RETURNING" in sql:
        return clause.bindparams(*params).columns(payload=JsonType)  # type: ignore[return-value]
    return clause.bindparams(*params)


def names() -> list[str]:
    return sorted(_blocks())
