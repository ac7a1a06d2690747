"""The delivery worker: claims due deliveries per back-end, hands them to adapters, records everything.

Each back-end has its own loop and its own concurrency, so a back-end that is down or slow never
delays another. A claim is a lease: a heartbeat extends it while the delivery is in flight, and
a worker that dies simply stops extending it, after which any worker reclaims the delivery. Every
attempt is recorded with its timing and the back-end's answer; every success also writes a
disclosure record (who received what, on which legal basis).

A claim is identified by its worker and its attempt number. Its result is applied by
:mod:`gateway.outbox.results` only while that claim still holds the delivery; a worker that
reports after its claim was taken away changes nothing (a ``late`` attempt). The transaction that
takes a claim away records the claim's attempt as ``abandoned`` (see ``queries.sql`` for the
invariant this keeps between ``deliveries.attempts`` and the history).

Before claiming, each back-end's loop looks at that back-end's circuit (:mod:`gateway.outbox.circuit`):
while it is open nothing is claimed, and when a probe is due one worker claims the probe and sends
one delivery. Other back-ends' loops do not notice.

Short transactions (claims, lease renewals, recording results) are retried in process across
transient database errors (``gateway.store.retrying``); the adapter call itself never is.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import RowMapping, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.retention import sweep_audit_logs
from gateway.errors import DeliveryError, TransientDeliveryError
from gateway.logs import failure, get_logger
from gateway.mappings import MappingSet
from gateway.metrics import Metrics
from gateway.outbox.adapter import Adapter, DeliveryWork
from gateway.outbox.circuit import BreakerPolicy, Circuits, CircuitState
from gateway.outbox.consent_check import ConsentCheck
from gateway.outbox.queries import query
from gateway.outbox.results import Results
from gateway.outbox.retention import Retention
from gateway.outbox.retry import RetryPolicy
from gateway.settings import WorkerSettings
from gateway.store.retrying import DEFAULT_POLICY, TransientRetryPolicy, retry_transient
from gateway.store.schema import deliveries

log = get_logger("gateway.worker")

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class Claimed:
    work: DeliveryWork
    reclaimed_from: str | None  # the worker whose expired lease this claim took over, if any


class Worker:
    """Works the outbox for the back-ends it has adapters for."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        adapters: Mapping[str, Adapter],
        mappings: Callable[[], MappingSet],
        settings: WorkerSettings,
        consent_check: ConsentCheck,
        metrics: Metrics | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        db_retries: TransientRetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.engine = engine
        self.adapters = dict(adapters)
        self.mappings = mappings
        self.settings = settings
        self.consent_check = consent_check
        self.metrics = metrics or Metrics()
        self.worker_id = worker_id or new_worker_id()
        self.clock = clock
        self.rand = rand
        self.db_retries = db_retries
        self.policy = RetryPolicy(
            horizon=settings.retry_horizon_hours * 3600,
            base_delay=settings.base_delay_seconds,
            max_delay=settings.max_delay_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )
        self._dialect = engine.dialect.name
        self.retention = Retention(engine=engine, settings=settings, clock=clock, db_retries=db_retries)
        self.circuits = Circuits(
            engine=engine,
            policy=BreakerPolicy(
                failure_threshold=settings.circuit_failures,
                open_seconds=settings.circuit_open_seconds,
                max_open_seconds=settings.circuit_max_open_seconds,
                probe_seconds=settings.lease_seconds,
            ),
            worker_id=self.worker_id,
            clock=clock,
            metrics=self.metrics,
        )
        self.results = Results(
            engine=engine,
            worker_id=self.worker_id,
            policy=self.policy,
            circuits=self.circuits,
            retention=self.retention,
            consent_check=consent_check,
            metrics=self.metrics,
            clock=clock,
            rand=rand,
            db_retries=db_retries,
        )
        # The claims this worker is working on, per back-end: delivery id -> attempt number.
        self._in_flight: dict[str, dict[str, int]] = {name: {} for name in self.adapters}

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
                claimed, probe = await self.claim_next(name, self.settings.concurrency)
                batch += len(claimed)
                await asyncio.gather(*(self.process(name, c, probe=probe) for c in claimed))
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
            probe = False
            if free > 0:
                try:
                    # transient database errors are retried inside
                    claimed, probe = await self.claim_next(backend, free)
                except Exception as exc:
                    # Not transient, or transient past the retry budget: keep the loop alive, try next poll.
                    log.error("claim failed", backend=backend, **failure(exc))
                    await _sleep_or_stop(stop, self.settings.poll_seconds)
                    continue
                for item in claimed:
                    task = asyncio.create_task(self.process(backend, item, probe=probe))
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
            try:
                await self.renew_leases()
            except Exception as exc:
                log.error("lease renewal failed", **failure(exc))

    async def renew_leases(self) -> None:
        """Extend the leases of the claims this worker is working on (the heartbeat's beat)."""
        ids = [i for held in self._in_flight.values() for i in held]
        if ids:
            await self._retrying(partial(self._renew, ids), "renew leases")

    async def _renew(self, ids: list[str]) -> None:
        # Idempotent: a repeat only extends the same leases again.
        async with self.engine.begin() as conn:
            await conn.execute(
                query("renew_leases", self._dialect),
                {"owner": self.worker_id, "lease_until": self._lease_until(), "ids": ids},
            )

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not await _sleep_or_stop(stop, 60):
            try:
                await self.retention.sweep()
                await self.release_awaiting_adapter()
                await sweep_audit_logs(self.engine, retention_days=self.settings.audit_retention_days, now=self.clock())
            except Exception as exc:
                log.error("housekeeping failed", **failure(exc))

    # -- the steps -----------------------------------------------------------------------------

    def _lease_until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.settings.lease_seconds)

    async def _retrying(self, fn: Callable[[], Awaitable[T]], operation: str) -> T:
        return await retry_transient(fn, operation=operation, policy=self.db_retries)

    async def claim_next(self, backend: str, limit: int) -> tuple[list[Claimed], bool]:
        """What to send to ``backend`` now, as its circuit allows; True with the one delivery that is its probe."""
        circuit = await self.circuits.view(backend)
        if circuit.state is CircuitState.CLOSED:
            return await self.claim(backend, limit), False
        if not circuit.probe_due(self.clock()) or not await self.circuits.claim_probe(backend):
            return [], False
        claimed = await self.claim(backend, 1)
        if not claimed:  # nothing due: the next worker with something to send probes instead
            await self.circuits.release_probe(backend)
        return claimed, bool(claimed)

    async def claim(self, backend: str, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries of ``backend``, whatever its circuit says."""
        return await self._claimed(backend, "claim_due", {"backend": backend, "limit": limit})

    async def claim_delivery(self, backend: str, delivery_id: str) -> Claimed | None:
        """Lease one given delivery now, if it is due (for a first attempt made while a caller waits).

        Not while the back-end's circuit is open: the delivery stays queued for the worker.
        """
        if (await self.circuits.view(backend)).state is not CircuitState.CLOSED:
            return None
        claimed = await self._claimed(backend, "claim_one", {"id": delivery_id})
        return claimed[0] if claimed else None

    async def release(self, backend: str, delivery_id: str) -> None:
        """Hand a claimed delivery back to the queue at once; a background worker finishes it.

        The attempt the claim counted is recorded as abandoned in the same transaction (whatever it
        did at the back-end, nobody heard the answer). Safe to repeat: once released, the delivery
        is no longer this worker's and both statements match nothing.
        """

        async def release_once() -> None:
            params = {"id": delivery_id, "owner": self.worker_id, "now": self.clock()}
            async with self.engine.begin() as conn:
                await conn.execute(query("record_released", self._dialect), params)
                await conn.execute(query("release_lease", self._dialect), params)

        await self._retrying(release_once, "release a claim")
        self._in_flight.get(backend, {}).pop(delivery_id, None)

    async def _claimed(self, backend: str, name: str, params: dict[str, Any]) -> list[Claimed]:
        # Retried whole after a transient error. Should a failed COMMIT have committed after all,
        # the deliveries it leased are in no one's hands: nobody renews their leases, so they
        # expire, their attempts are recorded as abandoned and they are claimed again.
        rows, previous, reclaimed = await self._retrying(
            lambda: self._claim_once(backend, name, params), "claim deliveries"
        )
        for delivery_id, previous_owner in reclaimed:
            log.warning("reclaimed an expired lease", delivery=delivery_id, previous_owner=previous_owner)
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
            self._in_flight.setdefault(backend, {})[row["id"]] = row["attempts"]
        return claimed

    async def _claim_once(
        self, backend: str, name: str, params: dict[str, Any]
    ) -> tuple[list[RowMapping], dict[str, Any], list[tuple[str, str]]]:
        now = self.clock()
        params = {**params, "owner": self.worker_id, "lease_until": self._lease_until(), "now": now}
        reclaimed: list[tuple[str, str]] = []
        async with self.engine.begin() as conn:
            if name == "claim_due":
                # The abandoned attempts are recorded, and their rows locked, before the leases are
                # taken away: both in this transaction, so the history never lags the count.
                found = await conn.execute(query("record_abandoned", self._dialect), {"backend": backend, "now": now})
                reclaimed = [(r.delivery_id, r.worker) for r in found]
                if reclaimed:
                    await conn.execute(
                        query("expire_leases", self._dialect), {"ids": [i for i, _ in reclaimed], "now": now}
                    )
            rows = (await conn.execute(query(name, self._dialect), params)).mappings().all()
            previous = await self._previous_refs(conn, [r["supersedes"] for r in rows if r["supersedes"]])
        return list(rows), previous, reclaimed

    async def _previous_refs(self, conn: AsyncConnection, ids: list[str]) -> dict[str, Any]:
        if not ids:
            return {}
        rows = await conn.execute(select(deliveries.c.id, deliveries.c.backend_refs).where(deliveries.c.id.in_(ids)))
        return {r.id: r.backend_refs for r in rows}

    async def process(self, backend: str, claimed: Claimed, *, probe: bool = False) -> None:
        """Send one claimed delivery and record its result; ``probe``: it is the back-end's circuit probe."""
        work = claimed.work
        adapter = self.adapters[backend]
        results = self.results
        try:
            if work.consent_id is not None and await results.consent_lapsed(backend, work):
                if probe:  # nothing was sent: let the probe go to a delivery that will be
                    await self.circuits.release_probe(backend)
                return
            started = self.clock()
            t0 = time.perf_counter()
            try:
                result = await adapter.deliver(work, self.mappings())
            except DeliveryError as error:
                await results.failed(backend, work, error, started, time.perf_counter() - t0, probe=probe)
            except Exception as exc:  # an adapter bug must not lose the delivery: retry, then hold
                log.error(
                    "adapter raised an unexpected error", backend=backend, delivery=work.delivery_id, **failure(exc)
                )
                unexpected = TransientDeliveryError(f"unexpected {type(exc).__name__} in the {backend} adapter")
                await results.failed(backend, work, unexpected, started, time.perf_counter() - t0, probe=probe)
            else:
                await results.succeeded(backend, work, result, started, time.perf_counter() - t0, probe=probe)
        except Exception as exc:
            # The database stayed unreachable past the retries: the lease runs out, the attempt is
            # recorded as abandoned and the delivery is claimed again.
            log.error("could not record a delivery attempt", backend=backend, delivery=work.delivery_id, **failure(exc))
        finally:
            held = self._in_flight.get(backend, {})
            if held.get(work.delivery_id) == work.attempt:  # not a newer claim of the same delivery
                del held[work.delivery_id]

    async def release_awaiting_adapter(self) -> None:
        async def release_once() -> None:  # idempotent: a repeat finds nothing left to release
            async with self.engine.begin() as conn:
                for backend in self.adapters:
                    await self.circuits.ensure(conn, backend)
                    await conn.execute(
                        query("release_awaiting_adapter", self._dialect), {"backend": backend, "now": self.clock()}
                    )

        await self._retrying(release_once, "release deliveries awaiting an adapter")

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
