"""The delivery worker: claims due deliveries per back-end, hands them to adapters, records everything.

Each back-end has its own loop and its own concurrency, so a back-end that is down or slow never
delays another. A claim is a lease: a heartbeat extends it while the delivery is in flight, and
a worker that dies simply stops extending it, after which any worker reclaims the delivery. Every
attempt is recorded with its timing and the back-end's answer; every success also writes a
disclosure record (who received what, on which legal basis).

A claim is identified by its worker and its attempt number. A result is applied only by a guarded
UPDATE that matches the delivery while that claim still holds it, and the attempt (and, for a
success, the disclosure) is written in the same transaction, after checking the row count. A
worker that reports after its claim was taken away (it was paused past its lease and another
worker reclaimed the delivery) changes nothing: its result is recorded as a ``late`` attempt. The
transaction that takes a claim away records the claim's attempt as ``abandoned`` (see
``queries.sql`` for the invariant this keeps between ``deliveries.attempts`` and the history).

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

from sqlalchemy import RowMapping, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.disclosures import record_disclosure
from gateway.audit.retention import sweep_audit_logs
from gateway.errors import DeliveryError, TransientDeliveryError
from gateway.logs import failure, get_logger
from gateway.mappings import MappingSet
from gateway.metrics import Metrics
from gateway.outbox.adapter import Adapter, DeliveryResult, DeliveryWork
from gateway.outbox.consent_check import ConsentCheck
from gateway.outbox.queries import query
from gateway.outbox.retention import Retention, hold_expiry
from gateway.outbox.retry import Decision, RetryPolicy, decide
from gateway.settings import WorkerSettings
from gateway.store.retrying import DEFAULT_POLICY, TransientRetryPolicy, retry_transient
from gateway.store.schema import attempts, deliveries

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
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay_seconds,
            max_delay=settings.max_delay_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )
        self._dialect = engine.dialect.name
        self.retention = Retention(engine=engine, settings=settings, clock=clock, db_retries=db_retries)
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
                    claimed = await self.claim(backend, free)  # transient database errors are retried inside
                except Exception as exc:
                    # Not transient, or transient past the retry budget: keep the loop alive, try next poll.
                    log.error("claim failed", backend=backend, **failure(exc))
                    await _sleep_or_stop(stop, self.settings.poll_seconds)
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

    async def claim(self, backend: str, limit: int) -> list[Claimed]:
        return await self._claimed(backend, "claim_due", {"backend": backend, "limit": limit})

    async def claim_delivery(self, backend: str, delivery_id: str) -> Claimed | None:
        """Lease one given delivery now, if it is due (for a first attempt made while a caller waits)."""
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

    async def process(self, backend: str, claimed: Claimed) -> None:
        work = claimed.work
        adapter = self.adapters[backend]
        try:
            if work.consent_id is not None and await self._consent_lapsed(backend, work):
                return
            started = self.clock()
            t0 = time.perf_counter()
            try:
                result = await adapter.deliver(work, self.mappings())
            except DeliveryError as error:
                await self._failed(backend, work, error, started, time.perf_counter() - t0)
            except Exception as exc:  # an adapter bug must not lose the delivery: retry, then hold
                log.error(
                    "adapter raised an unexpected error", backend=backend, delivery=work.delivery_id, **failure(exc)
                )
                unexpected = TransientDeliveryError(f"unexpected {type(exc).__name__} in the {backend} adapter")
                await self._failed(backend, work, unexpected, started, time.perf_counter() - t0)
            else:
                await self._succeeded(backend, work, result, started, time.perf_counter() - t0)
        except Exception as exc:
            # The database stayed unreachable past the retries: the lease runs out, the attempt is
            # recorded as abandoned and the delivery is claimed again.
            log.error("could not record a delivery attempt", backend=backend, delivery=work.delivery_id, **failure(exc))
        finally:
            held = self._in_flight.get(backend, {})
            if held.get(work.delivery_id) == work.attempt:  # not a newer claim of the same delivery
                del held[work.delivery_id]

    async def _consent_lapsed(self, backend: str, work: DeliveryWork) -> bool:
        """Check the bound consent just before sending; if it lapsed, hold the delivery for a new one.

        True means: do not send (held now, or the claim was lost meanwhile).
        """
        assert work.consent_id is not None
        consent_id = work.consent_id
        now = self.clock()

        async def check_once() -> tuple[str | None, bool]:
            async with self.engine.begin() as conn:
                why = await self.consent_check(conn, delivery_id=work.delivery_id, consent_id=consent_id, now=now)
                if why is None:
                    return None, True
                held = await conn.execute(
                    query("hold_for_consent", self._dialect),
                    {
                        "id": work.delivery_id,
                        "owner": self.worker_id,
                        "attempt": work.attempt,
                        "reason": f"{why}; waiting for a valid consent",
                        "now": now,
                        "expires_at": hold_expiry(work.payload, held_at=now, wait=self.retention.policy.consent_wait),
                    },
                )
                if held.rowcount == 1:
                    return why, True
                return why, not await self._lost(conn, work, now, 0.0, "held for consent", None)

        why, applied = await self._retrying(check_once, "hold for consent")
        if why is None:
            return False
        if applied:
            log.info("delivery held for consent", backend=backend, delivery=work.delivery_id)
        else:
            self._report_late(backend, work, "held_for_consent", None)
        return True

    async def _succeeded(
        self, backend: str, work: DeliveryWork, result: DeliveryResult, started: datetime, seconds: float
    ) -> None:
        now = self.clock()

        async def record_once() -> bool:
            async with self.engine.begin() as conn:
                completed = await conn.execute(
                    query("complete", self._dialect),
                    {
                        "id": work.delivery_id,
                        "owner": self.worker_id,
                        "attempt": work.attempt,
                        "refs": result.references,
                        "now": now,
                        "reason": result.message or None,
                    },
                )
                if completed.rowcount != 1:
                    return not await self._lost(conn, work, started, seconds, "delivered", result.backend_status)
                await self._record_attempt(
                    conn, work, started, seconds, "delivered", result.backend_status, result.message
                )
                row = (
                    await conn.execute(
                        select(
                            deliveries.c.kind,
                            deliveries.c.legal_basis,
                            deliveries.c.consent_id,
                            deliveries.c.origin_consent_id,
                            deliveries.c.client_key,
                        ).where(deliveries.c.id == work.delivery_id)
                    )
                ).one()
                await record_disclosure(
                    conn,
                    delivery_id=work.delivery_id,
                    outcome_id=work.outcome_id,
                    backend=backend,
                    kind=row.kind,
                    legal_basis=row.legal_basis,
                    # the consent that authorised it, or the consent it carries to Kela / the register
                    consent_id=row.consent_id or row.origin_consent_id,
                    subject_key=row.client_key,
                    actor=self.worker_id,
                    now=now,
                )
                return True

        if not await self._retrying(record_once, "record a delivery"):
            self._report_late(backend, work, "delivered", result.backend_status)
            return
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

        async def record_once() -> bool:
            async with self.engine.begin() as conn:
                if not await self._apply(conn, work, decision, error, now):
                    return not await self._lost(conn, work, started, seconds, result, error.backend_status)
                await self._record_attempt(conn, work, started, seconds, result, error.backend_status, error.message)
                return True

        if not await self._retrying(record_once, "record a failed delivery"):
            self._report_late(backend, work, result, error.backend_status)
            return
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
    ) -> bool:
        """Reschedule or park the delivery; False if this claim no longer holds it (nothing changed)."""
        claim = {"id": work.delivery_id, "owner": self.worker_id, "attempt": work.attempt, "now": now}
        if decision.outcome == "retry":
            changed = await conn.execute(
                query("reschedule", self._dialect),
                {**claim, "not_before": decision.not_before, "error": error.message, "reason": decision.reason},
            )
        else:
            changed = await conn.execute(
                query("park", self._dialect),
                {
                    **claim,
                    "error": error.message,
                    "status": "held" if decision.outcome == "hold" else "failed",
                    "reason": decision.reason,
                },
            )
        return changed.rowcount == 1

    async def _lost(
        self,
        conn: AsyncConnection,
        work: DeliveryWork,
        started: datetime,
        seconds: float,
        result: str,
        backend_status: str | None,
    ) -> bool:
        """After a guarded UPDATE matched nothing: was the claim taken away? If so, record the result as late.

        The guards (lease owner, ``in_flight``, attempt number) match while this claim holds the
        delivery. They do not look at ``lease_expires_at``: a lease that has expired but that no one
        has reclaimed still counts as held. The guarded UPDATE and ``record_abandoned`` +
        ``expire_leases`` both change the row only while it is in flight, so whichever commits
        first wins it and the other matches nothing: a result is never applied over another
        worker's claim, however late it comes. Requiring ``lease_expires_at >= :now`` as well
        would add no safety but would (1) let clock skew decide, comparing a lease written from
        one worker's clock with the clock of the worker that has just been paused, and (2) throw
        away the only attempt that was made: the delivery would sit in flight until reclaimed
        and be sent once more, for the back-end to recognise as a repeat. The lease says when
        others may take over; the claim is the fence.

        Matching nothing has two causes. Either another transaction took the claim away (an
        expired lease reclaimed, a caller that stopped waiting), and it recorded this claim's
        attempt as abandoned in the same transaction; or an earlier try of this very transaction
        committed although its COMMIT reported an error (its outcome was unknown, so it was
        retried). Then the result is already recorded and nothing is written twice: this is what
        makes recording a result safe to retry.
        """
        params = {"id": work.delivery_id, "attempt": work.attempt, "owner": self.worker_id}
        if not (await conn.execute(query("claim_taken", self._dialect), params)).scalar_one():
            return False
        await self._record_attempt(
            conn,
            work,
            started,
            seconds,
            "late",
            backend_status,
            f"{result} after the lease was lost: another worker owns the delivery; this result changed nothing",
        )
        return True

    def _report_late(self, backend: str, work: DeliveryWork, result: str, backend_status: str | None) -> None:
        self.metrics.deliveries.labels(backend, "late").inc()
        log.warning(
            "result came after the lease was lost; recorded as late",
            backend=backend,
            delivery=work.delivery_id,
            attempt=work.attempt,
            result=result,
            status=backend_status,
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

    async def release_awaiting_adapter(self) -> None:
        async def release_once() -> None:  # idempotent: a repeat finds nothing left to release
            async with self.engine.begin() as conn:
                for backend in self.adapters:
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
