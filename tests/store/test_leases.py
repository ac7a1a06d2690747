"""Leases and the attempt history, on each database, with workers whose clock the test moves.

Worker A claims a delivery and is "paused" (its adapter waits on an event, or it is simply not
run) while the test moves the clock past its lease; worker B then reclaims the delivery. What A
reports afterwards must change nothing, and the attempt count must always agree with the history.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg.errors
import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from gateway.consents.service import refusal_for_delivery
from gateway.errors import BackendRejected, BackendUnavailable, DeliveryError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from gateway.outbox.worker import Worker
from gateway.settings import WorkerSettings
from gateway.store.engine import create_engine
from gateway.store.retrying import TransientRetryPolicy
from gateway.store.schema import attempts, deliveries, disclosures
from tests.support.history import history_mismatches

LEASE = 60.0
SETTINGS = WorkerSettings(
    concurrency=4, poll_seconds=0.05, lease_seconds=LEASE, max_attempts=4, base_delay_seconds=1, max_delay_seconds=10
)
QUICK_DB_RETRIES = TransientRetryPolicy(attempts=4, first_wait=0.01, max_wait=0.05, jitter=0.01, max_seconds=5)
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Clock:
    """A worker's ``now``, moved only by the test (shared by the workers of a test)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Backend:
    """A fake Lifecare adapter: answers at once, or waits at a gate first (a worker paused mid-delivery)."""

    name = "lifecare"

    def __init__(self, *, refs: dict[str, Any], error: DeliveryError | None = None, gated: bool = False) -> None:
        self.refs, self.error = refs, error
        self.entered, self.gate = asyncio.Event(), asyncio.Event()
        self.calls = 0
        if not gated:
            self.gate.set()

    async def deliver(self, work: DeliveryWork, mappings: MappingSet) -> DeliveryResult:
        self.calls += 1
        self.entered.set()
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return DeliveryResult(dict(self.refs), "201", "created")

    async def aclose(self) -> None:
        return None


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """One engine per worker, as separate processes would have."""
    made = [create_engine(database_url) for _ in range(3)]
    yield made
    for engine in made:
        await engine.dispose()


def worker(engine: AsyncEngine, name: str, backend: Backend, clock: Clock, mappings: MappingSet) -> Worker:
    return Worker(
        engine=engine,
        adapters={"lifecare": backend},
        mappings=lambda: mappings,
        settings=SETTINGS,
        consent_check=refusal_for_delivery,
        worker_id=name,
        clock=clock,
        rand=lambda: 0.0,
        db_retries=QUICK_DB_RETRIES,
    )


async def queue(engine: AsyncEngine, *, consent_id: str | None = None) -> str:
    """One pending Lifecare delivery, due at the start of the test's time."""
    delivery_id = str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(
            insert(deliveries).values(
                id=delivery_id,
                action_key="lifecare:handover",
                backend="lifecare",
                kind="fhir_transaction",
                rule="health_care_handover",
                legal_basis="Potilaslaki 785/1992 13 §",
                payload={},
                payload_digest="0" * 64,
                consent_party="kela" if consent_id else None,
                consent_categories=["identity_and_contact"] if consent_id else None,
                consent_id=consent_id,
                status="pending",
                attempts=0,
                next_attempt_at=START,
                created_at=START,
                updated_at=START,
            )
        )
    return delivery_id


