"""Luovutusloki (the disclosure log): every delivery a back-end accepted, chained for tamper evidence.

A disclosure is written in the transaction that marks its delivery delivered, so the log never
says more or less than the outbox did. ``subject_key`` is the delivery's ``client_key`` (the HMAC
of the client's hetu): the log answers "who received my data" when searched with the hetu,
without holding it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.chain import append
from gateway.store.schema import disclosures


async def record_disclosure(
    conn: AsyncConnection,
    *,
    delivery_id: str,
    outcome_id: str | None,
    backend: str,
    kind: str,
    legal_basis: str,
    consent_id: str | None,
    subject_key: str | None,
    actor: str,
    now: datetime,
) -> str:
    """Append one disclosure to the chain, in the caller's transaction; return its hash."""
    # Every column is passed, None included: the hash covers exactly the columns verification reads back.
    return await append(
        conn,
        disclosures,
        {
            "delivery_id": delivery_id,
            "outcome_id": outcome_id,
            "backend": backend,
            "kind": kind,
            "legal_basis": legal_basis,
            "consent_id": consent_id,
            "disclosed_at": now,
            "actor": actor,
            "subject_key": subject_key,
        },
    )
