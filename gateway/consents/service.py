"""Consent service functions (keyword-only; the caller owns the transaction).

Recording a consent writes the registry row, queues what the consent itself must become (Kela
registration, FHIR Consent) and releases deliveries that were held waiting for it. Revoking it
cancels what it authorised but has not yet gone out, and queues the revocation to wherever the
consent was registered. The worker asks :func:`refusal_for_delivery` just before sending.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.fingerprints import Fingerprinter
from gateway.outbox.corrections import Step
from gateway.outbox.service import enqueue
from gateway.outbox.states import NEVER_DELIVERED, Event, Status
from gateway.outbox.transitions import bind_consent, stop_unsent
from gateway.plan import Action
from gateway.plan.consent_validity import ConsentView, choose, refusal
from gateway.plan.consents import ConsentFacts, consent_actions, revocation_action
from gateway.store.schema import consents, deliveries

FINNISH_TIME = ZoneInfo("Europe/Helsinki")


def client_key(fingerprints: Fingerprinter, hetu: str) -> str:
    """The keyed hash that matches a client's deliveries and consents without storing the hetu twice."""
    return fingerprints.of({"client": hetu})


def today(now: datetime) -> date:
    return now.astimezone(FINNISH_TIME).date()


def view(row: Any) -> ConsentView:
    return ConsentView(
        row.id,
        frozenset(row.parties),
        frozenset(row.data_categories),
        row.form,
        row.valid_from,
        row.valid_until,
        row.status,
        row.used_by_delivery,
    )


def facts_of(row: Any) -> ConsentFacts:
    return ConsentFacts(
        consenter=row.consenter,
        guardian=row.guardian,
        parties=tuple(row.parties),
        purpose=row.purpose,
        categories=tuple(row.data_categories),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        form=row.form,
        form_reference=row.form_reference,
        unit=row.recorded_by["unit"],
        worker_id=row.recorded_by["worker_id"],
        given_at=row.given_at.isoformat(),
    )


async def record(
    conn: AsyncConnection,
    *,
    facts: ConsentFacts,
    source: str,
    now: datetime,
    fingerprints: Fingerprinter,
    enabled_backends: set[str],
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    queue_actions: bool = True,
    client_id: str | None = None,
) -> str:
    """Record a consent; queue its own deliveries (unless the caller planned them); release held ones.

    ``client_id`` is the API client that recorded it: the one that may read and revoke it.
    """
    consent_id = str(uuid.uuid4())
    key = client_key(fingerprints, facts.consenter["hetu"])
    await conn.execute(
        insert(consents).values(
            id=consent_id,
            client_key=key,
            consenter=facts.consenter,
            guardian=facts.guardian,
            parties=list(facts.parties),
            purpose=facts.purpose,
            data_categories=list(facts.categories),
            form=facts.form,
            form_reference=facts.form_reference,
            valid_from=facts.valid_from,
            valid_until=facts.valid_until,
            status="active",
            recorded_by={"unit": facts.unit, "worker_id": facts.worker_id},
            given_at=datetime.fromisoformat(facts.given_at),
            source=source,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            created_at=now,
            client_id=client_id,
        )
    )
    if queue_actions:
        actions = consent_actions(facts, suffix=consent_id, consent_id=consent_id)
        await _queue(
            conn,
            actions,
            consent_id=consent_id,
            now=now,
            fingerprints=fingerprints,
            enabled_backends=enabled_backends,
            client=key,
        )
    await release_held(conn, client=key, now=now, enabled_backends=enabled_backends)
    return consent_id


async def _queue(
    conn: AsyncConnection,
    actions: list[Action],
    *,
    consent_id: str,
    now: datetime,
    fingerprints: Fingerprinter,
    enabled_backends: set[str],
    client: str,
    steps: list[Step] | None = None,
) -> None:
    await enqueue(
        conn,
        outcome_id=None,
        steps=steps or [Step(a.key, "new", a) for a in actions],
        now=now,
        enabled_backends=enabled_backends,
        fingerprints=fingerprints,
        client_key=client,
        origins={a.key: consent_id for a in actions},
    )


