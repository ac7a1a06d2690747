"""A circuit breaker per back-end, shared by every worker through ``backend_circuits``.

The state machine is pure (:func:`after_result`, :func:`open_interval`); :class:`Circuits` keeps
the rows and applies it with guarded UPDATEs::

    closed ──(threshold consecutive transient failures)──▶ open
    open ──(probe_at passed; one worker claims the probe)──▶ half_open
    half_open ──(the probe, or any attempt, succeeds)──▶ closed
    half_open ──(the probe fails)──▶ open, for a longer interval (doubling, capped)

While a circuit is not closed, no worker claims that back-end's deliveries except the one probe,
so a dead back-end sees a handful of requests instead of a growing storm. Only transient failures
count: a permanent error is the back-end answering (the circuit learns it is alive), and an error
the gateway made before sending (a render error) says nothing about the back-end at all.

Which worker probes is decided by one guarded UPDATE (:meth:`Circuits.claim_probe`): N workers
racing for it make one probe, and a probe whose worker died expires and is claimed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from sqlalchemy import RowMapping, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.logs import get_logger
from gateway.metrics import Metrics
from gateway.store.schema import backend_circuits

log = get_logger("gateway.circuit")

Result = Literal["success", "failure", "neutral"]


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# The gauge's value per state: higher is worse, so a dashboard can alert on > 0.
GAUGE = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5
    open_seconds: float = 15.0
    max_open_seconds: float = 300.0
    probe_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Circuit:
    backend: str
    state: CircuitState
    consecutive_failures: int
    changed_at: datetime
    opened_at: datetime | None = None
    probe_at: datetime | None = None
    probe_owner: str | None = None
    probe_expires_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None

    @classmethod
    def closed(cls, backend: str, now: datetime) -> Circuit:
        return cls(backend, CircuitState.CLOSED, 0, now)

    def probe_due(self, now: datetime) -> bool:
        """Whether a worker may claim the probe now: open long enough, and no live probe claimed."""
        if self.state is CircuitState.CLOSED or self.probe_at is None or self.probe_at > now:
            return False
        return self.probe_owner is None or (self.probe_expires_at is not None and self.probe_expires_at < now)


def open_interval(policy: BreakerPolicy, consecutive_failures: int) -> float:
    """How long a circuit stays open: the first time ``open_seconds``, doubling per failed probe, capped."""
    failed_probes = max(consecutive_failures - policy.failure_threshold, 0)
    return float(min(policy.max_open_seconds, policy.open_seconds * 2.0 ** min(failed_probes, 32)))


def after_result(policy: BreakerPolicy, circuit: Circuit, *, result: Result, probe: bool, now: datetime) -> Circuit:
    """The circuit after an attempt ended with ``result``; ``probe``: the attempt was this circuit's probe."""
    if result == "neutral":
        # Nothing was learnt about the back-end; a probe that learnt nothing lets another worker probe.
        return replace(circuit, probe_owner=None, probe_expires_at=None) if probe else circuit
    if result == "success":
        if circuit.state is CircuitState.CLOSED:
            return replace(circuit, consecutive_failures=0, last_success_at=now)
        return replace(
            Circuit.closed(circuit.backend, now), last_success_at=now, last_failure_at=circuit.last_failure_at
        )
    failures = circuit.consecutive_failures + 1
    if circuit.state is CircuitState.CLOSED:
        if failures < policy.failure_threshold:
            return replace(circuit, consecutive_failures=failures, last_failure_at=now)
        return _opened(policy, circuit, failures, now, first=True)
    if probe:
        return _opened(policy, circuit, failures, now, first=False)
    # An attempt that was in flight when the circuit opened: the circuit knows already.
    return replace(circuit, last_failure_at=now)


