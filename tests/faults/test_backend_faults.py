"""Back-end faults end in exactly one delivery: throttling, timeouts, dropped connections, rejections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.consents.service import refusal_for_delivery
from gateway.settings import WorkerSettings
from tests.support.clock import ManualClock, no_jitter
from tests.support.harness import FAST_WORKER, Harness, example, running_gateway


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path, lifecare={"timeout_seconds": 1}) as harness:
        yield harness


async def lifecare_counts(gw: Harness) -> dict[str, int]:
    return {kind: len(items) for kind, items in (await gw.resources()).items()}


def aware(moment: str) -> datetime:
    value = datetime.fromisoformat(moment)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def transactions(gw: Harness) -> list[dict[str, Any]]:
    """The transactions Lifecare received (each delivery of example 05 is one POST)."""
    return [r for r in await gw.requests("lifecare") if r["method"] == "POST" and r["path"] == "/"]


@pytest.mark.parametrize("status", [429, 503])
async def test_a_retry_after_is_honoured_not_a_moment_sooner(database_url: str, tmp_path: Path, status: int) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock, rand=no_jitter) as gw:
        await gw.fault(status=status, retry_after=30, times=1)
        outcome_id = (await gw.post(example("05"))).json()["id"]
        failed_at = clock.catch_up()

        assert await gw.deliver() == 1
        [delivery] = (await gw.status(outcome_id))["deliveries"]
        assert delivery["status"] == "pending"
        assert aware(delivery["next_attempt_at"]) == failed_at + timedelta(seconds=30)

        clock.advance(29.999)
        assert await gw.deliver() == 0
        assert len(await transactions(gw)) == 1

        clock.advance(0.002)
        assert await gw.deliver() == 1
        [delivery] = (await gw.status(outcome_id))["deliveries"]
        history = [(a["result"], a["backend_status"]) for a in delivery["attempt_history"]]
        assert history == [("transient", str(status)), ("delivered", "200")]
        assert len(await transactions(gw)) == 2
        assert (await lifecare_counts(gw))["Encounter"] == 1


async def test_a_timeout_is_retried_and_the_slow_request_does_not_duplicate(gw: Harness) -> None:
    slow = await gw.fault(latency=2, times=1)
    outcome_id = (await gw.post(example("05"))).json()["id"]
    status = await gw.deliver_until_settled(outcome_id)
    assert status["state"] == "delivered"
    assert [a["result"] for a in status["deliveries"][0]["attempt_history"]] == ["transient", "delivered"]
    # The slow first transaction is still running in Lifecare; once it has been handled too, there is one copy.
    assert (await gw.finished_request("lifecare", fault=slow))["status"] == 200
    assert [r["fault"] for r in await transactions(gw)] == [slow, None]
    assert await lifecare_counts(gw) == {
        "Patient": 1,
        "Encounter": 1,
        "ServiceRequest": 1,
        "Task": 1,
        "Appointment": 0,
        "Provenance": 1,
        "Consent": 0,
    }


async def test_a_dropped_connection_after_processing_ends_in_one_copy(gw: Harness) -> None:
    await gw.fault(drop="after", times=1)
    outcome_id = (await gw.post(example("05"))).json()["id"]
    status = await gw.deliver_until_settled(outcome_id)
    history = status["deliveries"][0]["attempt_history"]
    assert [a["result"] for a in history] == ["transient", "delivered"]
    assert (await lifecare_counts(gw))["Encounter"] == 1


async def test_a_rejection_fails_at_once_for_an_operator(gw: Harness) -> None:
    await gw.fault(status=422, message="Encounter.period is required")
    outcome_id = (await gw.post(example("05"))).json()["id"]
    status = await gw.deliver_until_settled(outcome_id)
    delivery = status["deliveries"][0]
    assert status["state"] == "needs_attention"
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert "Encounter.period is required" in delivery["last_error"]


async def test_exhausted_retries_are_held_never_deleted(database_url: str, tmp_path: Path) -> None:
    worker = WorkerSettings(**{**FAST_WORKER.model_dump(), "max_attempts": 2})
    async with running_gateway(database_url, tmp_path, worker=worker) as gw:
        await gw.fault(status=503)
        outcome_id = (await gw.post(example("05"))).json()["id"]
        status = await gw.deliver_until_settled(outcome_id)
        delivery = status["deliveries"][0]
        assert delivery["status"] == "held" and delivery["attempts"] == 2
        assert "gave up after 2 attempts" in delivery["status_reason"]
        assert await gw.count("deliveries") == 1


async def test_a_lease_whose_worker_died_is_reclaimed_once_it_expires(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        outcome_id = (await gw.post(example("05"))).json()["id"]
        clock.catch_up()
        claimed = await gw.worker.claim("lifecare", 10)  # this "worker" then dies without reporting
        assert len(claimed) == 1

        clock.advance(FAST_WORKER.lease_seconds - 0.001)  # the lease has not quite run out
        assert await gw.worker.claim("lifecare", 10) == []

        clock.advance(0.002)
        assert await gw.deliver() == 1
        [delivery] = (await gw.status(outcome_id))["deliveries"]
        assert [a["result"] for a in delivery["attempt_history"]] == ["abandoned", "delivered"]
        assert (await lifecare_counts(gw))["Encounter"] == 1


async def test_two_workers_never_claim_the_same_delivery(gw: Harness) -> None:
    from gateway.outbox.worker import Worker
    from gateway.store.engine import create_engine

    for i in range(12):
        body = example("05")
        body["source"]["outcome_id"] = f"concurrent-{i}"
        assert (await gw.post(body)).status_code == 202
    other_engine = create_engine(gw.settings.resolved_database_url)
    other = Worker(
        engine=other_engine,
        adapters={},
        mappings=gw.worker.mappings,
        settings=FAST_WORKER,
        consent_check=refusal_for_delivery,
    )
    first, second = await asyncio.gather(gw.worker.claim("lifecare", 8), other.claim("lifecare", 8))
    await other_engine.dispose()
    ids_first = {c.work.delivery_id for c in first}
    ids_second = {c.work.delivery_id for c in second}
    assert not ids_first & ids_second and len(ids_first | ids_second) == 12


async def test_personal_payloads_are_purged_after_delivery_and_retention(database_url: str, tmp_path: Path) -> None:
    worker = WorkerSettings(**{**FAST_WORKER.model_dump(), "purge_after_hours": 0})
    async with running_gateway(database_url, tmp_path, worker=worker) as gw:
        outcome_id = (await gw.post(example("05"))).json()["id"]
        await gw.deliver_until_settled(outcome_id)
        assert "300962-901N" in await gw.table_text()
        assert await gw.worker.retention.purge_payloads() == 1
        assert "300962-901N" not in await gw.table_text()
        assert (await gw.status(outcome_id))["deliveries"][0]["personal_data_purged"] is True
