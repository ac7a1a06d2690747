"""What every database command shares: settings from the environment and one engine per command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.logs import configure_logging
from gateway.settings import GatewaySettings
from gateway.store.engine import create_engine
from gateway.store.migrate import upgrade

T = TypeVar("T")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Folder for the SQLite file and the secret key.")]


def settings_for(data_dir: Path | None = None, **overrides: object) -> GatewaySettings:
    settings = GatewaySettings()
    changes: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        changes["data_dir"] = data_dir
    settings = settings.model_copy(update=changes)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def in_transaction(settings: GatewaySettings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Migrate the database to the newest schema, then run ``work`` in one transaction."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)

    async def run() -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def with_engine(settings: GatewaySettings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Migrate the database to the newest schema, then run ``work`` with an engine of its own."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)

    async def run() -> T:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())
