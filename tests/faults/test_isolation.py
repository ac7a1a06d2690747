"""Per back-end isolation: Kanta down or slow never holds back Lifecare deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import WorkerSettings
from tests.support.harness import FAST_WORKER, Harness, example, running_gateway

# Retries far enough away that a failed Kanta delivery visibly waits for its turn during a test.
PATIENT_RETRIES = WorkerSettings(**{**FAST_WORKER.model_dump(), "base_delay_seconds": 30, "max_delay_seconds": 60})
KANTA_TIMEOUT = 1.0


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(
        database_url, tmp_path, worker=PATIENT_RETRIES, kanta={"timeout_seconds": KANTA_TIMEOUT}
    ) as harness:
        yield harness


def by_backend(status: dict[str, Any], backend: str) -> list[dict[str, Any]]:
    return [d for d in status["deliveries"] if d["backend"] == backend]


def aware(moment: str) -> datetime:
    value = datetime.fromisoformat(moment)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("the condition did not come true in time")
        await asyncio.sleep(0.02)


async def test_kanta_down_does_not_hold_back_the_lifecare_delivery_of_the_same_outcome(gw: Harness) -> None:
    await gw.fault("kanta", status=503)
    outcome_id = (await gw.post(example("07"))).json()["id"]  # one Lifecare, two Kanta deliveries
    assert await gw.deliver() == 3  # one pass: one attempt each, nothing due again
    status = await gw.status(outcome_id)
    now = datetime.now(UTC)
    [lifecare] = by_backend(status, "lifecare")
    assert lifecare["status"] == "delivered" and lifecare["attempts"] == 1
    assert len((await gw.resources())["Encounter"]) == 1
    kanta = by_backend(status, "kanta")
    assert len(kanta) == 2
    for delivery in kanta:
        assert delivery["status"] == "pending" and aware(delivery["next_attempt_at"]) > now
        assert [(a["result"], a["backend_status"]) for a in delivery["attempt_history"]] == [("transient", "503")]
        assert "HTTP 503" in delivery["last_error"]


async def test_a_slow_kanta_does_not_delay_lifecare_deliveries_of_other_outcomes(gw: Harness) -> None:
    await gw.fault("kanta", method="POST", path="^/archive$", latency=KANTA_TIMEOUT * 2)
    social = [(await gw.post(example(name))).json()["id"] for name in ("03", "10")]  # 5 documents, 4 Kanta slots
    kanta_sim = gw.simulators["kanta"]

    async def kanta_stuck() -> bool:
        requests = (await kanta_sim.get("/_sim/requests")).json()["requests"]
        return sum(r["method"] == "POST" and r["ms"] is None for r in requests) >= FAST_WORKER.concurrency

    async def social_attempts() -> list[list[dict[str, Any]]]:
        return [d["attempt_history"] for i in social for d in (await gw.status(i))["deliveries"]]

    stop = asyncio.Event()
    worker = asyncio.create_task(gw.worker.run(stop))
    try:
        await eventually(kanta_stuck)
        accepted = await gw.post(example("05"))
        posted = asyncio.get_running_loop().time()

        async def lifecare_delivered() -> bool:
            return (await gw.status(accepted.json()["id"]))["state"] == "delivered"

        await eventually(lifecare_delivered, seconds=5)
        took = asyncio.get_running_loop().time() - posted
        kanta_while_lifecare_delivered = await social_attempts()

        async def kanta_timed_out() -> bool:
            return sum(bool(h) for h in await social_attempts()) >= FAST_WORKER.concurrency

        await eventually(kanta_timed_out, seconds=5)
    finally:
        stop.set()
        await asyncio.wait_for(worker, timeout=10)
    assert took < KANTA_TIMEOUT
    assert all(not history for history in kanta_while_lifecare_delivered)  # Kanta was still waiting then
    finished = [h[0] for h in await social_attempts() if h]
    assert all(a["result"] == "transient" and "no answer in time" in a["message"] for a in finished)
