"""``gateway clients``: register the systems that call the gateway and the source systems they own."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.commands.database import DataDir, in_transaction, settings_for
from gateway.security.clients import (
    Client,
    ClientError,
    add_systems,
    create_client,
    disable_client,
    find_client,
    list_clients,
    remove_systems,
)

clients = typer.Typer(help="Register API clients and the source systems each may speak for.", no_args_is_help=True)
Systems = Annotated[list[str], typer.Option("--system", help="A source system id (source.system); repeat for more.")]


async def _existing(conn: AsyncConnection, name: str) -> Client:
    client = await find_client(conn, name)
    if client is None:
        raise typer.BadParameter(f"no client {name!r}; see 'gateway clients list'")
    return client


@clients.command("create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="The client's name, e.g. the calling system.")],
    system: Systems,
    data_dir: DataDir = None,
) -> None:
    """Create a client owning the given source systems; print it as JSON."""

    async def work(conn: AsyncConnection) -> Client:
        try:
            return await create_client(conn, name=name, systems=system)
        except ClientError as exc:
            raise typer.BadParameter(str(exc)) from None

    created = in_transaction(settings_for(data_dir), work)
    typer.echo(json.dumps({"id": created.id, "name": created.name, "systems": sorted(created.systems)}))


@clients.command("list")
def clients_list(data_dir: DataDir = None) -> None:
    """List clients and their source systems as JSON lines."""
    for item in in_transaction(settings_for(data_dir), list_clients):
        typer.echo(json.dumps(item))


@clients.command("add-system")
def clients_add_system(name: str, system: Systems, data_dir: DataDir = None) -> None:
    """Give a client more source systems (a system owned by another client is refused)."""

    async def work(conn: AsyncConnection) -> None:
        client = await _existing(conn, name)
        try:
            await add_systems(conn, client_id=client.id, systems=system)
        except ClientError as exc:
            raise typer.BadParameter(str(exc)) from None

    in_transaction(settings_for(data_dir), work)
    typer.echo(f"{name} now speaks for {', '.join(system)}")


@clients.command("remove-system")
def clients_remove_system(name: str, system: Systems, data_dir: DataDir = None) -> None:
    """Take source systems from a client; its tokens can no longer post for them or read their records."""

    async def work(conn: AsyncConnection) -> None:
        client = await _existing(conn, name)
        await remove_systems(conn, client_id=client.id, systems=system)

    in_transaction(settings_for(data_dir), work)
    typer.echo(f"{name} no longer speaks for {', '.join(system)}")


@clients.command("disable")
def clients_disable(name: str, data_dir: DataDir = None) -> None:
    """Disable a client: all of its tokens stop working."""

    async def work(conn: AsyncConnection) -> bool:
        return await disable_client(conn, (await _existing(conn, name)).id)

    if not in_transaction(settings_for(data_dir), work):
        raise typer.BadParameter(f"client {name!r} is disabled already")
    typer.echo(f"disabled {name}")
