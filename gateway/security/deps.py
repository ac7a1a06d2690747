"""FastAPI dependencies for authentication: ``Depends(require("outcomes:write"))``."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from fastapi import Request

from gateway.problems import Problem
from gateway.security.oidc import IdentityProviderUnavailable, looks_like_jwt, principal_of
from gateway.security.tokens import Principal, authenticate, hash_token
from gateway.state import GatewayState, get_state
from gateway.store.engine import reading

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="asiakasohjaus-gateway"'}


async def principal_for_token(state: GatewayState, token: str) -> Principal | None:
    """The principal of a gateway token or an identity provider's access token, or None if it is not valid.

    The one verification every way in shares (the API's bearer header, the console's cookie); answers
    503 when the identity provider's keys cannot be fetched.
    """
    key = hash_token(token)
    seen = state.tokens_seen.get(key)
    if seen is not None and time.monotonic() < seen[0]:
        return seen[1]
    principal, lifetime = await _authenticate(state, token)
    ttl = min(state.settings.token_cache_seconds, lifetime)
    if ttl > 0:
        if len(state.tokens_seen) > 10_000:  # bound the memory an attacker can make us spend
            state.tokens_seen.clear()
        state.tokens_seen[key] = (time.monotonic() + ttl, principal)
    return principal


async def _authenticate(state: GatewayState, token: str) -> tuple[Principal | None, float]:
    """The token's principal and how many seconds it may be trusted at most (a JWT: until its 'exp')."""
    if state.oidc is not None and looks_like_jwt(token):
        try:
            claimed = await state.oidc.verify(token)
        except IdentityProviderUnavailable as exc:
            raise Problem(
                503,
                "identity-provider-unavailable",
                "Identity provider unavailable",
                "The identity provider's signing keys cannot be fetched now; try again later.",
                headers={"Retry-After": str(int(exc.retry_after))},
            ) from None
        if claimed is None:
            return None, math.inf
        async with reading(state.engine) as conn:
            return await principal_of(conn, claimed), claimed.expires_at - time.time()
    async with reading(state.engine) as conn:
        return await authenticate(conn, token), math.inf


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
        principal = await principal_for_token(get_state(request), token.strip())
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
