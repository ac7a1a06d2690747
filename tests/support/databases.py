"""A database of its own for a test that must start from nothing (migrations, a separate server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from gateway.store.engine import sync_url


@contextmanager
def fresh_database(kind: str, folder: Path, *, postgres_url: str | None) -> Iterator[str]:
    """The URL of an empty, unmigrated database: a new SQLite file, or a new PostgreSQL schema dropped after."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
        return
    assert postgres_url is not None
    schema = f"gw_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_sync_engine(sync_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
