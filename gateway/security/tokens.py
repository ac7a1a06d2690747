"""API tokens: random bearer secrets, stored only as SHA-256 hashes, each with its scopes and client.

SHA-256 without a salt is enough here because a token is 256 bits of randomness, not a password:
there is nothing to guess. The plaintext is shown once, when the token is created.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.security.clients import systems_of
from gateway.store.schema import api_clients, api_tokens

SCOPES: dict[str, str] = {
    "outcomes:write": "post guidance outcomes",
    "outcomes:read": "read outcome status and plans",
    "personal:read": "see hetu, names, phone numbers and free text unmasked (every such read is logged)",
    "records:read-all": "read every client's outcomes, consents and bookings (operators, auditors)",
    "audit:read": "search and export the access and disclosure logs",
    "consents:write": "record and revoke consents",
    "consents:read": "read consents",
    "bookings:write": "find slots, book and cancel Kela phone appointments",
    "bookings:read": "read bookings",
    "ops:read": "see queues, deliveries, attempts and back-end health; scrape metrics",
    "ops:write": "replay and cancel deliveries",
    "mappings:admin": "upload, dry-run, activate and roll back mapping versions",
    "statistics:read": "read and export anonymous statistics",
    "deadlines:read": "see open hand-overs and their statutory due dates (no personal data)",
    "deadlines:write": "mark a hand-over's deadline met",
}
TOKEN_PREFIX = "gwt_"  # noqa: S105 - a marker that makes leaked tokens easy to grep for, not a secret


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token (or an identity provider's access token) acting for one client."""

    token_id: str
    name: str
    scopes: frozenset[str]
    client_id: str
    client_name: str
    systems: frozenset[str]
    # The person behind the call, when known (an identity provider's subject for people).
    user: str | None = None

    def speaks_for(self, system: str) -> bool:
        return system in self.systems

    @property
    def reads_all(self) -> bool:
        return "records:read-all" in self.scopes

    @property
    def readable_owner(self) -> str | None:
        """Whose consents and bookings the caller reads: its own client's, or everyone's (None)."""
        return None if self.reads_all else self.client_id

    @property
    def sees_personal(self) -> bool:
        return "personal:read" in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in SCOPES]


async def create_token(
    conn: AsyncConnection,
    *,
    name: str,
    scopes: list[str],
    client_id: str,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[str, str]:
    """Create a token; return (token id, plaintext token). Raise ValueError on an unknown scope."""
    bad = unknown_scopes(scopes)
    if bad:
        raise ValueError(f"unknown scope(s): {', '.join(bad)}; known: {', '.join(SCOPES)}")
    created = now or datetime.now(UTC)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = str(uuid.uuid4())
    await conn.execute(
        insert(api_tokens).values(
            id=token_id,
            name=name,
            token_hash=hash_token(token),
            scopes=sorted(set(scopes)),
            client_id=client_id,
            created_at=created,
            expires_at=created + ttl if ttl else None,
            revoked_at=None,
        )
    )
    return token_id, token


async def authenticate(conn: AsyncConnection, token: str, *, now: datetime | None = None) -> Principal | None:
    """The principal of an active token of an enabled client, or None."""
    row = (
        await conn.execute(
            select(api_tokens, api_clients.c.name.label("client_name"), api_clients.c.disabled_at)
            .join(api_clients, api_clients.c.id == api_tokens.c.client_id)
            .where(api_tokens.c.token_hash == hash_token(token))
        )
    ).first()
    moment = now or datetime.now(UTC)
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= moment):
        return None
    if row.disabled_at is not None:
        return None
    systems = await systems_of(conn, row.client_id)
    return Principal(row.id, row.name, frozenset(row.scopes), row.client_id, row.client_name, systems)


async def revoke_token(conn: AsyncConnection, token_id: str) -> bool:
    result = await conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


async def list_tokens(conn: AsyncConnection) -> list[dict[str, object]]:
    rows = await conn.execute(
        select(api_tokens, api_clients.c.name.label("client_name"))
        .join(api_clients, api_clients.c.id == api_tokens.c.client_id)
        .order_by(api_tokens.c.created_at)
    )
    return [
        {
            "id": r.id,
            "name": r.name,
            "client": r.client_name,
            "scopes": r.scopes,
            "created_at": r.created_at.isoformat(),
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
            "revoked": r.revoked_at is not None,
        }
        for r in rows
    ]
