"""API clients: the organisations' systems that call the gateway, each owning its source systems.

A source system (``source.system`` in an outcome) belongs to exactly one client. Only that
client's tokens may post or correct its outcomes, and only they see its records; reading across
clients is the ``records:read-all`` scope, for operators and auditors.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.schema import api_clients, client_systems

SYSTEM_MAX_LENGTH = 64


class ClientError(ValueError):
    """A client operation that cannot be done as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    systems: frozenset[str]
    disabled: bool


async def ensure_client(conn: AsyncConnection, *, name: str, systems: list[str]) -> Client:
    """The client named ``name``, created if missing, owning those of ``systems`` that no one else owns."""
    client = await find_client(conn, name)
    if client is None:
        client = await create_client(conn, name=name, systems=[])
    owned = (await conn.execute(select(client_systems.c.system).where(client_systems.c.system.in_(systems)))).scalars()
    free = sorted(set(systems) - set(owned))
    await add_systems(conn, client_id=client.id, systems=free)
    return Client(client.id, client.name, client.systems | frozenset(free), client.disabled)


async def create_client(conn: AsyncConnection, *, name: str, systems: list[str], now: datetime | None = None) -> Client:
    if not name.strip():
        raise ClientError("a client needs a name")
    if await find_client(conn, name) is not None:
        raise ClientError(f"a client named {name!r} exists already")
    client_id = str(uuid.uuid4())
    await conn.execute(insert(api_clients).values(id=client_id, name=name, created_at=now or datetime.now(UTC)))
    await add_systems(conn, client_id=client_id, systems=systems)
    return Client(client_id, name, frozenset(systems), disabled=False)


async def add_systems(conn: AsyncConnection, *, client_id: str, systems: list[str]) -> None:
    """Give ``systems`` to the client; a system owned by another client is refused, never moved silently."""
    for system in systems:
        if not system or len(system) > SYSTEM_MAX_LENGTH:
            raise ClientError(f"a source system id is 1-{SYSTEM_MAX_LENGTH} characters: {system!r}")
    owners = await conn.execute(
        select(client_systems.c.system, api_clients.c.name)
        .join(api_clients, api_clients.c.id == client_systems.c.client_id)
        .where(client_systems.c.system.in_(systems), client_systems.c.client_id != client_id)
    )
    taken = [f"{row.system} (owned by {row.name})" for row in owners]
    if taken:
        raise ClientError(f"already owned by another client: {', '.join(taken)}; remove it there first")
    new = sorted(set(systems) - await systems_of(conn, client_id))
    if new:
        await conn.execute(insert(client_systems), [{"system": s, "client_id": client_id} for s in new])


async def remove_systems(conn: AsyncConnection, *, client_id: str, systems: list[str]) -> None:
    await conn.execute(
        delete(client_systems).where(client_systems.c.client_id == client_id, client_systems.c.system.in_(systems))
    )


async def disable_client(conn: AsyncConnection, client_id: str, *, now: datetime | None = None) -> bool:
    """Disable a client: every token it has stops working (within the token cache time)."""
    result = await conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client_id, api_clients.c.disabled_at.is_(None))
        .values(disabled_at=now or datetime.now(UTC))
    )
    return bool(result.rowcount)


async def find_client(conn: AsyncConnection, name_or_id: str) -> Client | None:
    row = (
        await conn.execute(
            select(api_clients).where((api_clients.c.name == name_or_id) | (api_clients.c.id == name_or_id))
        )
    ).first()
    if row is None:
        return None
    return Client(row.id, row.name, await systems_of(conn, row.id), disabled=row.disabled_at is not None)


async def systems_of(conn: AsyncConnection, client_id: str) -> frozenset[str]:
    rows = await conn.execute(select(client_systems.c.system).where(client_systems.c.client_id == client_id))
    return frozenset(rows.scalars())


async def list_clients(conn: AsyncConnection) -> list[dict[str, object]]:
    rows = (await conn.execute(select(api_clients).order_by(api_clients.c.created_at, api_clients.c.name))).all()
    owned = (await conn.execute(select(client_systems).order_by(client_systems.c.system))).all()
    return [
        {
            "id": r.id,
            "name": r.name,
            "systems": [o.system for o in owned if o.client_id == r.id],
            "created_at": r.created_at.isoformat(),
            "disabled": r.disabled_at is not None,
        }
        for r in rows
    ]
