"""Retention sweeps on the store itself: holds without a window, late consents, spent consents, re-runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.consents import service as consents
from gateway.fingerprints import Fingerprinter
from gateway.outbox.corrections import Step
from gateway.outbox.retention import MINIMISED_TEXT, Retention, SweepReport
from gateway.outbox.service import enqueue
from gateway.plan import Action, ConsentNeed
from gateway.plan.consents import ConsentFacts
from gateway.settings import WorkerSettings
from gateway.store.schema import consents as consents_table
from gateway.store.schema import deliveries
from tests.support.clock import ManualClock

FINGERPRINTS = Fingerprinter(b"retention-test")
HETU = "131052-308T"
CLIENT = consents.client_key(FINGERPRINTS, HETU)
WAIT = timedelta(hours=168)


def needing_consent() -> Action:
    """An action that needs Kela consent and has no booking window of its own."""
    return Action(
        "kela:letter",
        "kela",
        "kela_letter",
        "kela-letter",
        "test basis",
        "needs a consent",
        {"client": {"hetu": HETU, "given_names": "Aino", "family_name": "Odottava"}},
        ConsentNeed("kela", ("identity_and_contact",), "needs the client's consent"),
    )


def facts(**changes: object) -> ConsentFacts:
    values: dict[str, object] = {
        "consenter": {"hetu": HETU, "given_names": "Aino", "family_name": "Odottava"},
        "guardian": None,
        "parties": ("kela",),
        "purpose": "Aino Odottavan Kela-asiointi",
        "categories": ("identity_and_contact",),
        "valid_from": datetime(2026, 1, 1, tzinfo=UTC).date(),
        "valid_until": None,
        "form": "electronic",
        "form_reference": "e-form 4410",
        "unit": "ASOHJ-KESKITETTY",
        "worker_id": "T-1042",
        "given_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
    }
    values.update(changes)
    return ConsentFacts(**values)  # type: ignore[arg-type]


async def hold(engine: AsyncEngine, now: datetime) -> str:
    async with engine.begin() as conn:
        [delivery_id] = await enqueue(
            conn,
            outcome_id=None,
            steps=[Step("kela:letter", "new", needing_consent())],
            now=now,
            enabled_backends={"kela"},
            fingerprints=FINGERPRINTS,
            client_key=CLIENT,
            consent_wait=WAIT,
        )
    return delivery_id


async def row(engine: AsyncEngine, delivery_id: str) -> object:
    async with engine.connect() as conn:
        return (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()


async def test_a_hold_without_a_window_is_cancelled_once_the_consent_wait_has_passed(engine: AsyncEngine) -> None:
    clock = ManualClock()
    delivery_id = await hold(engine, clock())
    retention = Retention(engine=engine, settings=WorkerSettings(consent_wait_hours=168), clock=clock)
    assert (await row(engine, delivery_id)).expires_at == clock() + WAIT  # type: ignore[attr-defined]
    clock.advance(WAIT.total_seconds() - 1)
    assert await retention.expire_held() == 0
    clock.advance(1)
    assert await retention.expire_held() == 1
    cancelled = await row(engine, delivery_id)
    assert cancelled.status == "cancelled"  # type: ignore[attr-defined]
    assert cancelled.status_reason.startswith("no consent arrived before ")  # type: ignore[attr-defined]


async def test_a_consent_arriving_after_the_hold_expired_does_not_release_it(engine: AsyncEngine) -> None:
    clock = ManualClock()
    delivery_id = await hold(engine, clock())
    late = clock() + WAIT
    async with engine.begin() as conn:
        await consents.record(
            conn, facts=facts(), source="test", now=late, fingerprints=FINGERPRINTS, enabled_backends={"kela"}
        )
    assert (await row(engine, delivery_id)).status == "held_for_consent"  # type: ignore[attr-defined]


async def test_a_hold_recorded_without_an_expiry_gets_one_from_when_it_was_held(engine: AsyncEngine) -> None:
    clock = ManualClock()
    delivery_id = await hold(engine, clock())
    async with engine.begin() as conn:
        await conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(expires_at=None))
    clock.advance(WAIT.total_seconds())
    retention = Retention(engine=engine, settings=WorkerSettings(consent_wait_hours=168), clock=clock)
    assert await retention.expire_held() == 1


async def test_minimising_a_revoked_consent_keeps_only_what_the_audit_needs(engine: AsyncEngine) -> None:
    clock = ManualClock()
    async with engine.begin() as conn:
        consent_id = await consents.record(
            conn, facts=facts(), source="test", now=clock(), fingerprints=FINGERPRINTS, enabled_backends=set()
        )
        await consents.revoke(
            conn,
            consent_id=consent_id,
            reason="Aino Odottava soitti ja perui",
            revoked_by={"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"},
            now=clock(),
            fingerprints=FINGERPRINTS,
            enabled_backends=set(),
        )
    retention = Retention(engine=engine, settings=WorkerSettings(consent_retention_hours=720), clock=clock)
    clock.advance(timedelta(hours=719).total_seconds())
    assert await retention.minimise_consents() == 0
    clock.advance(timedelta(hours=2).total_seconds())
    assert await retention.minimise_consents() == 1
    async with engine.connect() as conn:
        view = await consents.get(conn, consent_id=consent_id)
        found = await consents.find_by_client(conn, client=CLIENT)
    assert view is not None and [c["id"] for c in found] == [consent_id]
    assert {k: view[k] for k in ("consenter", "guardian", "form_reference", "purpose", "revocation_reason")} == {
        "consenter": None,
        "guardian": None,
        "form_reference": None,
        "purpose": MINIMISED_TEXT,
        "revocation_reason": None,
    }
    assert view["status"] == "revoked" and view["revoked_at"] and view["minimised_at"]
    assert view["parties"] == ["kela"] and view["data_categories"] == ["identity_and_contact"]
    assert view["recorded_by"] == {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"} and view["valid_from"]


async def test_a_consent_in_force_is_never_minimised(engine: AsyncEngine) -> None:
    clock = ManualClock()
    async with engine.begin() as conn:
        await consents.record(
            conn, facts=facts(), source="test", now=clock(), fingerprints=FINGERPRINTS, enabled_backends=set()
        )
    clock.advance(timedelta(days=3650).total_seconds())
    retention = Retention(engine=engine, settings=WorkerSettings(), clock=clock)
    assert await retention.minimise_consents() == 0


async def test_revoking_a_minimised_consent_answers_and_queues_nothing(engine: AsyncEngine) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    lapsed = facts(valid_until=datetime(2026, 2, 1, tzinfo=UTC).date())
    async with engine.begin() as conn:
        consent_id = await consents.record(
            conn, facts=lapsed, source="test", now=clock(), fingerprints=FINGERPRINTS, enabled_backends={"kela"}
        )
    retention = Retention(engine=engine, settings=WorkerSettings(), clock=clock)
    assert await retention.minimise_consents() == 1
    async with engine.begin() as conn:
        queued_before = len((await conn.execute(select(deliveries.c.id))).all())
        revoked = await consents.revoke(
            conn,
            consent_id=consent_id,
            reason="Aino Odottava perui",
            revoked_by={"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"},
            now=clock(),
            fingerprints=FINGERPRINTS,
            enabled_backends={"kela"},
        )
        queued_after = len((await conn.execute(select(deliveries.c.id))).all())
        reason = (
            await conn.execute(select(consents_table.c.revocation_reason).where(consents_table.c.id == consent_id))
        ).scalar()
    assert revoked.status == "revoked" and reason is None and queued_after == queued_before


async def test_every_sweep_run_again_finds_nothing_left_to_do(engine: AsyncEngine) -> None:
    clock = ManualClock()
    await hold(engine, clock())
    clock.advance(timedelta(days=400).total_seconds())
    retention = Retention(engine=engine, settings=WorkerSettings(), clock=clock)
    first = await retention.sweep()
    assert first.expired_holds == 1
    assert await retention.sweep() == SweepReport()
