"""Outcome service functions (keyword-only; the caller owns the transaction).

``store_accepted`` writes an outcome, its statistics event, its deadlines and one delivery per
planned action; called inside one transaction, they commit together or not at all.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.consents import service as consent_service
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.fingerprints import Fingerprinter
from gateway.mapsets.facts import planning_facts
from gateway.outbox.corrections import Step, diff
from gateway.outbox.service import deliveries_of, enqueue, latest_deliveries
from gateway.outcomes.states import outcome_state
from gateway.plan import Plan
from gateway.plan.consents import facts_from_outcome
from gateway.plan.days import FINNISH_TIME, contact_day
from gateway.settings import DEFAULT_CONSENT_WAIT_HOURS
from gateway.store.schema import consents, deadlines, deliveries, outcomes, statistics_events


async def lock_source_outcome(conn: AsyncConnection, *, system: str, outcome_id: str) -> None:
    """Serialise the revisions of one source outcome until the caller's transaction ends.

    Two corrections posted at once would otherwise both read the same latest revision and both
    supersede it: a fork, after which the older correction could win at a back-end. On PostgreSQL
    a transaction-scoped advisory lock on the outcome's key makes the second wait for the first
    and then see it; on SQLite every writing transaction already holds the database's one write
    lock (``BEGIN IMMEDIATE``). The unique ``outcomes.supersedes`` is the last line: a fork cannot
    commit even if this lock were bypassed.
    """
    if conn.dialect.name != "postgresql":
        return
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": source_lock_key(system, outcome_id)})


def source_lock_key(system: str, outcome_id: str) -> int:
    """The advisory lock key of one source outcome: 64 bits of a hash of its idempotency key."""
    digest = hashlib.sha256(f"{system}\x00{outcome_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def find_revision(conn: AsyncConnection, *, system: str, outcome_id: str, revision: int) -> Any:
    return (
        await conn.execute(
            select(outcomes).where(
                outcomes.c.source_system == system,
                outcomes.c.source_outcome_id == outcome_id,
                outcomes.c.revision == revision,
            )
        )
    ).first()


async def revisions(conn: AsyncConnection, *, system: str, outcome_id: str) -> list[Any]:
    """Every stored revision of a source outcome (id, revision, fingerprint, response), oldest first."""
    rows = await conn.execute(
        select(outcomes.c.id, outcomes.c.revision, outcomes.c.fingerprint, outcomes.c.response)
        .where(outcomes.c.source_system == system, outcomes.c.source_outcome_id == outcome_id)
        .order_by(outcomes.c.revision)
    )
    return list(rows)


async def store_accepted(
    conn: AsyncConnection,
    *,
    outcome_id: str,
    outcome: OutcomeV1,
    plan: Plan,
    fingerprint: str,
    response: dict[str, Any],
    now: datetime,
    enabled_backends: set[str],
    fingerprints: Fingerprinter,
    steps: list[Step],
    earlier_revisions: list[str] | None = None,
    client_id: str | None = None,
    consent_wait: timedelta = timedelta(hours=DEFAULT_CONSENT_WAIT_HOURS),
) -> None:
    """Store an accepted outcome; for a correction, ``earlier_revisions`` are the ids of the revisions before it."""
    earlier = earlier_revisions or []
    event_id = None
    replaced: list[int] = []
    if earlier:  # one statistics event per outcome: a correction replaces the earlier one
        replaced = list(
            (
                await conn.execute(
                    select(outcomes.c.statistics_event_id).where(
                        outcomes.c.id.in_(earlier), outcomes.c.statistics_event_id.is_not(None)
                    )
                )
            )
            .scalars()
            .all()
        )
        await conn.execute(delete(statistics_events).where(statistics_events.c.id.in_(replaced)))
        await conn.execute(update(outcomes).where(outcomes.c.id.in_(earlier)).values(statistics_event_id=None))
    # Every first revision links its event; no link among the earlier ones means retention cut it
    # (gateway.outbox.retention): that event is anonymous now and stays counted as it was.
    if not earlier or replaced:
        event_id = await _statistics_event(conn, plan=plan, now=now)
    await conn.execute(
        insert(outcomes).values(
            id=outcome_id,
            source_system=outcome.source.system,
            source_outcome_id=outcome.source.outcome_id,
            revision=outcome.source.revision,
            fingerprint=fingerprint,
            received_at=now,
            contact_date=contact_day(outcome),
            unit=outcome.unit,
            statistics_only=plan.statistics_only,
            mapping_version=plan.mapping_version,
            plan=plan.describe(),
            planning_facts=planning_facts(outcome),
            response=response,
            supersedes=earlier[-1] if earlier else None,
            statistics_event_id=event_id,
        )
    )
    if plan.deadlines:
        await conn.execute(
            insert(deadlines),
            [
                {
                    "outcome_id": outcome_id,
                    "action_key": d.action_key,
                    "rule_id": d.rule_id,
                    "applies_to": d.applies_to,
                    "due": d.due,
                    "description": d.description,
                    "legal_basis": d.legal_basis,
                }
                for d in plan.deadlines
            ],
        )
    client = consent_service.client_key(fingerprints, outcome.client.hetu) if outcome.client.hetu else None
    origins = await _record_consents(
        conn,
        outcome=outcome,
        now=now,
        fingerprints=fingerprints,
        enabled_backends=enabled_backends,
        client_id=client_id,
    )
    await enqueue(
        conn,
        outcome_id=outcome_id,
        steps=steps,
        now=now,
        enabled_backends=enabled_backends,
        fingerprints=fingerprints,
        revision=outcome.source.revision,
        client_key=client,
        origins=origins,
        consent_wait=consent_wait,
    )
    if client is not None:
        await consent_service.release_held(conn, client=client, now=now, enabled_backends=enabled_backends)


async def _statistics_event(conn: AsyncConnection, *, plan: Plan, now: datetime) -> int:
    s = plan.statistics
    event_id: int = (
        await conn.execute(
            insert(statistics_events)
            .values(
                contact_date=s.contact_date,
                unit=s.unit,
                main_reason=s.main_reason,
                additional_reasons=list(s.additional_reasons),
                contacted_by=s.contacted_by,
                authority_kind=s.authority_kind,
                channel=s.channel,
                ended_how=list(s.ended_how),
                duration_minutes=s.duration_minutes,
                led_to_client_relationship=s.led_to_client_relationship,
                anonymous=s.anonymous,
                recorded_on=now.astimezone(FINNISH_TIME).date(),
            )
            .returning(statistics_events.c.id)
        )
    ).scalar_one()
    return event_id


async def _record_consents(
    conn: AsyncConnection,
    *,
    outcome: OutcomeV1,
    now: datetime,
    fingerprints: Fingerprinter,
    enabled_backends: set[str],
    client_id: str | None,
) -> dict[str, str]:
    """Record the consents given during the contact (once per outcome, whatever its revisions).

    Returns the consent each consent action is about, by action key. The plan already holds those
    actions, so the registry does not queue them a second time.
    """
    origins: dict[str, str] = {}
    day = contact_day(outcome)
    for i, given in enumerate(outcome.consents, start=1):
        source = f"outcome:{outcome.source.system}:{outcome.source.outcome_id}:consent-{i}"
        consent_id = (await conn.execute(select(consents.c.id).where(consents.c.source == source))).scalar()
        if consent_id is None:
            consent_id = await consent_service.record(
                conn,
                facts=facts_from_outcome(outcome, given, day),
                source=source,
                now=now,
                fingerprints=fingerprints,
                enabled_backends=enabled_backends,
                queue_actions=False,
                client_id=client_id,
            )
        origins[f"kela:consent:{i}"] = origins[f"lifecare:consent:{i}"] = consent_id
    return origins


async def plan_steps(
    conn: AsyncConnection, *, plan: Plan, earlier_revisions: list[str], fingerprints: Fingerprinter
) -> list[Step]:
    """What to deliver for this revision: everything for a first revision, the difference for a correction."""
    previous = await latest_deliveries(conn, outcome_ids=earlier_revisions) if earlier_revisions else {}
    return diff(plan.actions, previous, {a.key: fingerprints.of(a.payload) for a in plan.actions})


def describe_steps(steps: list[Step]) -> list[dict[str, Any]]:
    return [
        {
            "key": s.key,
            "change": s.change,
            "document_version": s.document_version,
            "replaces_delivery": s.supersedes or s.cancel,
            "earlier_delivery": s.previous,
        }
        for s in steps
    ]


async def outcome_status(conn: AsyncConnection, *, outcome_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(outcomes).where(outcomes.c.id == outcome_id))).first()
    if row is None:
        return None
    return (await _describe(conn, [row]))[0]


async def subjects_of(conn: AsyncConnection, outcome_ids: list[str]) -> dict[str, str]:
    """The client key (hetu HMAC) of each outcome that has one, from its deliveries: for the access log."""
    if not outcome_ids:
        return {}
    rows = await conn.execute(
        select(deliveries.c.outcome_id, deliveries.c.client_key)
        .where(deliveries.c.outcome_id.in_(outcome_ids), deliveries.c.client_key.is_not(None))
        .distinct()
    )
    return {r.outcome_id: r.client_key for r in rows}


async def outcomes_by_source(conn: AsyncConnection, *, system: str, outcome_id: str | None) -> list[dict[str, Any]]:
    query = select(outcomes).where(outcomes.c.source_system == system)
    if outcome_id is not None:
        query = query.where(outcomes.c.source_outcome_id == outcome_id)
    rows = (
        await conn.execute(query.order_by(outcomes.c.received_at.desc(), outcomes.c.revision.desc()).limit(100))
    ).all()
    return await _describe(conn, list(rows))


async def _describe(conn: AsyncConnection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    grouped = await deliveries_of(conn, ids)
    due: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for d in await conn.execute(select(deadlines).where(deadlines.c.outcome_id.in_(ids)).order_by(deadlines.c.id)):
            due[d.outcome_id].append(
                {
                    "rule": d.rule_id,
                    "applies_to": d.applies_to,
                    "due": d.due.isoformat(),
                    "description": d.description,
                    "legal_basis": d.legal_basis,
                    "action_key": d.action_key,
                }
            )
    described = []
    for row in rows:
        items = grouped.get(row.id, [])
        described.append(
            {
                "id": row.id,
                "source": {"system": row.source_system, "outcome_id": row.source_outcome_id, "revision": row.revision},
                "received_at": row.received_at.isoformat(),
                "contact_date": row.contact_date.isoformat(),
                "unit": row.unit,
                "state": outcome_state(d.get("counts_as", d["status"]) for d in items),
                "statistics_only": row.statistics_only,
                "supersedes": row.supersedes,
                "plan": row.plan,
                "deliveries": items,
                "deadlines": due[row.id],
                "links": {"self": f"/v1/outcomes/{row.id}"},
            }
        )
    return described
