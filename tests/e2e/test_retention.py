"""The gateway forgets on time, provably: after every retention nothing it was told names a person.

The whole register table goes through one gateway (every shipped example, consents given,
revoked, expired and used, bookings made and cancelled, a delivery that fails for good and one
left waiting for a consent that never comes). The worker's clock then moves past every retention,
the sweeps run, and every column of every table is scanned for every personal value posted.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gateway.examples import move_dates
from gateway.outbox.retention import MINIMISED_TEXT, SweepReport, window_end
from gateway.store.engine import create_engine
from gateway.store.schema import consents, deliveries, metadata, outcomes, statistics_events
from tests.support.clock import ManualClock, no_jitter
from tests.support.harness import EXAMPLES, Harness, future_window, running_gateway
from tests.support.personal import hetu, hits, personal_values, scan_database

ACTOR = {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"}
EVERY_RETENTION = timedelta(days=60)  # past the longest default retention (30 days), with room


def person(hetu_code: str, given: str, family: str, phone: str) -> dict[str, str]:
    return {"hetu": hetu_code, "given_names": given, "family_name": family, "phone": phone}


def as_client(body: dict[str, Any], who: dict[str, str]) -> dict[str, Any]:
    body["client"] = {**body["client"], **who}
    return body


def consent(who: dict[str, str], **changes: Any) -> dict[str, Any]:
    """A Y100 consent valid for ten days: one in force is the registry's own data, kept while it is."""
    body: dict[str, Any] = {
        "valid_until": (datetime.now(UTC) + timedelta(days=10)).date().isoformat(),
        "consenter": {k: who[k] for k in ("hetu", "given_names", "family_name")},
        "parties": ["kela", "social_care"],
        "purpose": f"Kelan asiointi, {who['given_names']} {who['family_name']} soittaa itse",
        "data_categories": ["identity_and_contact", "benefits"],
        "form": "signed_y100",
        "form_reference": f"Y100-{who['family_name']}-77",
        "recorded_by": ACTOR,
    }
    body.update(changes)
    return body


def booking(who: dict[str, str]) -> dict[str, Any]:
    return {
        "client": {**who, "email": f"{who['family_name'].lower()}@example.fi"},
        "topic": "KELA-TYOTTOMYYS",
        "municipality": "179",
        "window": future_window(),
        "booked_by": ACTOR,
    }


async def delivery_of(gw: Harness, outcome_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await gw.status(outcome_id))["deliveries"][0]
    return found


