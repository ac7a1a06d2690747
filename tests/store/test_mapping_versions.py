"""Mapping versions in the database (SQLite and PostgreSQL): first load, upload, activate, roll back, history."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.mappings import DEFAULT_MAPPINGS_DIR
from gateway.mapsets import store
from gateway.mapsets.document import document_from_folder
from gateway.store.engine import create_engine
from gateway.store.schema import mapping_changes, mapping_versions

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def document() -> dict[str, Any]:
    return document_from_folder(DEFAULT_MAPPINGS_DIR)


def _changed(document: dict[str, Any], version: str) -> dict[str, Any]:
    other = copy.deepcopy(document)
    other["version"] = version
    return other


async def test_first_start_stores_the_folder_as_version_1_once_when_processes_start_together(
    database_url: str, document: dict[str, Any]
) -> None:
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        loaded = await asyncio.gather(
            *(store.ensure_initial(e, document=document, actor=f"process-{i}", now=NOW) for i, e in enumerate(engines))
        )
        assert sorted(loaded) == [False, False, False, True]
        async with engines[0].connect() as conn:
            assert await store.active_number(conn) == 1
            assert (await conn.execute(select(func.count()).select_from(mapping_versions))).scalar_one() == 1
            [change] = await store.history(conn)
        assert (change.action, change.number, change.previous_number) == ("loaded", 1, None)
    finally:
        for e in engines:
            await e.dispose()


async def test_uploading_the_same_content_twice_gives_back_the_existing_version(
    engine: AsyncEngine, document: dict[str, Any]
) -> None:
    await store.ensure_initial(engine, document=document, actor="gateway", now=NOW)
    async with engine.begin() as conn:
        first = await store.add_version(conn, document=_changed(document, "2"), actor="admin", now=NOW)
    async with engine.begin() as conn:
        again = await store.add_version(conn, document=_changed(document, "2"), actor="admin", now=NOW)
        same_as_loaded = await store.add_version(conn, document=document, actor="admin", now=NOW)
    assert first == (2, True)
    assert again == (2, False)
    assert same_as_loaded == (1, False)


async def test_activation_and_rollback_are_recorded_with_who_and_the_version_replaced(
    engine: AsyncEngine, document: dict[str, Any]
) -> None:
    await store.ensure_initial(engine, document=document, actor="gateway", now=NOW)
    async with engine.begin() as conn:
        two, _ = await store.add_version(conn, document=_changed(document, "2"), actor="anna", now=NOW)
        three, _ = await store.add_version(conn, document=_changed(document, "3"), actor="anna", now=NOW)
        assert await store.activate(conn, number=two, actor="anna", now=NOW, comment="new reasons") == 1
        assert await store.activate(conn, number=three, actor="bertil", now=NOW) == two
    async with engine.begin() as conn:
        assert await store.rollback(conn, actor="carita", now=NOW, comment="broke Kanta") == (two, three)
    async with engine.begin() as conn:
        assert await store.rollback(conn, actor="carita", now=NOW) == (1, two)
        assert await store.active_number(conn) == 1
        changes = [(c.actor, c.action, c.number, c.previous_number) for c in await store.history(conn)]
    assert changes == [
        ("carita", "rolled_back", 1, two),
        ("carita", "rolled_back", two, three),
        ("bertil", "activated", three, two),
        ("anna", "activated", two, 1),
        ("anna", "uploaded", three, None),
        ("anna", "uploaded", two, None),
        ("gateway", "loaded", 1, None),
    ]


async def test_an_activation_over_a_version_the_admin_did_not_see_is_refused(
    engine: AsyncEngine, document: dict[str, Any]
) -> None:
    await store.ensure_initial(engine, document=document, actor="gateway", now=NOW)
    async with engine.begin() as conn:
        two, _ = await store.add_version(conn, document=_changed(document, "2"), actor="anna", now=NOW)
        three, _ = await store.add_version(conn, document=_changed(document, "3"), actor="anna", now=NOW)
        await store.activate(conn, number=two, actor="anna", now=NOW, expected_current=1)
    with pytest.raises(store.StaleActivation):
        async with engine.begin() as conn:
            await store.activate(conn, number=three, actor="bertil", now=NOW, expected_current=1)
    async with engine.connect() as conn:
        assert await store.active_number(conn) == two
        assert (
            await conn.execute(
                select(func.count()).select_from(mapping_changes).where(mapping_changes.c.actor == "bertil")
            )
        ).scalar_one() == 0


async def test_the_first_version_cannot_be_rolled_back(engine: AsyncEngine, document: dict[str, Any]) -> None:
    await store.ensure_initial(engine, document=document, actor="gateway", now=NOW)
    with pytest.raises(store.NothingToRollBack):
        async with engine.begin() as conn:
            await store.rollback(conn, actor="anna", now=NOW)


async def test_activating_an_unknown_version_is_refused(engine: AsyncEngine, document: dict[str, Any]) -> None:
    await store.ensure_initial(engine, document=document, actor="gateway", now=NOW)
    with pytest.raises(store.UnknownVersion):
        async with engine.begin() as conn:
            await store.activate(conn, number=99, actor="anna", now=NOW)
