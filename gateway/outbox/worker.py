"""The delivery worker: claims due deliveries per back-end, hands them to adapters, records everything.

Each back-end has its own loop and its own concurrency, so a back-end that is down or slow never
delays another. A claim is a lease: a heartbeat extends it while the delivery is in flight, and
a worker that dies simply stops extending it, after which any worker reclaims the delivery. Every
attempt is recorded with its timing and the back-end's answer; every success also writes a
disclosure record (who received what, on which legal basis).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.consents.service import refusal_for_delivery
from gateway.errors import DeliveryError, TransientDeliveryError
from gateway.logs import failure, get_logger
from gateway.mappings import MappingSet
from gateway.metrics import Metrics
from gateway.outbox.adapter import Adapter, DeliveryResult, DeliveryWork
from gateway.outbox.queries import query
from gateway.outbox.retry import Decision, RetryPolicy, decide
from gateway.settings import WorkerSettings
from gateway.store.schema import attempts, deliveries, disclosures

log = get_logger("gateway.worker")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class Claimed:
    work: DeliveryWork
    reclaimed_from: str | None


class Worker:
    """Works the outbox for the back-ends it has adapters for."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        adapters: Mapping[str, Adapter],
        mappings: Callable[[], MappingSet],
        settings: WorkerSettings,
        metrics: Metrics | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.engine = engine
        self.adapters = dict(adapters)
        self.mappings = mappings
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        self.rand = rand
        self.policy = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay_seconds,
            max_delay=settings.max_delay_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )
        self._dialect = engine.dialect.name
        self._in_flight: dict[str, set[str]] = {name: set() for name in self.adapters}

    # -- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then let in-flight deliveries finish (their leases cover them)."""
        await self.release_awaiting_adapter()
        log.info("worker started", worker=self.worker_id, backends=sorted(self.adapters))
        tasks = [asyncio.create_task(self._backend_loop(name, stop), name=f"outbox-{name}") for name in self.adapters]
        tasks.append(asyncio.create_task(self._heartbeat(stop), name="outbox-heartbeat"))
        tasks.append(asyncio.create_task(self._housekeeping(stop), name="outbox-housekeeping"))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            log.info("worker stopped", worker=self.worker_id)

    async def run_until_idle(self, *, max_seconds: float = 30.0) -> int:
        """Deliver everything due now, for tests and the CLI; returns how many attempts were made."""
        done = 0
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            batch = 0
            for name in self.adapters:
                claimed = await self.claim(name, self.settings.concurrency)
                batch += len(claimed)
                await asyncio.gather(*(self.process(name, c) for c in claimed))
            done += batch
            if batch == 0:
                return done
        return done

    async def _backend_loop(self, backend: str, stop: asyncio.Event) -> None:
        running: set[asyncio.Task[None]] = set()
        limit = self.settings.concurrency
        while not stop.is_set():
            free = limit - len(running)
            claimed: list[Claimed] = []
            if free > 0:
                try:
                    claimed = await self.claim(backend, free)
                except Exception as exc:
                    log.error("claim failed", backend=backend, **failure(exc))
                    await _sleep_or_stop(stop, self.settings.poll_seconds * 4)
                    continue
                for item in claimed:
                    task = asyncio.create_task(self.process(backend, item))
                    running.add(task)
                    task.add_done_callback(running.discard)
            if claimed and len(running) < limit:
                continue
            waiters: set[asyncio.Future[Any]] = set(running) | {asyncio.ensure_future(stop.wait())}
            sleeper = asyncio.ensure_future(asyncio.sleep(self.settings.poll_seconds))
            await asyncio.wait(waiters | {sleeper}, return_when=asyncio.FIRST_COMPLETED)
            for pending in (sleeper, *(w for w in waiters if w not in running)):
                pending.cancel()
        if running:
            await asyncio.wait(running, timeout=self.settings.lease_seconds)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = self.settings.lease_seconds / 3
        while not await _sleep_or_stop(stop, interval):
            ids = [i for held in self._in_flight.values() for i in held]
            if not ids:
                continue
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(
                        query("renew_leases", self._dialect),
                        {"owner": self.worker_id, "lease_until": self._lease_until(), "ids": ids},
                    )
            except Exception as exc:
                log.error("lease renewal failed", **failure(exc))

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not await _sleep_or_stop(stop, 60):
            try:
                await self.purge_payloads()
                await self.release_awaiting_adapter()
            except Exception as exc:
                log.error("housekeeping failed", **failure(exc))

    # -- the steps -----------------------------------------------------------------------------

    def _lease_until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.settings.lease_seconds)

    async def claim(self, backend: str, limit: int) -> list[Claimed]:
        params = {"owner": self.worker_id, "lease_until": self._lease_until(), "now": self.clock()}
        return await self._claimed(backend, "claim_due", {**params, "backend": backend, "limit": limit})

    async def claim_delivery(self, backend: str, delivery_id: str) -> Claimed | None:
        """Lease one given delivery now, if it is due (for a first attempt made while a caller waits)."""
        params = {"owner": self.worker_id, "lease_until": self._lease_until(), "now": self.clock(), "id": delivery_id}
        claimed = await self._claimed(backend, "claim_one", params)
        return claimed[0] if claimed else None

    async def release(self, backend: str, delivery_id: str) -> None:
        """Hand a claimed delivery back to the queue at once; a background worker finishes it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                query("release_lease", self._dialect), {"id": delivery_id, "owner": self.worker_id, "now": self.clock()}
            )
        self._in_flight.get(backend, set()).discard(delivery_id)

    async def _claimed(self, backend: str, name: str, params: dict[str, Any]) -> list[Claimed]:
        async with self.engine.begin() as conn:
            if name == "claim_due":
                await conn.execute(query("expire_leases", self._dialect), {"backend": backend, "now": params["now"]})
            rows = (await conn.execute(query(name, self._dialect), params)).mappings().all()
            previous = await self._previous_refs(conn, [r["supersedes"] for r in rows if r["supersedes"]])
        claimed = []
        for row in rows:
            reason = row["status_reason"] or ""
            claimed.append(
                Claimed(
                    DeliveryWork(
                        delivery_id=row["id"],
                        outcome_id=row["outcome_id"],
                        action_key=row["action_key"],
                        kind=row["kind"],
                        payload=row["payload"] or {},
                        attempt=row["attempts"],
                        document_version=row["document_version"],
                        supersedes=row["supersedes"],
                        previous_refs=previous.get(row["supersedes"]) if row["supersedes"] else None,
                        consent_id=row["consent_id"],
                    ),
                    reason.removeprefix("reclaimed from ") if reason.startswith("reclaimed from ") else None,
                )
            )
            self._in_flight.setdefault(backend, set()).add(row["id"])
        return claimed

    async def _previous_refs(self, conn: AsyncConnection, ids: list[str]) -> dict[str, Any]:
        if not ids:
            return {}
        rows = await conn.execute(select(deliveries.c.id, deliveries.c.backend_refs).where(deliveries.c.id.in_(ids)))
        return {r.id: r.backend_refs for r in rows}

    async def process(self, backend: str, claimed: Claimed) -> None:
        work = claimed.work
        adapter = self.adapters[backend]
        if claimed.reclaimed_from is not None:
            await self._record_abandoned(work, claimed.reclaimed_from)
        if work.consent_id is not None and await self._consent_lapsed(backend, work):
            return
        started = self.clock()
        t0 = time.perf_counter()
        try:
            result = await adapter.deliver(work, self.mappings())
        except DeliveryError as error:
            await self._failed(backend, work, error, started, time.perf_counter() - t0)
        except Exception as exc:  # an adapter bug must not lose the delivery: retry, then hold
            log.error("adapter raised an unexpected error", backend=backend, delivery=work.delivery_id, **failure(exc))
            unexpected = TransientDeliveryError(f"unexpected {type(exc).__name__} in the {backend} adapter")
            await self._failed(backend, work, unexpected, started, time.perf_counter() - t0)
        else:
            await self._succeeded(backend, work, result, started, time.perf_counter() - t0)
        finally:
            self._in_flight.get(backend, set()).discard(work.delivery_id)

    async def _consent_lapsed(self, backend: str, work: DeliveryWork) -> bool:
        """Check the bound consent just before sending; if it lapsed, hold the delivery for a new one."""
        assert work.consent_id is not None
        now = self.clock()
        async with self.engine.begin() as conn:
            why = await refusal_for_delivery(conn, delivery_id=work.delivery_id, consent_id=work.consent_id, now=now)
            if why is None:
                return False
            await conn.execute(
                query("hold_for_consent", self._dialect),
                {
                    "id": work.delivery_id,
                    "owner": self.worker_id,
                    "reason": f"{why}; waiting for a valid consent",
                    "now": now,
                },
            )
        self._in_flight.get(backend, set()).discard(work.delivery_id)
        log.info("delivery held for consent", backend=backend, delivery=work.delivery_id)
        return True

    async def _succeeded(
        self, backend: str, work: DeliveryWork, result: DeliveryResult, started: datetime, seconds: float
    ) -> None:
        now = self.clock()
        async with self.engine.begin() as conn:
            await conn.execute(
                query("complete", self._dialect),
                {
                    "id": work.delivery_id,
                    "owner": self.worker_id,
                    "refs": result.references,
                    "now": now,
                    "reason": result.message or None,
                },
            )
            await self._record_attempt(conn, work, started, seconds, "delivered", result.backend_status, result.message)
            row = (
                await conn.execute(
                    select(
                        deliveries.c.kind,
                        deliveries.c.legal_basis,
                        deliveries.c.consent_id,
                        deliveries.c.origin_consent_id,
                    ).where(deliveries.c.id == work.delivery_id)
                )
            ).one()
            await conn.execute(
                insert(disclosures).values(
                    delivery_id=work.delivery_id,
                    outcome_id=work.outcome_id,
                    backend=backend,
                    kind=row.kind,
                    legal_basis=row.legal_basis,
                    # the consent that authorised it, or the consent it carries to Kela / the register
                    consent_id=row.consent_id or row.origin_consent_id,
                    disclosed_at=now,
                    actor=self.worker_id,
                )
            )
        self.metrics.deliveries.labels(backend, "delivered").inc()
        self.metrics.delivery_seconds.labels(backend).observe(seconds)
        log.info(
            "delivered",
            backend=backend,
            delivery=work.delivery_id,
            attempt=work.attempt,
            ms=round(seconds * 1000),
            status=result.backend_status,
        )

    async def _failed(
        self, backend: str, work: DeliveryWork, error: DeliveryError, started: datetime, seconds: float
    ) -> None:
        now = self.clock()
        decision = decide(self.policy, attempt=work.attempt, error=error, now=now, rand=self.rand)
        result = "transient" if isinstance(error, TransientDeliveryError) else "permanent"
        async with self.engine.begin() as conn:
            await self._apply(conn, work, decision, error, now)
            await self._record_attempt(conn, work, started, seconds, result, error.backend_status, error.message)
        self.metrics.deliveries.labels(backend, result).inc()
        self.metrics.delivery_seconds.labels(backend).observe(seconds)
        log.warning(
            "delivery failed",
            backend=backend,
            delivery=work.delivery_id,
            attempt=work.attempt,
            result=result,
            decision=decision.outcome,
            status=error.backend_status,
            error=error.message,
            not_before=decision.not_before,
        )

    async def _apply(
        self, conn: AsyncConnection, work: DeliveryWork, decision: Decision, error: DeliveryError, now: datetime
    ) -> None:
        if decision.outcome == "retry":
            await conn.execute(
                query("reschedule", self._dialect),
                {
                    "id": work.delivery_id,
                    "owner": self.worker_id,
                    "not_before": decision.not_before,
                    "error": error.message,
                    "reason": decision.reason,
                    "now": now,
                },
            )
        else:
            await conn.execute(
                query("park", self._dialect),
                {
                    "id": work.delivery_id,
                    "owner": self.worker_id,
                    "now": now,
                    "error": error.message,
                    "status": "held" if decision.outcome == "hold" else "failed",
                    "reason": decision.reason,
                },
            )

    async def _record_attempt(
        self,
        conn: AsyncConnection,
        work: DeliveryWork,
        started: datetime,
        seconds: float,
        result: str,
        backend_status: str | None,
        message: str | None,
    ) -> None:
        await conn.execute(
            insert(attempts).values(
                delivery_id=work.delivery_id,
                number=work.attempt,
                worker=self.worker_id,
                started_at=started,
                duration_ms=round(seconds * 1000),
                result=result,
                backend_status=backend_status,
                message=(message or "")[:2000] or None,
            )
        )

    async def _record_abandoned(self, work: DeliveryWork, previous_owner: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(attempts).values(
                    delivery_id=work.delivery_id,
                    number=work.attempt - 1,
                    worker=previous_owner,
                    started_at=self.clock(),
                    duration_ms=0,
                    result="abandoned",
                    backend_status=None,
                    message="the worker's lease expired before it reported; reclaimed",
                )
            )
        log.warning("reclaimed an expired lease", delivery=work.delivery_id, previous_owner=previous_owner)

    async def release_awaiting_adapter(self) -> None:
        async with self.engine.begin() as conn:
            for backend in self.adapters:
                await conn.execute(
                    query("release_awaiting_adapter", self._dialect), {"backend": backend, "now": self.clock()}
                )

    async def purge_payloads(self) -> int:
        now = self.clock()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                query("purge_payloads", self._dialect),
                {"now": now, "older_than": now - timedelta(hours=self.settings.purge_after_hours)},
            )
        return int(result.rowcount or 0)

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; return True as soon as ``stop`` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True
