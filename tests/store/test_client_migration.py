"""Migration 0004 on a database with data: tokens made before clients existed keep working."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from gateway.security.tokens import authenticate, hash_token
from gateway.store.engine import create_engine, sync_url
from gateway.store.migrate import upgrade
from tests.conftest import DATABASES, POSTGRES_URL
from tests.support.databases import fresh_database

TOKEN = "gwt_made-before-clients"


@pytest.fixture(params=DATABASES)
def at_0003(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0003 holding one token and one outcome of source system ``crm-espoo``."""
    with fresh_database(request.param, tmp_path, postgres_url=POSTGRES_URL) as url:
        upgrade(url, "0003")
        now = datetime.now(UTC)
        stamp = now.replace(tzinfo=None) if request.param == "sqlite" else now
        engine = create_sync_engine(sync_url(url))
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) "
                    "VALUES ('t-1', 'crm', :hash, '[\"outcomes:read\"]', :now)"
                ),
                {"hash": hash_token(TOKEN), "now": stamp},
            )
            conn.execute(
                text(
                    "INSERT INTO outcomes (id, source_system, source_outcome_id, revision, fingerprint, received_at, "
                    "contact_date, unit, statistics_only, mapping_version, plan, response) VALUES "
                    "('o-1', 'crm-espoo', 'A-1', 1, 'f', :now, :day, 'U', false, 'v1', '{}', '{}')"
                ),
                {"now": stamp, "day": date(2026, 11, 30)},
            )
            conn.execute(
                text(
                    "INSERT INTO statistics_events (outcome_id, contact_date, unit, main_reason, additional_reasons, "
                    "contacted_by, channel, ended_how, duration_minutes, led_to_client_relationship, anonymous, "
                    "recorded_at) VALUES ('o-1', :day, 'U', 'R', '[]', 'client', 'phone', '[]', 5, false, true, :now)"
                ),
                {"now": stamp, "day": date(2026, 11, 30)},
            )
        engine.dispose()
        yield url


async def test_an_existing_token_belongs_to_the_migrated_client_owning_the_systems_seen(at_0003: str) -> None:
    upgrade(at_0003)
    engine = create_engine(at_0003)
    async with engine.connect() as conn:
        principal = await authenticate(conn, TOKEN)
    await engine.dispose()
    assert principal is not None
    assert principal.client_name == "existing-tokens" and principal.systems == {"crm-espoo"}


async def test_an_existing_statistics_event_keeps_its_day_and_moves_its_link_to_the_outcome(at_0003: str) -> None:
    upgrade(at_0003)
    engine = create_engine(at_0003)
    async with engine.connect() as conn:
        event = (await conn.execute(text("SELECT id, recorded_on FROM statistics_events"))).one()
        link = (await conn.execute(text("SELECT statistics_event_id FROM outcomes"))).scalar_one()
    await engine.dispose()
    assert link == event.id and str(event.recorded_on) == datetime.now(UTC).date().isoformat()
