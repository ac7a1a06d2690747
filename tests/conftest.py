"""Shared fixtures: databases (SQLite always, PostgreSQL when GATEWAY_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.logs import configure_logging
from gateway.mappings import MappingSet, load_mappings
from gateway.store.engine import create_engine, sync_url
from gateway.store.migrate import upgrade

POSTGRES_URL = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
DATABASES = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]


@pytest.fixture(scope="session")
def mappings() -> MappingSet:
    return load_mappings()


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str | None]:
    """One schema per test session on the shared server, migrated once, dropped at the end."""
    if not POSTGRES_URL:
        yield None
        return
    schema = f"gw_test_{uuid.uuid4().hex[:10]}"
    admin = create_sync_engine(sync_url(POSTGRES_URL))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _with_search_path(POSTGRES_URL, schema)
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


TABLES = (
    "disclosures",
    "attempts",
    "deadlines",
    "statistics_events",
    "deliveries",
    "outcomes",
    "api_tokens",
    "consents",
    "bookings",
)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, _postgres_template: str | None) -> str:
    """A migrated, empty database: a fresh SQLite file, or the session's PostgreSQL schema truncated."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        upgrade(url)
        return url
    assert _postgres_template is not None
    engine = create_sync_engine(sync_url(_postgres_template))
    with engine.begin() as conn:
        names = ", ".join(_extra_tables(conn) + list(TABLES))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return _postgres_template


def _extra_tables(conn: object) -> list[str]:
    rows = conn.execute(
        text(  # type: ignore[attr-defined]
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
        )
    )
    return [r[0] for r in rows if r[0] not in TABLES]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line of the test, as the product writes it (JSON), for scanning; logging restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
