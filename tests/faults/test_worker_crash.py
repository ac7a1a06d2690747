"""Worker processes killed or paused mid-delivery: the back-end holds one copy, the history stays whole.

A worker killed with SIGKILL never reports; the worker that reclaims its deliveries records the
abandoned attempts in the same transaction that takes the leases over. A worker paused with
SIGSTOP past its lease reports when it is continued, after another worker has delivered: its
result is recorded as late and changes nothing. After either, every delivery's attempt count
equals its attempt rows that are not late (see ``tests/support/history.py``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.engine import create_engine
from gateway.store.schema import attempts, disclosures
from tests.support.harness import Harness, example, running_gateway
from tests.support.history import history_mismatches


def start_worker(gw: Harness, data_dir: Path, **settings: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": gw.settings.resolved_database_url,
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_LIFECARE__BASE_URL": gw.lifecare_url,
        "GATEWAY_KANTA__ENABLED": "false",
        "GATEWAY_KELA__ENABLED": "false",
        "GATEWAY_WORKER__LEASE_SECONDS": "2",
        "GATEWAY_WORKER__POLL_SECONDS": "0.1",
        "GATEWAY_WORKER__BASE_DELAY_SECONDS": "0.1",
        **{f"GATEWAY_WORKER__{name.upper()}": value for name, value in settings.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{condition.__name__} not reached in {seconds} s")


@asynccontextmanager
async def database(gw: Harness) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def lifecare_log(gw: Harness) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await gw.lifecare.get("/_sim/requests")).json()["requests"]
    return [e for e in entries if e["path"] == "/"]  # the FHIR transactions


def handover(number: int) -> dict[str, Any]:
    """Example 05 as a distinct source outcome."""
    body = example("05")
    body["source"]["outcome_id"] = f"CRM-CRASH-{number:04d}"
    return body


async def stop_outside_a_transaction(process: subprocess.Popen[bytes], engine: AsyncEngine) -> None:
    """SIGSTOP the worker at a moment it holds no transaction open (so it blocks no one while stopped)."""
    for _ in range(50):
        process.send_signal(signal.SIGSTOP)
        if not await _a_transaction_is_open(engine):
            return
        process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.01)  # let it finish that transaction, then stop it again
    raise AssertionError("the worker was inside a transaction every time it was stopped")


async def _a_transaction_is_open(engine: AsyncEngine) -> bool:
    if engine.dialect.name == "sqlite":
        database_path = make_url(str(engine.url)).database
        assert database_path is not None
        probe = sqlite3.connect(database_path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    async with engine.connect() as conn:
        busy = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
        )
        return int(busy.scalar_one()) > 0


async def test_a_worker_killed_mid_delivery_is_replaced_and_the_back_end_holds_one_copy(
    database_url: str, tmp_path: Path
) -> None:
    async with running_gateway(database_url, tmp_path) as gw:
        await gw.fault(latency=3, times=1)  # the first transaction is slow: the worker is killed meanwhile
        outcome_id = (await gw.post(example("05"))).json()["id"]

        async def request_reached_lifecare() -> bool:
            log = (await gw.lifecare.get("/_sim/requests")).json()["requests"]
            return any(entry["path"] == "/" and entry["ms"] is None for entry in log)

        first = start_worker(gw, tmp_path)
        try:
            await wait_for(request_reached_lifecare)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)

        async def slow_request_landed() -> bool:
            return len((await gw.resources())["Encounter"]) == 1

        await wait_for(slow_request_landed)  # the back-end did the work; nobody heard the answer

        second = start_worker(gw, tmp_path)
        try:

            async def delivered() -> bool:
                return (await gw.status(outcome_id))["state"] == "delivered"

            await wait_for(delivered)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=15) == 0, second.stderr.read().decode() if second.stderr else ""

        stored = await gw.resources()
        assert {kind: len(items) for kind, items in stored.items() if items} == {
            "Patient": 1,
            "Encounter": 1,
            "ServiceRequest": 1,
            "Task": 1,
            "Provenance": 1,
        }
        history = (await gw.status(outcome_id))["deliveries"][0]["attempt_history"]
        assert [a["result"] for a in history] == ["abandoned", "delivered"]


async def test_after_a_worker_is_killed_with_deliveries_in_flight_every_attempt_it_counted_is_in_the_history(
    database_url: str, tmp_path: Path
) -> None:
    outcomes, in_flight = 12, 4
    async with running_gateway(database_url, tmp_path) as gw, database(gw) as engine:
        await gw.fault(latency=3, times=in_flight)  # the first worker's transactions are all slow
        ids = [(await gw.post(handover(n))).json()["id"] for n in range(outcomes)]

        async def its_deliveries_are_all_at_lifecare() -> bool:
            return sum(entry["ms"] is None for entry in await lifecare_log(gw)) == in_flight

        first = start_worker(gw, tmp_path, concurrency=str(in_flight))
        try:
            await wait_for(its_deliveries_are_all_at_lifecare)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)

        async with engine.connect() as conn:  # killed: counted attempts in flight, none recorded
            assert await history_mismatches(conn) == []

        second = start_worker(gw, tmp_path, concurrency=str(in_flight))
        try:

            async def all_delivered() -> bool:
                return all([(await gw.status(i))["state"] == "delivered" for i in ids])

            await wait_for(all_delivered, seconds=60)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=15) == 0, second.stderr.read().decode() if second.stderr else ""

        async with engine.connect() as conn:
            assert await history_mismatches(conn) == []
            counted = await conn.execute(select(attempts.c.result, func.count()).group_by(attempts.c.result))
            results: dict[str, int] = {result: count for result, count in counted.all()}
        assert results == {"abandoned": in_flight, "delivered": outcomes}

        async def slow_requests_landed() -> bool:
            return all(entry["ms"] is not None for entry in await lifecare_log(gw))

        await wait_for(slow_requests_landed)
        assert len((await gw.resources())["Encounter"]) == outcomes


async def test_a_worker_paused_past_its_lease_reports_late_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with running_gateway(database_url, tmp_path) as gw, database(gw) as engine:
        await gw.fault(latency=3, times=1)  # the paused worker's transaction is slow
        outcome_id = (await gw.post(example("05"))).json()["id"]

        async def request_reached_lifecare() -> bool:
            return any(entry["ms"] is None for entry in await lifecare_log(gw))

        paused = start_worker(gw, tmp_path, concurrency="1")
        try:
            await wait_for(request_reached_lifecare)
            await stop_outside_a_transaction(paused, engine)

            async def slow_request_landed() -> bool:
                return len((await gw.resources()).get("Encounter", [])) == 1

            await wait_for(slow_request_landed)  # Lifecare answered; the paused worker has not heard it
            status = await gw.deliver_until_settled(outcome_id)  # reclaims once the paused worker's lease ran out
            assert status["deliveries"][0]["status"] == "delivered"
            paused.send_signal(signal.SIGCONT)

            async def late_result_recorded() -> bool:
                history = (await gw.status(outcome_id))["deliveries"][0]["attempt_history"]
                return any(a["result"] == "late" for a in history)

            await wait_for(late_result_recorded)
        finally:
            paused.send_signal(signal.SIGCONT)
            paused.send_signal(signal.SIGTERM)
            assert paused.wait(timeout=15) == 0, paused.stderr.read().decode() if paused.stderr else ""

        [delivery] = (await gw.status(outcome_id))["deliveries"]
        history = delivery["attempt_history"]
        assert [(a["number"], a["result"]) for a in history] == [(1, "abandoned"), (2, "delivered"), (1, "late")]
        assert history[0]["worker"] == history[2]["worker"] != history[1]["worker"] == gw.worker.worker_id
        assert delivery["status"] == "delivered" and delivery["attempts"] == 2
        async with engine.connect() as conn:
            actors = (await conn.execute(select(disclosures.c.actor))).scalars().all()
            assert actors == [gw.worker.worker_id]
            assert await history_mismatches(conn) == []
        assert len((await gw.resources())["Encounter"]) == 1