def _opened(policy: BreakerPolicy, circuit: Circuit, failures: int, now: datetime, *, first: bool) -> Circuit:
    return replace(
        circuit,
        state=CircuitState.OPEN,
        consecutive_failures=failures,
        opened_at=now if first else circuit.opened_at,
        probe_at=now + timedelta(seconds=open_interval(policy, failures)),
        probe_owner=None,
        probe_expires_at=None,
        changed_at=now,
        last_failure_at=now,
    )


def _circuit(row: RowMapping) -> Circuit:
    return Circuit(
        backend=row["backend"],
        state=CircuitState(row["state"]),
        consecutive_failures=row["consecutive_failures"],
        changed_at=row["changed_at"],
        opened_at=row["opened_at"],
        probe_at=row["probe_at"],
        probe_owner=row["probe_owner"],
        probe_expires_at=row["probe_expires_at"],
        last_success_at=row["last_success_at"],
        last_failure_at=row["last_failure_at"],
    )


def _values(circuit: Circuit) -> dict[str, object]:
    return {
        "state": circuit.state.value,
        "consecutive_failures": circuit.consecutive_failures,
        "changed_at": circuit.changed_at,
        "opened_at": circuit.opened_at,
        "probe_at": circuit.probe_at,
        "probe_owner": circuit.probe_owner,
        "probe_expires_at": circuit.probe_expires_at,
        "last_success_at": circuit.last_success_at,
        "last_failure_at": circuit.last_failure_at,
    }


