"""The Kela booking API: find slots, book (at once or queued), read, cancel, and every bad input."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.clock import ManualClock
from tests.support.harness import ACTOR, Harness, booking_body, consent_body, future_window, running_gateway


async def with_consent(gw: Harness, **changes: Any) -> str:
    response = await gw.api.post("/v1/consents", json=consent_body(**changes))
    assert response.status_code == 201
    consent_id: str = response.json()["id"]
    return consent_id


async def kela_bookings(gw: Harness) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await gw.simulators["kela"].get("/_sim/bookings")).json()["bookings"]
    return found


async def test_the_modelled_topics_are_listed(gw: Harness) -> None:
    body = (await gw.api.get("/v1/kela/topics")).json()
    assert body["modelled"] is True and "KELA-TYOTTOMYYS" in {t["code"] for t in body["topics"]}


async def test_free_slots_are_found_on_working_days_in_the_window(gw: Harness) -> None:
    window = future_window()
    search = {"topic": "KELA-ASUMISTUKI", "language": "fi", "window": window, "searched_by": ACTOR}
    slots = (await gw.api.post("/v1/kela/slots/search", json=search)).json()["items"]
    assert slots and all(window["earliest"] <= s["start"][:10] <= window["latest"] for s in slots)


async def test_a_booking_with_consent_is_made_while_the_caller_waits(gw: Harness) -> None:
    consent_id = await with_consent(gw)
    response = await gw.api.post("/v1/bookings", json=booking_body())
    assert response.status_code == 201
    booking = response.json()
    assert booking["status"] == "booked" and booking["consent_id"] == consent_id and booking["slot"]["start"]
    assert [b["booking_id"] for b in await kela_bookings(gw)] == [booking["kela_booking_id"]]
    assert (await gw.api.get(f"/v1/bookings/{booking['id']}")).json()["status"] == "booked"


async def test_a_booking_without_consent_is_409_naming_the_consent_needed(gw: Harness) -> None:
    response = await gw.api.post("/v1/bookings", json=booking_body())
    assert response.status_code == 409 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["consent_required"] == {"party": "kela", "categories": ["identity_and_contact"]}
    assert await gw.count("bookings") == 0 and await kela_bookings(gw) == []


async def test_a_consent_that_does_not_name_kela_is_not_enough(gw: Harness) -> None:
    await with_consent(gw, parties=["social_care"])
    response = await gw.api.post("/v1/bookings", json=booking_body())
    assert response.status_code == 409 and "does not name kela" in response.json()["reasons"][0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"topic": "KELA-HOROSKOOPPI"}, "topic"),
        ({"window": {"earliest": "2020-01-06", "latest": "2020-01-10"}}, "window"),
        ({"window": {"earliest": "2030-12-28", "latest": "2030-12-29"}}, "window"),  # a Saturday and a Sunday
        ({"client": {"hetu": "091285-9192", "given_names": "M", "family_name": "A", "phone": "123"}}, "client.phone"),
        (
            {"client": {"hetu": "091285-9193", "given_names": "M", "family_name": "A", "phone": "+358401234573"}},
            "client.hetu",
        ),
        ({"client": {"given_names": "M", "family_name": "A", "phone": "+358401234573"}}, "client.hetu"),
    ],
    ids=["unknown-topic", "window-in-the-past", "window-without-working-day", "not-a-phone", "bad-hetu", "no-hetu"],
)
async def test_bad_booking_input_is_422_naming_the_field(gw: Harness, changes: dict[str, Any], field: str) -> None:
    await with_consent(gw)
    response = await gw.api.post("/v1/bookings", json=booking_body(**changes))
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    assert await gw.count("bookings") == 0


async def test_the_same_idempotency_key_books_once(gw: Harness) -> None:
    await with_consent(gw)
    headers = {"Idempotency-Key": "crm-booking-1"}
    first = await gw.api.post("/v1/bookings", json=booking_body(), headers=headers)
    again = await gw.api.post("/v1/bookings", json=booking_body(), headers=headers)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert len(await kela_bookings(gw)) == 1


async def test_kela_down_queues_the_booking_and_the_worker_books_it_once(gw: Harness) -> None:
    await with_consent(gw)
    await gw.deliver()  # the consent's registration goes out before Kela goes down
    await gw.fault("kela", status=503, retry_after=0)
    response = await gw.api.post("/v1/bookings", json=booking_body())
    assert response.status_code == 202 and response.json()["status"] == "queued"
    await gw.simulators["kela"].delete("/_sim/faults")
    await gw.deliver()  # Kela said Retry-After: 0, so the retry is due at once
    booking = (await gw.api.get(f"/v1/bookings/{response.json()['id']}")).json()
    assert booking["status"] == "booked"
    assert [a["result"] for a in booking["attempt_history"]] == ["transient", "delivered"]
    assert len(await kela_bookings(gw)) == 1


async def test_a_slow_kela_answer_queues_the_booking_and_it_is_booked_once(database_url: str, tmp_path: Path) -> None:
    async with running_gateway(database_url, tmp_path, booking_wait_seconds=0.5) as gw:
        await with_consent(gw)
        await gw.deliver()
        slow = await gw.fault("kela", body_contains="book>", latency=1.5, times=1)
        response = await gw.api.post("/v1/bookings", json=booking_body())
        assert response.status_code == 202
        # The caller stopped waiting, but the slow request still lands at Kela and books; its answer is never read.
        assert (await gw.finished_request("kela", fault=slow))["status"] == 200
        assert len(await kela_bookings(gw)) == 1
        await gw.deliver()
        booking = (await gw.api.get(f"/v1/bookings/{response.json()['id']}")).json()
        assert booking["status"] == "booked" and len(await kela_bookings(gw)) == 1


async def test_a_chosen_slot_that_was_taken_is_409(gw: Harness) -> None:
    await with_consent(gw)
    search = {"topic": "KELA-TYOTTOMYYS", "municipality": "179", "window": future_window(), "searched_by": ACTOR}
    slot = (await gw.api.post("/v1/kela/slots/search", json=search)).json()["items"][0]
    await gw.simulators["kela"].post("/_sim/contention", json={"times": 1})
    response = await gw.api.post("/v1/bookings", json=booking_body(slot_id=slot["slot_id"]))
    assert response.status_code == 409 and response.json()["title"] == "The chosen slot was taken"
    status = (await gw.api.get(f"/v1/bookings/{response.json()['booking_id']}")).json()["status"]
    assert status == "slot_taken"


async def test_a_booked_appointment_can_be_cancelled(gw: Harness) -> None:
    await with_consent(gw)
    booking = (await gw.api.post("/v1/bookings", json=booking_body())).json()
    cancel = {"reason": "Asiakas sai asian hoidettua", "cancelled_by": ACTOR}
    cancelled = await gw.api.post(f"/v1/bookings/{booking['id']}/cancel", json=cancel)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert [b["status"] for b in await kela_bookings(gw)] == ["cancelled"]


async def test_a_queued_booking_is_cancelled_before_it_reaches_kela(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        await with_consent(gw)
        clock.catch_up()
        await gw.deliver()
        await gw.fault("kela", status=503)
        booking = (await gw.api.post("/v1/bookings", json=booking_body())).json()
        assert booking["status"] == "queued"
        cancel = {"reason": "Ei enää tarpeen", "cancelled_by": ACTOR}
        assert (await gw.api.post(f"/v1/bookings/{booking['id']}/cancel", json=cancel)).json()["status"] == "cancelled"
        await gw.simulators["kela"].delete("/_sim/faults")
        await gw.simulators["kela"].delete("/_sim/requests")
        clock.catch_up()
        clock.advance(3600)  # long after any retry of the failed attempt would have been due
        assert await gw.deliver() == 0
        assert await gw.requests("kela") == [] and await kela_bookings(gw) == []


async def test_a_verbal_consent_is_used_up_by_one_booking(gw: Harness) -> None:
    await with_consent(gw, form="verbal", form_reference=None)
    assert (await gw.api.post("/v1/bookings", json=booking_body())).status_code == 201
    second = await gw.api.post("/v1/bookings", json=booking_body())
    assert second.status_code == 409 and "already used" in second.json()["reasons"][0]


async def test_an_unknown_booking_is_404(gw: Harness) -> None:
    assert (await gw.api.get("/v1/bookings/nope")).status_code == 404


async def test_a_booking_window_for_an_outcome_must_have_a_working_day(gw: Harness) -> None:
    from tests.support.harness import example

    body = example("09")
    body["results"][0]["window"] = {"earliest": "2026-12-26", "latest": "2026-12-27"}
    response = await gw.post(body)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "results[0].window"


async def test_an_outcome_booking_with_an_unknown_topic_is_refused(gw: Harness) -> None:
    from tests.support.harness import example

    body = example("09")
    body["results"][0]["topic"] = "KELA-NOPE"
    assert (await gw.post(body)).json()["errors"][0]["field"] == "results[0].topic"


def test_dates_used_above_are_what_they_claim() -> None:
    assert date(2030, 12, 28).weekday() == 5 and date(2030, 12, 29) - date(2030, 12, 28) == timedelta(days=1)
