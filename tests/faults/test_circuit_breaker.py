"""A back-end that answers 503 for a while: its circuit opens, the others keep delivering, nothing is lost.

The worker's clock is a :class:`ManualClock`: the outage lasts minutes of the worker's time and a
fraction of a second of the test's. Outcomes keep arriving during it (example 07 goes to Kanta and
Lifecare both), and each step runs the worker until nothing more is due.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.outbox.circuit import CircuitState
from gateway.settings import WorkerSettings
from gateway.store.engine import create_engine
from gateway.store.schema import backend_circuits
from tests.support.clock import ManualClock, no_jitter
from tests.support.harness import FAST_WORKER, Harness, example, running_gateway

BREAKER = WorkerSettings(
    **{
        **FAST_WORKER.model_dump(),
        "retry_horizon_hours": 1,
        "base_delay_seconds": 2,
        "max_delay_seconds": 30,
        "circuit_failures": 3,
        "circuit_open_seconds": 10,
        "circuit_max_open_seconds": 40,
    }
)


def both_registers(i: int) -> dict[str, Any]:
    body = copy.deepcopy(example("07"))
    body["source"]["outcome_id"] = f"outage-{i}"
    return body


async def circuit_state(gw: Harness, backend: str) -> str:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            state = (
                await conn.execute(select(backend_circuits.c.state).where(backend_circuits.c.backend == backend))
            ).scalar_one()
            return str(state)
    finally:
        await engine.dispose()


async def kanta_posts(gw: Harness) -> int:
    return sum(r["method"] == "POST" for r in await gw.requests("kanta"))


async def statuses(gw: Harness, outcome_ids: list[str]) -> list[tuple[str, str]]:
    found = []
    for outcome_id in outcome_ids:
        found.extend((d["backend"], d["status"]) for d in (await gw.status(outcome_id))["deliveries"])
    return found


async def outage(gw: Harness, clock: ManualClock, *, steps: int, step_seconds: float) -> list[str]:
    """Kanta answers 503 while an outcome arrives every step; the worker runs after each. Returns the outcomes."""
    await gw.fault("kanta", method="POST", status=503, message="Kanta is down for maintenance")
    posted = []
    for i in range(steps):
        posted.append((await gw.post(both_registers(i))).json()["id"])
        clock.catch_up()
        await gw.deliver()
        clock.advance(step_seconds)
    return posted


async def recover(gw: Harness, clock: ManualClock, posted: list[str]) -> None:
    """Kanta answers again; run the worker (past the open interval) until every delivery has settled."""
    await gw.simulators["kanta"].delete("/_sim/faults")
    for _ in range(20):
        clock.advance(BREAKER.circuit_max_open_seconds)
        await gw.deliver()
        if all(status in ("delivered", "held", "failed") for _, status in await statuses(gw, posted)):
            return
    raise AssertionError("deliveries did not settle after Kanta recovered")


async def test_a_dead_backend_opens_its_circuit_and_sees_a_few_requests_not_hundreds(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, worker=BREAKER, clock=clock, rand=no_jitter) as gw:
        await outage(gw, clock, steps=30, step_seconds=10)  # five minutes of the worker's time

        assert await circuit_state(gw, "kanta") == CircuitState.OPEN
        # the failures that opened it, then one probe per open interval (10, 20, 40, 40, ... s)
        posts = await kanta_posts(gw)
        assert BREAKER.circuit_failures <= posts <= BREAKER.circuit_failures + 12, f"{posts} requests"


async def test_other_backends_keep_delivering_while_one_circuit_is_open(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, worker=BREAKER, clock=clock, rand=no_jitter) as gw:
        posted = await outage(gw, clock, steps=10, step_seconds=10)

        assert await circuit_state(gw, "kanta") == CircuitState.OPEN
        assert await circuit_state(gw, "lifecare") == CircuitState.CLOSED
        lifecare = [status for backend, status in await statuses(gw, posted) if backend == "lifecare"]
        assert lifecare == ["delivered"] * 10


async def test_after_the_outage_the_circuit_closes_and_every_delivery_arrives_once(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, worker=BREAKER, clock=clock, rand=no_jitter) as gw:
        posted = await outage(gw, clock, steps=10, step_seconds=10)
        await recover(gw, clock, posted)

        assert await circuit_state(gw, "kanta") == CircuitState.CLOSED
        kanta = [status for backend, status in await statuses(gw, posted) if backend == "kanta"]
        assert kanta and set(kanta) == {"delivered"}
        documents = (await gw.simulators["kanta"].get("/_sim/documents")).json()["documents"]
        assert len(documents) == len(kanta)


async def test_time_with_the_circuit_open_does_not_spend_the_retry_budget(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    short_budget = WorkerSettings(**{**BREAKER.model_dump(), "retry_horizon_hours": 60 / 3600})
    async with running_gateway(database_url, tmp_path, worker=short_budget, clock=clock, rand=no_jitter) as gw:
        posted = await outage(gw, clock, steps=4, step_seconds=5)  # opens the circuit, 15 s of budget spent
        assert await circuit_state(gw, "kanta") == CircuitState.OPEN
        for _ in range(60):  # an hour more of outage, probed now and then, against a one-minute budget
            clock.advance(60)
            await gw.deliver()
        await recover(gw, clock, posted)

        assert {status for _, status in await statuses(gw, posted)} == {"delivered"}


async def test_a_delivery_retried_past_the_horizon_is_held_for_an_operator(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    no_breaker = WorkerSettings(**{**BREAKER.model_dump(), "retry_horizon_hours": 60 / 3600, "circuit_failures": 1000})
    async with running_gateway(database_url, tmp_path, worker=no_breaker, clock=clock, rand=no_jitter) as gw:
        await gw.fault("kanta", method="POST", status=503)
        outcome_id = (await gw.post(both_registers(0))).json()["id"]
        clock.catch_up()
        for _ in range(5):  # failures 30 s apart: the third has spent the minute
            await gw.deliver()
            clock.advance(30)

        kanta = [d for d in (await gw.status(outcome_id))["deliveries"] if d["backend"] == "kanta"]
        assert {d["status"] for d in kanta} == {"held"}
        assert all("h of retrying" in d["status_reason"] for d in kanta)


async def test_rejections_do_not_open_the_circuit(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, worker=BREAKER, clock=clock, rand=no_jitter) as gw:
        await gw.fault("kanta", method="POST", status=400, message="bad document")
        for i in range(BREAKER.circuit_failures + 2):
            await gw.post(both_registers(i))
        clock.catch_up()
        await gw.deliver()

        assert await kanta_posts(gw) >= BREAKER.circuit_failures + 2
        assert await circuit_state(gw, "kanta") == CircuitState.CLOSED
