"""The shared circuit rows, on each database: workers in separate processes agree on one circuit and one probe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.metrics import Metrics
from gateway.outbox.circuit import BreakerPolicy, Circuits, CircuitState
from gateway.store.engine import create_engine

POLICY = BreakerPolicy(failure_threshold=3, open_seconds=10, max_open_seconds=60, probe_seconds=30)
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """One engine per worker, as separate processes would have."""
    made = [create_engine(database_url) for _ in range(4)]
    yield made
    for engine in made:
        await engine.dispose()


def circuits(engine: AsyncEngine, name: str, clock: Clock) -> Circuits:
    return Circuits(engine=engine, policy=POLICY, worker_id=name, clock=clock, metrics=Metrics(), cache_seconds=0)


async def fail(worker: Circuits, *, probe: bool = False) -> None:
    async with worker.engine.begin() as conn:
        before, after = await worker.record(conn, "kanta", result="failure", probe=probe)
    worker.settled(before, after)


async def test_failures_of_different_workers_count_together(engines: list[AsyncEngine]) -> None:
    clock = Clock()
    workers = [circuits(engine, f"w{i}", clock) for i, engine in enumerate(engines[:3])]
    await asyncio.gather(*(fail(w) for w in workers))
    assert (await workers[0].view("kanta")).state is CircuitState.OPEN


async def test_workers_racing_for_the_probe_make_one_probe(engines: list[AsyncEngine]) -> None:
    clock = Clock()
    workers = [circuits(engine, f"w{i}", clock) for i, engine in enumerate(engines)]
    for _ in range(POLICY.failure_threshold):
        await fail(workers[0])
    clock.advance(POLICY.open_seconds)

    won = await asyncio.gather(*(w.claim_probe("kanta") for w in workers))

    assert sorted(won) == [False, False, False, True]
    circuit = await workers[0].view("kanta")
    assert circuit.state is CircuitState.HALF_OPEN and circuit.probe_owner == f"w{won.index(True)}"


async def test_no_probe_is_claimed_before_the_open_interval_has_passed(engines: list[AsyncEngine]) -> None:
    clock = Clock()
    worker = circuits(engines[0], "w0", clock)
    for _ in range(POLICY.failure_threshold):
        await fail(worker)
    clock.advance(POLICY.open_seconds - 0.001)
    assert not await worker.claim_probe("kanta")


async def test_a_probe_whose_worker_died_is_claimed_again_once_it_expires(engines: list[AsyncEngine]) -> None:
    clock = Clock()
    dead, alive = circuits(engines[0], "dead", clock), circuits(engines[1], "alive", clock)
    for _ in range(POLICY.failure_threshold):
        await fail(dead)
    clock.advance(POLICY.open_seconds)
    assert await dead.claim_probe("kanta")  # and then never reports

    clock.advance(POLICY.probe_seconds)
    assert not await alive.claim_probe("kanta")
    clock.advance(0.001)
    assert await alive.claim_probe("kanta")


async def test_a_failed_probe_opens_the_circuit_for_longer(engines: list[AsyncEngine]) -> None:
    clock = Clock()
    worker = circuits(engines[0], "w0", clock)
    for _ in range(POLICY.failure_threshold):
        await fail(worker)
    clock.advance(POLICY.open_seconds)
    assert await worker.claim_probe("kanta")
    await fail(worker, probe=True)

    circuit = await worker.view("kanta")
    assert circuit.state is CircuitState.OPEN and circuit.probe_at == clock() + timedelta(seconds=20)


async def test_a_state_change_is_counted_once_by_the_worker_that_made_it(engines: list[AsyncEngine]) -> None:
    clock = Clock()
    workers = [circuits(engine, f"w{i}", clock) for i, engine in enumerate(engines)]
    for worker in workers:  # four failures against a threshold of three: one opening
        await fail(worker)
    opened = sum(
        w.metrics.registry.get_sample_value("gateway_circuit_transitions_total", {"backend": "kanta", "state": "open"})
        or 0
        for w in workers
    )
    assert opened == 1
