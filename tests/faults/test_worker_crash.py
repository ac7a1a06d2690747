"""The worker process killed mid-delivery and restarted: the back-end still holds exactly one copy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.support.harness import Harness, example, running_gateway


def start_worker(gw: Harness, data_dir: Path) -> subprocess.Popen[bytes]:
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
