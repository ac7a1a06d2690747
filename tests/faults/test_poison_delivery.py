"""One delivery a back-end keeps failing never blocks the others to the same back-end."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.harness import Harness, example, running_gateway

POISON_HETU = "131052-308T"


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path) as harness:
        yield harness


async def test_a_delivery_that_keeps_failing_does_not_block_the_others(gw: Harness) -> None:
    # Only the request about this one client fails, and it fails transiently, for ever: it stays
    # in the queue retrying while every other delivery to the same back-end goes through.
    await gw.fault("lifecare", status=503, body_contains=POISON_HETU)
    poison = copy.deepcopy(example("05"))
    poison["client"]["hetu"] = POISON_HETU
    poison["source"]["outcome_id"] = "POISON-1"
    poisoned = (await gw.post(poison)).json()["id"]
    others = []
    for n in range(5):
        body = copy.deepcopy(example("05"))
        body["source"]["outcome_id"] = f"HEALTHY-{n}"
        others.append((await gw.post(body)).json()["id"])

    settled = [await gw.deliver_until_settled(outcome_id) for outcome_id in others]

    assert all(s["state"] == "delivered" for s in settled)
    stuck = (await gw.status(poisoned))["deliveries"][0]
    # Still retrying or, its budget spent, held for an operator: never delivered, never in the way.
    assert stuck["status"] in ("pending", "held") and stuck["attempts"] >= 1