async def release_held(conn: AsyncConnection, *, client: str, now: datetime, enabled_backends: set[str]) -> int:
    """Bind valid consents to this client's deliveries held for consent; return how many were released."""
    held = (
        await conn.execute(
            select(deliveries)
            .where(
                deliveries.c.client_key == client,
                deliveries.c.status == Status.HELD_FOR_CONSENT,
                # Past its expiry a hold is over (retention cancels it on its next sweep): a consent
                # that came too late does not send what was reported as not arriving in time.
                or_(deliveries.c.expires_at.is_(None), deliveries.c.expires_at > now),
            )
            .order_by(deliveries.c.created_at)
        )
    ).all()
    if not held:
        return 0
    candidates = [
        view(r)
        for r in (
            await conn.execute(select(consents).where(consents.c.client_key == client, consents.c.status == "active"))
        ).all()
    ]
    released = 0
    for row in held:
        chosen = choose(candidates, party=row.consent_party, categories=row.consent_categories or [], on=today(now))
        if chosen is None:
            continue
        if not await bind(
            conn, delivery_id=row.id, backend=row.backend, consent=chosen, now=now, enabled_backends=enabled_backends
        ):
            continue
        if chosen.form == "verbal":
            candidates.remove(chosen)
        released += 1
    return released


async def bind(
    conn: AsyncConnection,
    *,
    delivery_id: str,
    backend: str,
    consent: ConsentView,
    now: datetime,
    enabled_backends: set[str],
) -> bool:
    """Authorise a held delivery with ``consent``; a verbal consent is used up by it (one transaction).

    False if the delivery is no longer held for consent (retention cancelled it meanwhile): then
    nothing changes and a verbal consent stays unused.
    """
    bound = await bind_consent(
        conn,
        delivery_id=delivery_id,
        backend=backend,
        consent_id=consent.id,
        now=now,
        enabled_backends=enabled_backends,
    )
    if not bound:
        return False
    if consent.form == "verbal":
        await conn.execute(
            update(consents)
            .where(consents.c.id == consent.id)
            .values(status="used", used_by_delivery=delivery_id, used_at=now)
        )
    return True


async def usable_consent(
    conn: AsyncConnection,
    *,
    client: str,
    party: str,
    categories: list[str],
    now: datetime,
    consent_id: str | None = None,
) -> tuple[ConsentView | None, list[str]]:
    """The consent that would authorise a delivery now, and why each of the client's others would not."""
    query = select(consents).where(consents.c.client_key == client)
    if consent_id is not None:
        query = query.where(consents.c.id == consent_id)
    views = [view(r) for r in (await conn.execute(query)).all()]
    chosen = choose(views, party=party, categories=categories, on=today(now))
    reasons = [why for v in views if (why := refusal(v, party=party, categories=categories, on=today(now)))]
    return chosen, reasons


