"""FastAPI dependencies for authentication: ``Depends(require("outcomes:write"))``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request

from gateway.problems import Problem
from gateway.security.tokens import Principal, authenticate, hash_token
from gateway.state import GatewayState, get_state
from gateway.store.engine import reading

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="asiakasohjaus-gateway"'}


async def _principal(state: GatewayState, token: str) -> Principal | None:
    key = hash_token(token)
    ttl = state.settings.token_cache_seconds
    seen = state.tokens_seen.get(key)
    if seen is not None and time.monotonic() - seen[0] < ttl:
        return seen[1]
    async with reading(state.engine) as conn:
        principal = await authenticate(conn, token)
    if ttl > 0:
        if len(state.tokens_seen) > 10_000:  # bound the memory an attacker can make us spend
            state.tokens_seen.clear()
        state.tokens_seen[key] = (time.monotonic(), principal)
    return principal


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that answers 401 without a valid token and 403 without ``scope``."""

    async def dependency(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401,
                "unauthenticated",
                "Authentication required",
                "Send 'Authorization: Bearer <token>'; create one with 'gateway tokens create'.",
                headers=_CHALLENGE,
            )
        principal = await _principal(get_state(request), token.strip())
        if principal is None:
            raise Problem(
                401,
                "invalid-token",
                "Invalid token",
                "The token is unknown, expired or revoked.",
                headers={**_CHALLENGE, "WWW-Authenticate": _CHALLENGE["WWW-Authenticate"] + ', error="invalid_token"'},
            )
        if scope not in principal.scopes:
            raise Problem(
                403,
                "insufficient-scope",
                "Insufficient scope",
                f"This operation needs the scope '{scope}'.",
                required_scope=scope,
            )
        request.state.principal = principal
        return principal

    return dependency
