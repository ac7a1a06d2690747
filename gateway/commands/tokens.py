"""``gateway tokens``: create, list and revoke API tokens; each acts for one client."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.commands.database import DataDir, in_transaction, settings_for
from gateway.security.clients import find_client
from gateway.security.tokens import SCOPES, create_token, list_tokens, revoke_token

tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@tokens.command("create")
def tokens_create(
    scope: Annotated[list[str], typer.Option("--scope", help="Repeat for each scope; 'all' for every scope.")],
    client: Annotated[str, typer.Option("--client", help="The client (name or id) the token acts for.")],
    name: Annotated[str, typer.Option(help="Who or what the token is for.")] = "api-client",
    ttl_hours: Annotated[float | None, typer.Option(help="Expire after this many hours.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a token and print it on stdout (it is shown only this once)."""
    scopes = list(SCOPES) if scope == ["all"] else scope

    async def work(conn: AsyncConnection) -> str:
        owner = await find_client(conn, client)
        if owner is None or owner.disabled:
            raise typer.BadParameter(f"no enabled client {client!r}; see 'gateway clients list'", param_hint="--client")
        try:
            _, token = await create_token(
                conn,
                name=name,
                scopes=scopes,
                client_id=owner.id,
                ttl=timedelta(hours=ttl_hours) if ttl_hours else None,
            )
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--scope") from None
        return token

    typer.echo(in_transaction(settings_for(data_dir), work))


@tokens.command("list")
def tokens_list(data_dir: DataDir = None) -> None:
    """List tokens (never their secrets) as JSON lines."""
    for item in in_transaction(settings_for(data_dir), list_tokens):
        typer.echo(json.dumps(item))


@tokens.command("revoke")
def tokens_revoke(token_id: str, data_dir: DataDir = None) -> None:
    """Revoke a token by its id."""

    async def work(conn: AsyncConnection) -> bool:
        return await revoke_token(conn, token_id)

    if not in_transaction(settings_for(data_dir), work):
        raise typer.BadParameter(f"no active token {token_id}")
    typer.echo(f"revoked {token_id}")


@tokens.command("scopes")
def tokens_scopes() -> None:
    """Show the scopes a token can have."""
    for scope_name, meaning in SCOPES.items():
        typer.echo(f"{scope_name:<16} {meaning}")