async def refusal_for_delivery(
    conn: AsyncConnection, *, delivery_id: str, consent_id: str, now: datetime
) -> str | None:
    """Why the bound consent no longer authorises the delivery (expired, revoked), or None."""
    delivery = (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()
    row = (await conn.execute(select(consents).where(consents.c.id == consent_id))).first()
    if row is None:
        return f"consent {consent_id} is not in the registry"
    return refusal(
        view(row),
        party=delivery.consent_party or "",
        categories=delivery.consent_categories or [],
        on=today(now),
        delivery_id=delivery_id,
    )


async def revoke(
    conn: AsyncConnection,
    *,
    consent_id: str,
    reason: str,
    revoked_by: dict[str, str],
    now: datetime,
    fingerprints: Fingerprinter,
    enabled_backends: set[str],
    owner: str | None = None,
) -> Any:
    """Revoke: nothing it authorised goes out from now on; where it was registered, the revocation follows.

    With ``owner``, only a consent that API client recorded is found.
    """
    query = select(consents).where(consents.c.id == consent_id)
    if owner is not None:
        query = query.where(consents.c.client_id == owner)
    row = (await conn.execute(query)).first()
    if row is None or row.status == "revoked":
        return row
    minimised = row.minimised_at is not None
    await conn.execute(
        update(consents)
        .where(consents.c.id == consent_id)
        # A minimised consent keeps no free text, the reason for a late revocation included.
        .values(status="revoked", revoked_at=now, revocation_reason=None if minimised else reason)
    )
    await stop_unsent(
        conn,
        Event.REVOKE,
        where=deliveries.c.consent_id == consent_id,
        now=now,
        reason=f"consent {consent_id} was revoked before delivery",
    )
    if minimised:
        # Minimised: it lapsed (or was used up) long ago, at Kela and in the patient register too,
        # and who consented is no longer known here; there is no registration left to revoke.
        return (await conn.execute(select(consents).where(consents.c.id == consent_id))).one()
    own = (await conn.execute(select(deliveries).where(deliveries.c.origin_consent_id == consent_id))).all()
    facts = facts_of(row)
    for delivery in own:
        if delivery.status in NEVER_DELIVERED:
            await stop_unsent(
                conn,
                Event.REVOKE,
                where=deliveries.c.id == delivery.id,
                now=now,
                reason="the consent was revoked before it was registered",
            )
            continue
        if delivery.status != Status.DELIVERED or delivery.kind not in ("kela_consent", "fhir_consent"):
            continue
        revocation = revocation_action(delivery.kind, delivery.action_key, facts, consent_id, reason)
        step = Step(
            revocation.key,
            "changed",
            revocation,
            supersedes=delivery.id,
            document_version=delivery.document_version + 1,
        )
        await _queue(
            conn,
            [revocation],
            consent_id=consent_id,
            now=now,
            fingerprints=fingerprints,
            enabled_backends=enabled_backends,
            client=row.client_key,
            steps=[step],
        )
    return (await conn.execute(select(consents).where(consents.c.id == consent_id))).one()


def describe(row: Any, related: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "consenter": row.consenter,
        "guardian": row.guardian,
        "parties": row.parties,
        "purpose": row.purpose,
        "data_categories": row.data_categories,
        "form": row.form,
        "form_reference": row.form_reference,
        "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "used_by_delivery": row.used_by_delivery,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "revocation_reason": row.revocation_reason,
        "recorded_by": row.recorded_by,
        "given_at": row.given_at.isoformat(),
        "source": row.source,
        "created_at": row.created_at.isoformat(),
        # Once set, who consented, the form reference and the free text are gone (retention).
        "minimised_at": row.minimised_at.isoformat() if row.minimised_at else None,
        "deliveries": [
            {
                "id": d.id,
                "kind": d.kind,
                "backend": d.backend,
                "status": d.status,
                "status_reason": d.status_reason,
                "relation": "about this consent" if d.origin_consent_id == row.id else "authorised by this consent",
                "references": d.backend_refs or {},
            }
            for d in related
        ],
        "links": {"self": f"/v1/consents/{row.id}"},
    }


async def get(conn: AsyncConnection, *, consent_id: str, owner: str | None = None) -> dict[str, Any] | None:
    """The consent as the API shows it; with ``owner``, only if that client recorded it."""
    query = select(consents).where(consents.c.id == consent_id)
    if owner is not None:
        query = query.where(consents.c.client_id == owner)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    related = (
        await conn.execute(
            select(deliveries)
            .where((deliveries.c.origin_consent_id == consent_id) | (deliveries.c.consent_id == consent_id))
            .order_by(deliveries.c.created_at)
        )
    ).all()
    return describe(row, list(related))


async def subject_of(conn: AsyncConnection, consent_id: str) -> str | None:
    """The consenter's client key (hetu HMAC), for the access log."""
    return (await conn.execute(select(consents.c.client_key).where(consents.c.id == consent_id))).scalar()


async def find_by_client(conn: AsyncConnection, *, client: str, owner: str | None = None) -> list[dict[str, Any]]:
    """A client's (person's) consents; with ``owner``, only those that API client recorded."""
    query = select(consents.c.id).where(consents.c.client_key == client)
    if owner is not None:
        query = query.where(consents.c.client_id == owner)
    rows = (await conn.execute(query.order_by(consents.c.created_at))).scalars().all()
    found = [await get(conn, consent_id=i) for i in rows]
    return [f for f in found if f is not None]
