"""Access tokens of the county's OpenID Connect provider: the key set fetched and cached, signatures checked.

A token passes when its header names an allowed asymmetric algorithm and a key id the provider
publishes, its signature verifies with that key, ``iss`` and ``aud`` are ours, ``exp``, ``iat``
(and ``nbf`` when present) hold within the leeway, and its claims name an enabled API client
(:mod:`gateway.security.oidc_claims` says how claims become a :class:`Principal`).

The key set (JWKS) is fetched from ``jwks_url``, or from the discovery document's ``jwks_uri``,
and reused for ``jwks_cache_seconds``. An unknown key id triggers a fetch, since providers rotate
keys by publishing a new one, but never more than once per ``jwks_min_refresh_seconds``: a flood
of made-up key ids costs the provider one request. When a fetch fails, the keys already held stay
in use; only when no held key can check a token is the provider "unavailable" (a 503, not a 401:
the token may be fine, and a client told otherwise would fetch new tokens in a loop).

Every refusal is logged with a reason code and nothing of the token.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.tls import tls_context
from gateway.errors import ConfigurationError
from gateway.logs import get_logger
from gateway.security.clients import find_client
from gateway.security.oidc_claims import Claimed, TokenRefused, read_claims
from gateway.security.tokens import Principal
from gateway.settings import OidcSettings

log = get_logger("gateway.security.oidc")

_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_MAX_DOCUMENT_BYTES = 512 * 1024  # a key set or discovery document is a few kilobytes
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

# The first matching class names the reason (subclasses before their bases).
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not-yet-valid"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.InvalidIssuerError, "issuer"),
    (jwt.MissingRequiredClaimError, "missing-claim"),
    (jwt.InvalidSignatureError, "signature"),
    (jwt.InvalidAlgorithmError, "algorithm"),
    (jwt.PyJWKError, "key-unusable"),
    (jwt.DecodeError, "malformed"),
)


class IdentityProviderUnavailable(Exception):
    """No key at hand can check the token, and the provider's key set cannot be fetched now."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("the identity provider's keys are unavailable")
        self.retry_after = retry_after


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts separated by dots (the signature may be empty: ``alg: none`` is refused later)."""
    return _JWT_SHAPE.fullmatch(token) is not None


def refusal_reason(exc: jwt.PyJWTError) -> str:
    return next((reason for kind, reason in _REASONS if isinstance(exc, kind)), "invalid")


@dataclass(frozen=True, slots=True)
class _KeySet:
    keys: dict[str, dict[str, Any]]  # kid → JWK
    fetched_at: float


class OidcVerifier:
    """Checks the provider's access tokens. One per app, built from settings; ``aclose`` on shutdown."""

    def __init__(
        self, settings: OidcSettings, *, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not settings.issuer or not settings.audience:
            raise ConfigurationError("oidc.issuer and oidc.audience are required")
        self._settings = settings
        self._issuer = settings.issuer
        self._audience = settings.audience
        self._http = http
        self._clock = clock
        self._jwks_url = settings.jwks_url and _checked_url(settings.jwks_url)
        self._keys: _KeySet | None = None
        self._last_fetch: float | None = None
        self._last_fetch_failed = False
        self._fetching = asyncio.Lock()  # one fetch at a time; the others then find its keys

    async def verify(self, token: str) -> Claimed | None:
        """The token's claims in the gateway's terms, or None (the reason logged); IdentityProviderUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg not in self._settings.algorithms:
                raise TokenRefused("algorithm")
            kid = header.get("kid")
            if not isinstance(kid, str):
                raise TokenRefused("no-kid")
            jwk = await self._key(kid)
            if jwk.get("alg", alg) != alg:
                raise TokenRefused("key-algorithm-mismatch")
            claims = jwt.decode(
                token,
                jwt.PyJWK(jwk, algorithm=alg),  # the key bound to the one algorithm checked above
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            return read_claims(claims, self._settings)
        except TokenRefused as refused:
            reason = refused.reason
        except jwt.PyJWTError as exc:
            reason = refusal_reason(exc)
        log.info("identity provider token refused", reason=reason)
        return None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _key(self, kid: str) -> dict[str, Any]:
        held = self._keys
        if held is None or kid not in held.keys or self._clock() - held.fetched_at >= self._settings.jwks_cache_seconds:
            await self._refresh()
            held = self._keys
        if held is not None and kid in held.keys:
            return held.keys[kid]
        if held is None or self._last_fetch_failed:
            raise IdentityProviderUnavailable(retry_after=max(1.0, math.ceil(self._settings.jwks_min_refresh_seconds)))
        raise TokenRefused("unknown-kid")

    async def _refresh(self) -> None:
        async with self._fetching:
            now = self._clock()
            if self._last_fetch is not None and now - self._last_fetch < self._settings.jwks_min_refresh_seconds:
                return  # fetched a moment ago (perhaps while this request waited for the lock)
            self._last_fetch = now
            try:
                keys = _usable_keys(await self._get_json(self._jwks_url or await self._discover()))
            except (httpx.HTTPError, ValueError) as exc:
                self._last_fetch_failed = True
                log.warning("identity provider keys unavailable", error_type=type(exc).__name__)
                return
            self._keys = _KeySet(keys, now)
            self._last_fetch_failed = False
            log.info("identity provider keys fetched", keys=len(keys))

    async def _discover(self) -> str:
        document = await self._get_json(self._issuer.rstrip("/") + "/.well-known/openid-configuration")
        if not isinstance(document, dict) or document.get("issuer") != self._issuer:
            raise ValueError("the discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise ValueError("the discovery document has no jwks_uri")
        self._jwks_url = _checked_url(jwks_uri, error=ValueError)
        return self._jwks_url

    async def _get_json(self, url: str) -> Any:
        async with self._http.stream("GET", url, headers={"Accept": "application/json"}) as response:
            response.raise_for_status()
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > _MAX_DOCUMENT_BYTES:
                    raise ValueError("the document is too large")
        return json.loads(body)


async def principal_of(conn: AsyncConnection, claimed: Claimed) -> Principal | None:
    """The principal of a verified token whose client exists by name and is enabled, or None."""
    client = await find_client(conn, claimed.client)
    if client is None or client.name != claimed.client:
        log.info("identity provider token refused", reason="unknown-client")
        return None
    if client.disabled:
        log.info("identity provider token refused", reason="client-disabled")
        return None
    return claimed.principal(client_id=client.id, client_name=client.name, systems=client.systems)


def build_verifier(settings: OidcSettings) -> OidcVerifier | None:
    """The verifier of the configured provider, or None when no issuer is configured."""
    if not settings.enabled:
        return None
    _checked_url(settings.issuer or "")
    http = httpx.AsyncClient(
        verify=tls_context("oidc", ca_bundle=settings.ca_bundle),
        timeout=settings.timeout_seconds,
        follow_redirects=False,
    )
    return OidcVerifier(settings, http=http)


def _usable_keys(document: Any) -> dict[str, dict[str, Any]]:
    """Signature keys with a key id. Symmetric ('oct') keys are never taken from a published set."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("the key set has no 'keys' list")
    return {
        key["kid"]: key
        for key in keys
        if isinstance(key, dict)
        and isinstance(key.get("kid"), str)
        and key.get("kty") in ("RSA", "EC", "OKP")
        and key.get("use", "sig") == "sig"
    }


def _checked_url(url: str, *, error: type[Exception] = ConfigurationError) -> str:
    """HTTPS, or plain HTTP to this machine only: keys fetched in clear text could be anyone's."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return url
    raise error(f"oidc: {url!r} is not an https URL")
