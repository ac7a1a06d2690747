"""Every process follows the active version: poll ``mapping_active`` and swap the holder's set.

The poll is one primary-key read; a version is parsed once per process and kept by number, so a
rollback to a version seen before costs nothing. The holder's set is replaced as one reference:
a request or delivery that has read ``current()`` keeps that set to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.logs import get_logger
from gateway.mappings import MappingSet
from gateway.mapsets import store
from gateway.mapsets.document import Document, document_from_folder, parse
from gateway.state import GatewayState, MappingHolder
from gateway.store.engine import reading

log = get_logger("gateway.mappings")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MappingWatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        holder: MappingHolder,
        *,
        initial: Callable[[], Document],
        interval: float,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.holder = holder
        self.initial = initial
        self.interval = interval
        self.clock = clock
        self.number: int | None = None
        self._parsed: dict[int, MappingSet] = {}

    async def start(self) -> None:
        """Store the folder's set as version 1 if the database has none, then take the active version."""
        if await store.ensure_initial(self.engine, document=self.initial(), actor="gateway", now=self.clock()):
            log.info("mapping folder loaded as version 1")
        await self.sync()

    async def sync(self) -> int | None:
        """Take the active version if it changed; returns its number."""
        async with reading(self.engine) as conn:
            number = await store.active_number(conn)
            if number is None or number == self.number:
                return number
            mappings = self._parsed.get(number)
            if mappings is None:
                found = await store.get_version(conn, number)
                if found is None:
                    return self.number
                mappings = parse(found[1])
                self._parsed[number] = mappings
        self.holder.replace(mappings)
        previous, self.number = self.number, number
        log.info("mapping version switched", number=number, previous=previous, version=mappings.version)
        return number

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            if stop.is_set():
                return
            try:
                await self.sync()
            except Exception as exc:
                log.warning("mapping version poll failed", error=type(exc).__name__)


def watcher_for(state: GatewayState) -> MappingWatcher:
    folder = state.settings.mappings_dir
    return MappingWatcher(
        state.engine,
        state.mappings,
        initial=lambda: document_from_folder(folder),
        interval=state.settings.mappings_poll_seconds,
    )


@contextlib.asynccontextmanager
async def watching(state: GatewayState) -> AsyncIterator[MappingWatcher]:
    """Start following the active version (after the first load), and stop when the block ends."""
    watcher = watcher_for(state)
    await watcher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(watcher.run(stop))
    try:
        yield watcher
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task
