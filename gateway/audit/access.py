"""Käyttöloki (the access log): every read of personal data through the API, chained for tamper evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.audit.chain import append
from gateway.security.tokens import Principal
from gateway.store.schema import access_log


async def record_access(
    conn: AsyncConnection,
    principal: Principal,
    *,
    record_type: str,
    record_id: str,
    subject_key: str | None,
    route: str,
    purpose: str | None,
    now: datetime,
) -> None:
    """Log that ``principal`` read one record's personal data, in the caller's transaction.

    ``subject_key`` is the HMAC of the client's hetu, so the log answers "who saw my data" when
    searched with the hetu, without holding it.
    """
    await append(
        conn,
        access_log,
        {
            "accessed_at": now,
            "client_id": principal.client_id,
            "client_name": principal.client_name,
            "actor": principal.name,
            "user": principal.user,
            "purpose": purpose,
            "record_type": record_type,
            "record_id": record_id,
            "subject_key": subject_key,
            "route": route,
        },
    )
