"""The store on each database: migrations match the tables, SQLite runs in WAL, writes are atomic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.fingerprints import Fingerprinter
from gateway.mappings import MappingSet
from gateway.outbox.corrections import diff
from gateway.outcomes.service import store_accepted
from gateway.plan.rules import plan_outcome
from gateway.store.engine import create_engine, sync_url
from gateway.store.schema import deliveries, metadata, outcomes, statistics_events
from tests.support.harness import example


def test_the_migrations_create_exactly_the_declared_tables(database_url: str) -> None:
    engine = create_sync_engine(sync_url(database_url))
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


async def test_the_embedded_sqlite_database_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    await engine.dispose()


async def test_an_outcome_and_its_deliveries_commit_together_or_not_at_all(
    engine: AsyncEngine, mappings: MappingSet
) -> None:
    outcome = OutcomeV1.model_validate(example("07"))
    plan = plan_outcome(outcome, mappings)
    with pytest.raises(RuntimeError, match="crash after the outbox insert"):
        async with engine.begin() as conn:
            await store_accepted(
                conn,
                outcome_id=str(uuid.uuid4()),
                outcome=outcome,
                plan=plan,
                fingerprint="f" * 64,
                response={},
                now=datetime.now(UTC),
                enabled_backends={"lifecare", "kanta"},
                fingerprints=Fingerprinter(b"k"),
                steps=diff(plan.actions, {}, {}),
            )
            raise RuntimeError("crash after the outbox insert")
    async with engine.connect() as conn:
        for table in (outcomes, deliveries, statistics_events):
            assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 0


async def test_a_committed_outcome_has_one_delivery_per_action(engine: AsyncEngine, mappings: MappingSet) -> None:
    outcome = OutcomeV1.model_validate(example("07"))
    plan = plan_outcome(outcome, mappings)
    async with engine.begin() as conn:
        await store_accepted(
            conn,
            outcome_id=str(uuid.uuid4()),
            outcome=outcome,
            plan=plan,
            fingerprint="f" * 64,
            response={},
            now=datetime.now(UTC),
            enabled_backends={"lifecare", "kanta"},
            fingerprints=Fingerprinter(b"k"),
            steps=diff(plan.actions, {}, {}),
        )
    async with engine.connect() as conn:
        keys = (await conn.execute(select(deliveries.c.action_key).order_by(deliveries.c.action_key))).scalars()
        assert list(keys) == sorted(a.key for a in plan.actions)