async def test_after_every_retention_no_table_holds_a_personal_value_posted(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    posted: list[dict[str, Any]] = []
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:

        async def post(path: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
            posted.append(body)
            response = await gw.api.post(path, json=body)
            assert response.status_code == expected, response.text
            answer: dict[str, Any] = response.json()
            return answer

        now = datetime.now(UTC)
        outcome_ids = []
        for path in sorted(EXAMPLES.glob("*.json")):
            body = move_dates(json.loads(path.read_text(encoding="utf-8")), now=now, suffix="retention")
            outcome_ids.append((await post("/v1/outcomes", body, 202))["id"])

        # A hand-over the patient register refuses for good, quoting the person back.
        refused = person(hetu("150377", "-", 913), "Kaarlo Ilmari", "Hylätty", "+358401230001")
        await gw.fault(
            "lifecare",
            method="POST",
            body_contains=refused["hetu"],
            status=422,
            content_type="application/fhir+json",
            raw_body=json.dumps(
                {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "business-rule", "diagnostics": f"{refused['hetu']} ?"}],
                }
            ),
        )
        failed_body = as_client(move_dates(json.loads(next(EXAMPLES.glob("05*")).read_text()), now=now), refused)
        failed_body["source"]["outcome_id"] = "retention-failed"
        failed_id = (await post("/v1/outcomes", failed_body, 202))["id"]

        # A Kela booking whose client never consents.
        waiting = person(hetu("020288", "-", 921), "Ritva Annikki", "Odottaja", "+358401230002")
        waiting_body = as_client(move_dates(json.loads(next(EXAMPLES.glob("09*")).read_text()), now=now), waiting)
        waiting_body["source"]["outcome_id"] = "retention-waiting"
        waiting_body["consents"] = []
        waiting_id = (await post("/v1/outcomes", waiting_body, 202))["id"]

        # Consents: given (in force until soon), revoked with a reason that names the person, expired.
        given = person(hetu("110456", "-", 932), "Eino Kalervo", "Suostuja", "+358401230003")
        await post("/v1/consents", consent(given), 201)
        revoking = person(hetu("240591", "-", 944), "Tuula Marjatta", "Peruja", "+358401230004")
        revoked_id = (await post("/v1/consents", consent(revoking), 201))["id"]
        revocation = {"reason": "Tuula Peruja soitti ja perui suostumuksensa", "revoked_by": ACTOR}
        await post(f"/v1/consents/{revoked_id}/revoke", revocation, 200)
        lapsed = person(hetu("301166", "-", 955), "Veikko Antero", "Vanhentunut", "+358401230005")
        yesterday = (now - timedelta(days=1)).date().isoformat()
        await post("/v1/consents", consent(lapsed, valid_from="2026-01-01", valid_until=yesterday), 201)

        # Bookings: one made under a verbal consent (used up by it), one queued and cancelled by the caller.
        booked = person(hetu("051070", "-", 966), "Helmi Sofia", "Varaaja", "+358401230006")
        await post("/v1/consents", consent(booked, form="verbal", form_reference=None), 201)
        assert (await post("/v1/bookings", booking(booked), 201))["status"] == "booked"
        queued = person(hetu("190882", "-", 977), "Oskari Juhani", "Peruttava", "+358401230007")
        await post("/v1/consents", consent(queued), 201)
        clock.catch_up()
        await gw.deliver()  # the consents' registrations reach Kela before it refuses this client's booking
        await gw.fault("kela", body_contains=queued["hetu"], status=503)
        queued_booking = await post("/v1/bookings", booking(queued), 202)
        cancel = {"reason": "Oskari Peruttava hoiti asian itse", "cancelled_by": ACTOR}
        await post(f"/v1/bookings/{queued_booking['id']}/cancel", cancel, 200)
        await gw.simulators["kela"].delete("/_sim/faults")

        clock.catch_up()
        for outcome_id in (*outcome_ids, failed_id):
            await gw.deliver_until_settled(outcome_id)
        await gw.deliver()
        assert (await delivery_of(gw, failed_id))["status"] == "failed"
        assert (await delivery_of(gw, waiting_id))["status"] == "held_for_consent"

        engine = create_engine(gw.settings.resolved_database_url)
        try:
            values = personal_values(posted)
            before = await scan_database(engine)
            assert {"Kaarlo", "Odottaja", "Suostuja", "Varaaja", refused["hetu"]} <= {
                v for v, _ in hits(values, before.lines)
            }

            clock.advance(EVERY_RETENTION.total_seconds())
            await gw.worker.retention.sweep()  # expires the hold; everything settled before now is forgotten
            clock.advance(EVERY_RETENTION.total_seconds())
            # The given consent's validity, the example's Y100 (valid some months) and the hold
            # cancelled by the first sweep: their retentions end later still.
            clock.advance(timedelta(days=365).total_seconds())
            await gw.worker.retention.sweep()
            assert await gw.worker.retention.sweep() == SweepReport()  # idempotent: nothing left

            after = await scan_database(engine)
            assert after.tables >= len(metadata.tables) and after.columns >= sum(
                len(t.c) for t in metadata.tables.values()
            )
            assert after.values > 1000
            assert hits(values, after.lines) == []

            async with engine.connect() as conn:
                # Statistics cannot be joined back: no outcome links to an event, and no event column names an outcome.
                assert (await conn.execute(select(outcomes.c.statistics_event_id))).scalars().all() == [None] * (
                    len(outcome_ids) + 2
                )
                assert "outcome_id" not in statistics_events.c and "recorded_at" not in statistics_events.c
                assert len((await conn.execute(select(statistics_events))).all()) == len(outcome_ids) + 2
                assert set((await conn.execute(select(consents.c.purpose))).scalars()) == {MINIMISED_TEXT}
                assert None not in set((await conn.execute(select(consents.c.minimised_at))).scalars())
                assert None not in set((await conn.execute(select(deliveries.c.purged_at))).scalars())
        finally:
            await engine.dispose()

        # What is left still answers: the outcome that waited says why it was cancelled.
        waited = await gw.status(waiting_id)
        assert waited["state"] == "cancelled"
        assert waited["deliveries"][0]["status_reason"].startswith("no consent arrived before")
        assert (await gw.api.get(f"/v1/consents/{revoked_id}")).status_code == 200
        assert (await gw.api.get(f"/v1/bookings/{queued_booking['id']}")).json()["status"] == "cancelled"


def waiting_booking() -> dict[str, Any]:
    """Example 09's Kela booking, without the consent that would release it."""
    body = move_dates(json.loads(next(EXAMPLES.glob("09*")).read_text()), now=datetime.now(UTC), suffix="held")
    body["consents"] = []
    return body


async def payload_kept(gw: Harness, delivery_id: str) -> bool:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(select(deliveries.c.payload).where(deliveries.c.id == delivery_id))).scalar()
        return found is not None
    finally:
        await engine.dispose()


