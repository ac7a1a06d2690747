"""Applying what came back from an attempt: the guarded UPDATEs, the attempt rows, the circuit and the budget.

A result is applied only by a guarded UPDATE that matches the delivery while this claim still
holds it, and the attempt (and, for a success, the disclosure) is written in the same
transaction, after checking the row count. A result that comes after the claim was taken away
changes nothing and is recorded as ``late`` (see :meth:`Results._lost`).

A failure's transaction locks the back-end's circuit row first, then the delivery: whether the
failure spends the delivery's retry budget depends on the circuit at that moment, and a circuit
that opens pauses every waiting delivery's budget in the same transaction, so no failure is
charged for time the circuit spent open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.audit.disclosures import record_disclosure
from gateway.errors import DeliveryError, TransientDeliveryError
from gateway.logs import get_logger
from gateway.metrics import Metrics
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from gateway.outbox.circuit import Circuit, Circuits, CircuitState, Result
from gateway.outbox.consent_check import ConsentCheck
from gateway.outbox.queries import query
from gateway.outbox.retention import Retention, hold_expiry
from gateway.outbox.retry import Budget, Decision, RetryPolicy, charge, decide
from gateway.outbox.states import Status
from gateway.store.retrying import TransientRetryPolicy, retry_transient
from gateway.store.schema import attempts, deliveries

log = get_logger("gateway.worker")

T = TypeVar("T")


class Results:
    """Records the results of one worker's attempts."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        worker_id: str,
        policy: RetryPolicy,
        circuits: Circuits,
        retention: Retention,
        consent_check: ConsentCheck,
        metrics: Metrics,
        clock: Callable[[], datetime],
        rand: Callable[[], float],
        db_retries: TransientRetryPolicy,
    ) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.policy = policy
        self.circuits = circuits
        self.retention = retention
        self.consent_check = consent_check
        self.metrics = metrics
        self.clock = clock
        self.rand = rand
        self.db_retries = db_retries
        self._dialect = engine.dialect.name

    async def _retrying(self, fn: Callable[[], Awaitable[T]], operation: str) -> T:
        return await retry_transient(fn, operation=operation, policy=self.db_retries)

    async def consent_lapsed(self, backend: str, work: DeliveryWork) -> bool:
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

    async def succeeded(
        self,
        backend: str,
        work: DeliveryWork,
        result: DeliveryResult,
        started: datetime,
        seconds: float,
        *,
        probe: bool = False,
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

        recorded = await self._retrying(record_once, "record a delivery")
        # In its own short transaction, after the delivery's: a success seldom changes the circuit,
        # and then writes nothing, so completions do not queue behind the circuit's row lock.
        await self._circuit_result(backend, "success", probe=probe)
        if not recorded:
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

    async def failed(
        self,
        backend: str,
        work: DeliveryWork,
        error: DeliveryError,
        started: datetime,
        seconds: float,
        *,
        probe: bool = False,
    ) -> None:
        now = self.clock()
        transient = isinstance(error, TransientDeliveryError)
        result = "transient" if transient else "permanent"
        # A permanent error with the back-end's status is the back-end answering; one without
        # (a render error) never reached it and says nothing about it.
        circuit_result: Result = "failure" if transient else ("success" if error.backend_status else "neutral")

        async def record_once() -> tuple[bool, Decision, Circuit, Circuit]:
            async with self.engine.begin() as conn:
                before, after = await self.circuits.record(conn, backend, result=circuit_result, probe=probe)
                # Only a failure made while the circuit was closed spends the budget: a probe or an
                # attempt still in flight when the circuit opened is the back-end's outage, not this delivery's.
                counted = before.state is CircuitState.CLOSED and not probe
                budget = await self._budget(conn, work)
                if transient:
                    budget = charge(budget, now=now, counted=counted)
                decision = decide(
                    self.policy, attempt=work.attempt, error=error, now=now, rand=self.rand, spent=budget.spent_seconds
                )
                applied = await self._apply(conn, work, decision, error, now, budget)
                if after.state is CircuitState.OPEN and before.state is CircuitState.CLOSED:
                    await conn.execute(query("pause_retry_budgets", self._dialect), {"backend": backend})
                if applied:
                    await self._record_attempt(
                        conn, work, started, seconds, result, error.backend_status, error.message
                    )
                else:
                    applied = not await self._lost(conn, work, started, seconds, result, error.backend_status)
                return applied, decision, before, after

        recorded, decision, before, after = await self._retrying(record_once, "record a failed delivery")
        self.circuits.settled(before, after)
        if not recorded:
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
            probe=probe or None,
        )

    async def _circuit_result(self, backend: str, result: Result, *, probe: bool) -> None:
        async def record_once() -> tuple[Circuit, Circuit]:
            async with self.engine.begin() as conn:
                return await self.circuits.record(conn, backend, result=result, probe=probe)

        before, after = await self._retrying(record_once, "record a circuit result")
        self.circuits.settled(before, after)

    async def _budget(self, conn: AsyncConnection, work: DeliveryWork) -> Budget:
        """The delivery's retry budget so far (read under the circuit's lock: no pause runs meanwhile)."""
        row = (
            await conn.execute(
                select(deliveries.c.failing_since, deliveries.c.retry_spent_seconds).where(
                    deliveries.c.id == work.delivery_id
                )
            )
        ).one_or_none()
        return Budget(row.failing_since, float(row.retry_spent_seconds or 0)) if row is not None else Budget(None, 0)

    async def _apply(
        self,
        conn: AsyncConnection,
        work: DeliveryWork,
        decision: Decision,
        error: DeliveryError,
        now: datetime,
        budget: Budget,
    ) -> bool:
        """Reschedule or park the delivery; False if this claim no longer holds it (nothing changed)."""
        claim = {
            "id": work.delivery_id,
            "owner": self.worker_id,
            "attempt": work.attempt,
            "now": now,
            "failing_since": budget.failing_since,
            "spent": budget.spent_seconds,
        }
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
                    "status": Status.HELD if decision.outcome == "hold" else Status.FAILED,
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
