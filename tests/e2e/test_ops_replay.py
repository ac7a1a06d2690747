"""A replay after a lost answer leaves exactly one copy at each back-end, against the real simulators.

The back-end received the delivery but its answer was lost, and the retry budget (one attempt
here) ran out: the delivery is held although the record exists. The operator's replay re-sends
the same delivery, and each adapter's identifiers make the re-send a no-op at the back-end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import WorkerSettings
from tests.e2e.test_consents import booking_outcome, kela
from tests.support.harness import FAST_WORKER, Harness, example, running_gateway

ONE_ATTEMPT = WorkerSettings(**{**FAST_WORKER.model_dump(), "max_attempts": 1})


async def lifecare_encounters(gw: Harness) -> int:
    return len((await gw.resources())["Encounter"])


async def kanta_documents(gw: Harness) -> int:
    return len((await gw.simulators["kanta"].get("/_sim/documents")).json()["documents"])


async def kela_bookings(gw: Harness) -> int:
    return len(await kela(gw, "bookings"))


# Per back-end: the outcome, the request whose answer is lost (the booking, not the consent
# registered beside it), and how many copies of the record the back-end holds.
CASES: dict[str, tuple[Callable[[], dict[str, Any]], str | None, Callable[[Harness], Awaitable[int]]]] = {
    "lifecare": (lambda: example("05"), None, lifecare_encounters),
    "kanta": (lambda: example("04"), None, kanta_documents),
    "kela": (lambda: booking_outcome(with_consent=True), "slotId", kela_bookings),
}


@pytest.mark.parametrize("backend", list(CASES))
async def test_a_replay_after_a_lost_answer_leaves_one_copy(backend: str, database_url: str, tmp_path: Path) -> None:
    outcome, request, copies = CASES[backend]
    async with running_gateway(database_url, tmp_path, worker=ONE_ATTEMPT) as gw:
        await gw.fault(backend, method="POST", body_contains=request, drop="after", times=1)
        outcome_id = (await gw.post(outcome())).json()["id"]
        await gw.deliver_until_settled(outcome_id)
        assert await copies(gw) == 1  # the back-end has it; the gateway does not know
        held = (await gw.api.get("/v1/ops/deliveries", params={"backend": backend, "status": "held"})).json()
        [held_id] = [d["id"] for d in held["items"]]
        body = {"ids": [held_id], "reason": "answer lost in transit", "dry_run": False}
        replayed = (await gw.api.post("/v1/ops/deliveries/replay", json=body)).json()
        assert replayed["moved"] == [held_id]
        settled = await gw.deliver_until_settled(outcome_id)
        assert all(d["status"] == "delivered" for d in settled["deliveries"] if d["backend"] == backend)
        assert await copies(gw) == 1