async def history(engine: AsyncEngine, delivery_id: str) -> list[tuple[int, str, str]]:
    """(number, worker, result) of each attempt row, in the order written."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(attempts.c.number, attempts.c.worker, attempts.c.result)
            .where(attempts.c.delivery_id == delivery_id)
            .order_by(attempts.c.id)
        )
        return [(r.number, r.worker, r.result) for r in rows]


async def delivery(engine: AsyncEngine, delivery_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()


async def disclosure_actors(engine: AsyncEngine, delivery_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(disclosures.c.actor).where(disclosures.c.delivery_id == delivery_id))
        return [r.actor for r in rows]


async def assert_history_agrees_with_attempts(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await history_mismatches(conn) == []


def late_count(w: Worker) -> float:
    value = w.metrics.registry.get_sample_value(
        "gateway_delivery_attempts_total", {"backend": "lifecare", "result": "late"}
    )
    return value or 0.0


async def a_pauses_past_its_lease_while_b_delivers(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet, a_backend: Backend
) -> tuple[Worker, Worker, str]:
    """A claims and enters its adapter; the lease runs out; B reclaims and delivers; then A resumes."""
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", a_backend, clock, mappings)
    b = worker(engines[1], "worker-b", Backend(refs={"Encounter": "by-b"}), clock, mappings)
    [claimed] = await a.claim("lifecare", 1)
    paused = asyncio.create_task(a.process("lifecare", claimed))
    await asyncio.wait_for(a_backend.entered.wait(), timeout=10)
    clock.advance(LEASE + 1)
    assert await b.run_until_idle() == 1
    assert (await delivery(engines[0], delivery_id)).status == "delivered"
    a_backend.gate.set()
    await asyncio.wait_for(paused, timeout=10)
    return a, b, delivery_id


# -- a worker that lost its lease ------------------------------------------------------------


async def test_a_success_reported_after_the_lease_was_lost_is_recorded_as_late_and_changes_nothing(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    with capture_logs() as logs:
        a, _, delivery_id = await a_pauses_past_its_lease_while_b_delivers(
            engines, clock, mappings, Backend(refs={"Encounter": "by-a"}, gated=True)
        )
    assert await history(engines[0], delivery_id) == [
        (1, "worker-a", "abandoned"),
        (2, "worker-b", "delivered"),
        (1, "worker-a", "late"),
    ]
    assert await disclosure_actors(engines[0], delivery_id) == ["worker-b"]
    row = await delivery(engines[0], delivery_id)
    assert row.status == "delivered" and row.backend_refs == {"Encounter": "by-b"} and row.attempts == 2
    assert late_count(a) == 1
    [warning] = [line for line in logs if line["event"].startswith("result came after the lease was lost")]
    assert warning["log_level"] == "warning"
    assert set(warning) == {"event", "log_level", "backend", "delivery", "attempt", "result", "status"}
    await assert_history_agrees_with_attempts(engines[0])


async def test_a_late_attempt_keeps_the_back_ends_status_and_says_another_worker_owns_the_delivery(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    _, _, delivery_id = await a_pauses_past_its_lease_while_b_delivers(
        engines, clock, mappings, Backend(refs={"Encounter": "by-a"}, gated=True)
    )
    async with engines[0].connect() as conn:
        late = (
            await conn.execute(
                select(attempts).where(attempts.c.delivery_id == delivery_id, attempts.c.result == "late")
            )
        ).one()
    assert late.backend_status == "201"
    assert "lease was lost" in late.message and "another worker owns the delivery" in late.message


@pytest.mark.parametrize(
    "error", [BackendUnavailable("down", backend_status="503"), BackendRejected("no", backend_status="422")]
)
async def test_a_late_failure_neither_reschedules_nor_parks_a_delivery_another_worker_delivered(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet, error: DeliveryError
) -> None:
    _, _, delivery_id = await a_pauses_past_its_lease_while_b_delivers(
        engines, clock, mappings, Backend(refs={}, error=error, gated=True)
    )
    row = await delivery(engines[0], delivery_id)
    assert row.status == "delivered" and row.last_error is None and row.backend_refs == {"Encounter": "by-b"}
    assert [result for _, _, result in await history(engines[0], delivery_id)] == ["abandoned", "delivered", "late"]
    await assert_history_agrees_with_attempts(engines[0])


async def test_an_expired_lease_that_nobody_reclaimed_still_completes(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    # The guarded UPDATE is atomic against a reclaim: while no one has reclaimed the delivery, the
    # only attempt made is this one, and throwing its result away would only send it again.
    delivery_id = await queue(engines[0])
    backend = Backend(refs={"Encounter": "by-a"}, gated=True)
    a = worker(engines[0], "worker-a", backend, clock, mappings)
    [claimed] = await a.claim("lifecare", 1)
    paused = asyncio.create_task(a.process("lifecare", claimed))
    await asyncio.wait_for(backend.entered.wait(), timeout=10)
    clock.advance(LEASE + 1)
    backend.gate.set()
    await asyncio.wait_for(paused, timeout=10)
    assert await history(engines[0], delivery_id) == [(1, "worker-a", "delivered")]
    assert await disclosure_actors(engines[0], delivery_id) == ["worker-a"]
    assert late_count(a) == 0


async def test_a_worker_that_lost_its_lease_does_not_hold_for_consent_what_another_worker_holds(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0], consent_id="no-such-consent")
    a_backend, b_backend = Backend(refs={}), Backend(refs={})
    a = worker(engines[0], "worker-a", a_backend, clock, mappings)
    b = worker(engines[1], "worker-b", b_backend, clock, mappings)
    [claimed] = await a.claim("lifecare", 1)  # ... and A pauses before checking the consent
    clock.advance(LEASE + 1)
    await b.run_until_idle()  # B reclaims, finds the consent missing, holds the delivery
    await a.process("lifecare", claimed)
    row = await delivery(engines[0], delivery_id)
    assert row.status == "held_for_consent" and row.attempts == 1
    assert await history(engines[0], delivery_id) == [(1, "worker-a", "abandoned"), (1, "worker-a", "late")]
    assert a_backend.calls == 0 and b_backend.calls == 0
    await assert_history_agrees_with_attempts(engines[0])


async def test_recording_a_result_again_after_its_commit_writes_nothing_twice(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    # What a retry does when the first COMMIT failed but had landed: the guarded UPDATE matches
    # nothing, and since no one took the claim away, the result is known to be recorded already.
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", Backend(refs={}), clock, mappings)
    [claimed] = await a.claim("lifecare", 1)
    result = DeliveryResult({"Encounter": "by-a"}, "201")
    await a._succeeded("lifecare", claimed.work, result, clock(), 0.1)
    await a._succeeded("lifecare", claimed.work, result, clock(), 0.1)
    assert await history(engines[0], delivery_id) == [(1, "worker-a", "delivered")]
    assert await disclosure_actors(engines[0], delivery_id) == ["worker-a"]
    assert late_count(a) == 0


async def test_a_worker_that_reclaims_its_own_expired_lease_lets_only_the_newer_claim_complete(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    # The same worker id on both claims: the attempt number tells them apart.
    delivery_id = await queue(engines[0])
    backend = Backend(refs={"Encounter": "by-a"})
    a = worker(engines[0], "worker-a", backend, clock, mappings)
    [first] = await a.claim("lifecare", 1)
    clock.advance(LEASE + 1)
    [second] = await a.claim("lifecare", 1)
    await a.process("lifecare", first)
    await a.process("lifecare", second)
    assert await history(engines[0], delivery_id) == [
        (1, "worker-a", "abandoned"),
        (1, "worker-a", "late"),
        (2, "worker-a", "delivered"),
    ]
    await assert_history_agrees_with_attempts(engines[0])


# -- the attempt history after reclaims ------------------------------------------------------


async def test_a_reclaim_records_the_abandoned_attempt_from_when_it_was_claimed(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", Backend(refs={}), clock, mappings)
    b = worker(engines[1], "worker-b", Backend(refs={}), clock, mappings)
    claimed_at = clock()
    await a.claim("lifecare", 1)  # ... and A dies
    clock.advance(LEASE + 1)
    [reclaimed] = await b.claim("lifecare", 1)
    assert reclaimed.reclaimed_from == "worker-a" and reclaimed.work.attempt == 2
    async with engines[0].connect() as conn:
        abandoned = (await conn.execute(select(attempts).where(attempts.c.delivery_id == delivery_id))).one()
    assert (abandoned.number, abandoned.worker, abandoned.result) == (1, "worker-a", "abandoned")
    assert abandoned.started_at == claimed_at
    await assert_history_agrees_with_attempts(engines[0])  # B's attempt is in flight: 2 = 1 recorded + 1


async def test_a_claim_remembers_when_it_started_until_its_attempt_ends(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", Backend(refs={}), clock, mappings)
    [claimed] = await a.claim("lifecare", 1)
    assert (await delivery(engines[0], delivery_id)).claimed_at == START
    await a.process("lifecare", claimed)
    assert (await delivery(engines[0], delivery_id)).claimed_at is None


async def test_two_workers_reclaiming_the_same_expired_lease_record_its_abandoned_attempt_once(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    ids = [await queue(engines[0]) for _ in range(6)]
    a = worker(engines[0], "worker-a", Backend(refs={}), clock, mappings)
    assert len(await a.claim("lifecare", 6)) == 6  # ... and A dies
    clock.advance(LEASE + 1)
    b = worker(engines[1], "worker-b", Backend(refs={}), clock, mappings)
    c = worker(engines[2], "worker-c", Backend(refs={}), clock, mappings)
    got_b, got_c = await asyncio.gather(b.claim("lifecare", 6), c.claim("lifecare", 6))
    assert sorted(x.work.delivery_id for x in [*got_b, *got_c]) == sorted(ids)
    async with engines[0].connect() as conn:
        abandoned = await conn.execute(
            select(attempts.c.delivery_id, func.count())
            .where(attempts.c.result == "abandoned")
            .group_by(attempts.c.delivery_id)
        )
        assert sorted(abandoned.all()) == sorted((i, 1) for i in ids)
    await assert_history_agrees_with_attempts(engines[0])


async def test_a_claim_handed_back_by_a_caller_that_stopped_waiting_is_recorded_as_abandoned(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0])
    backend = Backend(refs={}, gated=True)
    a = worker(engines[0], "api-worker", backend, clock, mappings)
    claimed = await a.claim_delivery("lifecare", delivery_id)
    assert claimed is not None
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(a.process("lifecare", claimed), timeout=0.2)
    await a.release("lifecare", delivery_id)
    row = await delivery(engines[0], delivery_id)
    assert row.status == "pending" and row.claimed_at is None
    assert await history(engines[0], delivery_id) == [(1, "api-worker", "abandoned")]
    await assert_history_agrees_with_attempts(engines[0])


async def test_a_hold_for_consent_gives_back_the_attempt_it_never_made(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0], consent_id="no-such-consent")
    backend = Backend(refs={})
    assert await worker(engines[0], "worker-a", backend, clock, mappings).run_until_idle() == 1
    row = await delivery(engines[0], delivery_id)
    assert row.status == "held_for_consent" and row.attempts == 0 and backend.calls == 0
    assert await history(engines[0], delivery_id) == []
    await assert_history_agrees_with_attempts(engines[0])


# -- transient database errors ---------------------------------------------------------------


@contextmanager
def one_transient_error_on(engine: AsyncEngine, fragment: str) -> Iterator[list[str]]:
    """The first statement containing ``fragment`` fails as a restarting database would."""
    failed: list[str] = []

    def fail_once(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if failed or fragment not in " ".join(statement.split()):
            return
        failed.append(statement)
        if engine.dialect.name == "sqlite":
            locked = sqlite3.OperationalError("database is locked")
            locked.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise locked
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    event.listen(engine.sync_engine, "before_cursor_execute", fail_once)
    try:
        yield failed
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", fail_once)


async def test_a_claim_broken_by_a_transient_database_error_is_retried(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", Backend(refs={}), clock, mappings)
    with one_transient_error_on(engines[0], "SET status = 'in_flight'") as failed:
        [claimed] = await a.claim("lifecare", 1)
    assert failed and claimed.work.delivery_id == delivery_id and claimed.work.attempt == 1


async def test_a_lease_renewal_broken_by_a_transient_database_error_is_retried(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", Backend(refs={}), clock, mappings)
    await a.claim("lifecare", 1)
    clock.advance(LEASE / 3)
    with one_transient_error_on(engines[0], "SET lease_expires_at") as failed:
        await a.renew_leases()
    assert failed
    assert (await delivery(engines[0], delivery_id)).lease_expires_at == clock() + timedelta(seconds=LEASE)


async def test_recording_a_delivery_broken_by_a_transient_database_error_is_retried(
    engines: list[AsyncEngine], clock: Clock, mappings: MappingSet
) -> None:
    delivery_id = await queue(engines[0])
    a = worker(engines[0], "worker-a", Backend(refs={"Encounter": "by-a"}), clock, mappings)
    [claimed] = await a.claim("lifecare", 1)
    with one_transient_error_on(engines[0], "INSERT INTO disclosures") as failed:
        await a.process("lifecare", claimed)
    assert failed
    assert await history(engines[0], delivery_id) == [(1, "worker-a", "delivered")]
    assert await disclosure_actors(engines[0], delivery_id) == ["worker-a"]
    assert (await delivery(engines[0], delivery_id)).status == "delivered"