class Circuits:
    """The circuits of the back-ends one worker serves: a short-lived view, and the guarded writes.

    The view is cached for ``cache_seconds`` of the worker's clock, so a busy worker asks the
    database about a circuit at most about once a second; its own changes replace the cached row.
    """

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        policy: BreakerPolicy,
        worker_id: str,
        clock: Callable[[], datetime],
        metrics: Metrics,
        cache_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.worker_id = worker_id
        self.clock = clock
        self.metrics = metrics
        self.cache_seconds = cache_seconds
        self._dialect = engine.dialect.name
        self._cache: dict[str, tuple[datetime, Circuit]] = {}

    async def ensure(self, conn: AsyncConnection, backend: str) -> None:
        """Create the back-end's circuit row, closed, unless it exists (safe to race)."""
        insert = pg_insert if self._dialect == "postgresql" else sqlite_insert
        values = _values(Circuit.closed(backend, self.clock()))
        row = insert(backend_circuits).values(backend=backend, **values)
        await conn.execute(row.on_conflict_do_nothing(index_elements=["backend"]))

    async def view(self, backend: str) -> Circuit:
        """The circuit as this worker last saw it, re-read when older than the cache allows."""
        now = self.clock()
        cached = self._cache.get(backend)
        if cached is not None and abs((now - cached[0]).total_seconds()) < self.cache_seconds:
            return cached[1]
        async with self.engine.begin() as conn:
            row = await self._read(conn, backend, lock=False)
        self._remember(row, now)
        return row

    async def _read(self, conn: AsyncConnection, backend: str, *, lock: bool) -> Circuit:
        stmt = select(backend_circuits).where(backend_circuits.c.backend == backend)
        if lock and self._dialect == "postgresql":
            stmt = stmt.with_for_update()
        row = (await conn.execute(stmt)).mappings().one_or_none()
        if row is None:
            await self.ensure(conn, backend)
            row = (await conn.execute(stmt)).mappings().one()
        return _circuit(row)

    def _remember(self, circuit: Circuit, now: datetime) -> None:
        self._cache[circuit.backend] = (now, circuit)
        self.metrics.circuit_state.labels(circuit.backend).set(GAUGE[circuit.state])

    async def claim_probe(self, backend: str) -> bool:
        """Claim the back-end's probe (half-open) for this worker; False if another worker has it or it is not due.

        One guarded UPDATE decides: whichever worker's UPDATE commits first matches the row, the
        others match nothing. A claimed probe expires after ``probe_seconds`` (its worker died).
        """
        now = self.clock()
        t = backend_circuits.c
        async with self.engine.begin() as conn:
            claimed = await conn.execute(
                update(backend_circuits)
                .where(
                    t.backend == backend,
                    t.state.in_([CircuitState.OPEN.value, CircuitState.HALF_OPEN.value]),
                    t.probe_at <= now,
                    (t.probe_owner.is_(None)) | (t.probe_expires_at < now),
                )
                .values(
                    state=CircuitState.HALF_OPEN.value,
                    probe_owner=self.worker_id,
                    probe_expires_at=now + timedelta(seconds=self.policy.probe_seconds),
                    changed_at=now,
                )
            )
            row = await self._read(conn, backend, lock=False)
        self._remember(row, now)
        if claimed.rowcount != 1:
            return False
        log.info("circuit probing", backend=backend)
        self._count_transition(backend, CircuitState.HALF_OPEN)
        return True

    async def release_probe(self, backend: str) -> None:
        """Give the probe back unused (nothing was due to send); another worker may claim it."""
        t = backend_circuits.c
        async with self.engine.begin() as conn:
            await conn.execute(
                update(backend_circuits)
                .where(t.backend == backend, t.probe_owner == self.worker_id)
                .values(probe_owner=None, probe_expires_at=None)
            )
        self._cache.pop(backend, None)

    async def record(
        self, conn: AsyncConnection, backend: str, *, result: Result, probe: bool
    ) -> tuple[Circuit, Circuit]:
        """Apply an attempt's result to the circuit in the caller's transaction: the circuit before and after.

        The caller passes both to :meth:`settled` once its transaction has committed (a
        transaction retried after a database error must not log or count a change twice).

        The row is read locked (PostgreSQL; SQLite's transactions are serial already), so two
        workers' failures are both counted. A success on a closed circuit with nothing to reset
        writes nothing but, at most once a second, ``last_success_at``: a healthy back-end's
        deliveries do not queue behind one row lock.
        """
        now = self.clock()
        # A failure always writes (it counts): lock the row at once. Anything else seldom writes: look first.
        before = await self._read(conn, backend, lock=result == "failure")
        after = self._change(before, result=result, probe=probe, now=now)
        if after is not None and result != "failure":
            before = await self._read(conn, backend, lock=True)
            after = self._change(before, result=result, probe=probe, now=now)
        if after is None:
            return before, before
        t = backend_circuits.c
        await conn.execute(update(backend_circuits).where(t.backend == backend).values(**_values(after)))
        return before, after

    def _change(self, before: Circuit, *, result: Result, probe: bool, now: datetime) -> Circuit | None:
        """The circuit to write after ``result``, or None when nothing worth a write changed."""
        if probe and before.probe_owner != self.worker_id:
            probe = False  # our probe expired and another worker took it over: this is just a late attempt
        after = after_result(self.policy, before, result=result, probe=probe, now=now)
        if after == before:
            return None
        fresh = before.last_success_at is not None and (now - before.last_success_at).total_seconds() < 1.0
        if result == "success" and before.state is CircuitState.CLOSED and before.consecutive_failures == 0 and fresh:
            return None  # only last_success_at would move, and it moved less than a second ago
        return after

    def settled(self, before: Circuit, after: Circuit) -> None:
        """After the transaction of :meth:`record` committed: cache the row; log and count a change of state."""
        if after is before:
            return
        self._remember(after, self.clock())
        if after.state is before.state:
            return
        # Logged and counted once: by the one worker whose write made the change.
        if after.state is CircuitState.OPEN:
            log.warning(
                "circuit opened",
                backend=after.backend,
                failures=after.consecutive_failures,
                probe_at=after.probe_at,
                was=before.state.value,
            )
        else:
            log.warning("circuit closed", backend=after.backend, was=before.state.value)
        self._count_transition(after.backend, after.state)

    def _count_transition(self, backend: str, state: CircuitState) -> None:
        self.metrics.circuit_transitions.labels(backend, state.value).inc()