async def test_a_booking_waiting_for_consent_is_cancelled_when_its_window_ends(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        body = waiting_booking()
        outcome_id = (await gw.post(body)).json()["id"]
        held = await delivery_of(gw, outcome_id)
        ends = window_end({"request": body["results"][0]})
        assert held["status"] == "held_for_consent" and ends is not None
        assert datetime.fromisoformat(held["expires_at"]) == ends
        clock.advance((ends - clock()).total_seconds() - 1)
        assert await gw.worker.retention.expire_held() == 0
        clock.advance(1)
        assert await gw.worker.retention.expire_held() == 1
        status = await gw.status(outcome_id)
        assert status["state"] == "cancelled"
        next_day = date.fromisoformat(body["results"][0]["window"]["latest"]) + timedelta(days=1)
        reason = status["deliveries"][0]["status_reason"]
        assert reason.startswith(f"no consent arrived before {next_day.isoformat()} 00:00 Finnish time")


async def test_a_consent_that_lapses_at_sending_holds_the_booking_until_its_window_ends(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        today = datetime.now(UTC).date().isoformat()
        who = {
            "hetu": "091285-9192",
            "given_names": "Minna Johanna",
            "family_name": "Kelasuo",
            "phone": "+358401234573",
        }
        await gw.api.post("/v1/consents", json=consent(who, valid_from="2026-01-01", valid_until=today))
        body = waiting_booking()
        outcome_id = (await gw.post(body)).json()["id"]
        clock.catch_up()
        clock.advance(timedelta(days=1).total_seconds())  # the consent lapsed at midnight
        await gw.deliver()
        held = await delivery_of(gw, outcome_id)
        assert held["status"] == "held_for_consent" and "expired" in held["status_reason"]
        assert datetime.fromisoformat(held["expires_at"]) == window_end({"request": body["results"][0]})


async def test_a_failed_delivery_keeps_its_payload_for_an_operator_then_loses_it(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        await gw.fault("lifecare", method="POST", status=422)
        outcome_id = (
            await gw.post(move_dates(json.loads(next(EXAMPLES.glob("05*")).read_text()), now=clock()))
        ).json()["id"]
        clock.catch_up()
        failed = (await gw.deliver_until_settled(outcome_id))["deliveries"][0]
        assert failed["status"] == "failed"
        clock.advance(timedelta(hours=73).total_seconds())  # past the delivered retention, not the failed one
        assert await gw.worker.retention.purge_payloads() == 0 and await payload_kept(gw, failed["id"])
        clock.advance(timedelta(days=14).total_seconds())
        assert await gw.worker.retention.purge_payloads() == 1 and not await payload_kept(gw, failed["id"])
        assert (await delivery_of(gw, outcome_id))["personal_data_purged"] is True


async def test_a_delivery_held_for_an_operator_keeps_its_payload(database_url: str, tmp_path: Path) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock, rand=no_jitter) as gw:
        await gw.fault("lifecare", method="POST", status=503, retry_after=1)  # due again after each step
        outcome_id = (
            await gw.post(move_dates(json.loads(next(EXAMPLES.glob("05*")).read_text()), now=clock()))
        ).json()["id"]
        clock.catch_up()
        for _ in range(4):  # a second apart: well past FAST_WORKER's half-second retry budget
            await gw.deliver()
            clock.advance(1)
        held = await delivery_of(gw, outcome_id)
        assert held["status"] == "held"
        clock.advance(timedelta(days=365).total_seconds())
        await gw.worker.retention.sweep()
        assert await payload_kept(gw, held["id"])


async def test_a_correction_after_the_statistics_link_was_cut_adds_no_second_event(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        body = move_dates(json.loads(next(EXAMPLES.glob("05*")).read_text()), now=clock())
        first = (await gw.post(body)).json()["id"]
        clock.catch_up()
        clock.advance(timedelta(days=32).total_seconds())
        assert (await gw.worker.retention.sweep()).unlinked_statistics == 1
        body["source"]["revision"] = 2
        body["guidance"]["summary"] = "Yskä jatkuu; ohjattu hoidon tarpeen arvioon."
        second = (await gw.post(body)).json()["id"]
        assert first != second and await gw.count("statistics_events") == 1


async def test_a_days_statistics_events_are_renumbered_in_an_order_that_ignores_arrival(
    database_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with running_gateway(database_url, tmp_path, clock=clock) as gw:
        for number in ("07", "02", "05", "03", "01"):
            body = move_dates(json.loads(next(EXAMPLES.glob(f"{number}*")).read_text()), now=clock(), suffix="order")
            assert (await gw.post(body)).status_code == 202
        clock.catch_up()
        clock.advance(timedelta(days=32).total_seconds())
        await gw.worker.retention.unlink_statistics()
        engine = create_engine(gw.settings.resolved_database_url)
        try:
            async with engine.connect() as conn:
                rows = [
                    dict(r._mapping)
                    for r in await conn.execute(select(statistics_events).order_by(statistics_events.c.id))
                ]
        finally:
            await engine.dispose()
        contents = [{k: v for k, v in r.items() if k != "id"} for r in rows]
        assert contents == sorted(contents, key=lambda e: tuple(str(e[k]) for k in sorted(e)))
