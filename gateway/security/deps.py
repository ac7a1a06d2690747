"""FastAPI dependencies for authentication: ``Depends(require("outcomes:write"))``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from gateway.problems import Problem
from gateway.security.tokens import Principal, authenticate
from gateway.state import get_state
from gateway.store.engine import reading

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="asiakasohjaus-gateway"'}


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
        state = get_state(request)
        async with reading(state.engine) as conn:
            principal = await authenticate(conn, token.strip())
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
