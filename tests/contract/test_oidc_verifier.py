"""The identity provider token verifier against a stand-in provider on a real socket: keys, discovery, refresh."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.security.clients import ensure_client
from gateway.security.oidc import IdentityProviderUnavailable, OidcVerifier, principal_of
from gateway.settings import OidcSettings
from tests.support.idp import AUDIENCE, TestIdentityProvider, new_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp() -> Iterator[TestIdentityProvider]:
    with TestIdentityProvider() as provider:
        yield provider


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _verifier(idp: TestIdentityProvider, clock: Clock, **settings: object) -> OidcVerifier:
    config = OidcSettings.model_validate({"issuer": idp.issuer, "audience": AUDIENCE, **settings})
    return OidcVerifier(config, http=httpx.AsyncClient(timeout=5), clock=clock)


@pytest.fixture
async def verifier(idp: TestIdentityProvider, clock: Clock) -> AsyncIterator[OidcVerifier]:
    verifier = _verifier(idp, clock, jwks_min_refresh_seconds=30, jwks_cache_seconds=300)
    yield verifier
    await verifier.aclose()


async def test_the_key_set_is_found_through_discovery_and_then_held(
    verifier: OidcVerifier, idp: TestIdentityProvider
) -> None:
    for _ in range(3):
        assert await verifier.verify(idp.token()) is not None
    assert idp.fetches == 1


async def test_a_flood_of_unknown_kids_asks_the_provider_once_per_interval(
    verifier: OidcVerifier, idp: TestIdentityProvider, clock: Clock
) -> None:
    assert await verifier.verify(idp.token()) is not None
    clock.now += 31
    results = await asyncio.gather(*(verifier.verify(idp.token(new_key("RS256"))) for _ in range(50)))
    assert results == [None] * 50
    assert idp.fetches == 2


async def test_a_rotated_key_is_fetched_once_the_interval_has_passed(
    verifier: OidcVerifier, idp: TestIdentityProvider, clock: Clock
) -> None:
    assert await verifier.verify(idp.token()) is not None
    rotated = idp.publish(new_key("ES256"))
    clock.now += 31
    assert await verifier.verify(idp.token(rotated)) is not None


async def test_the_key_set_is_fetched_again_when_it_is_old(
    verifier: OidcVerifier, idp: TestIdentityProvider, clock: Clock
) -> None:
    assert await verifier.verify(idp.token()) is not None
    clock.now += 301
    assert await verifier.verify(idp.token()) is not None
    assert idp.fetches == 2


async def test_an_unreachable_provider_without_held_keys_is_unavailable(
    verifier: OidcVerifier, idp: TestIdentityProvider
) -> None:
    idp.down = True
    with pytest.raises(IdentityProviderUnavailable):
        await verifier.verify(idp.token())


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    idp: TestIdentityProvider, clock: Clock
) -> None:
    verifier = _verifier(idp, clock, issuer=idp.issuer + "/", audience=AUDIENCE)
    try:
        with pytest.raises(IdentityProviderUnavailable):
            await verifier.verify(idp.token(iss=idp.issuer + "/"))
        assert idp.fetches == 0
    finally:
        await verifier.aclose()


async def test_a_configured_key_set_url_skips_discovery(idp: TestIdentityProvider, clock: Clock) -> None:
    verifier = _verifier(idp, clock, jwks_url=idp.issuer + "/keys", issuer="https://idp.example.fi/realms/county")
    try:
        assert await verifier.verify(idp.token(iss="https://idp.example.fi/realms/county")) is not None
    finally:
        await verifier.aclose()


async def test_a_persons_token_becomes_a_principal_of_its_client_acting_for_the_person(
    verifier: OidcVerifier, idp: TestIdentityProvider, engine: AsyncEngine
) -> None:
    async with engine.begin() as conn:
        await ensure_client(conn, name="county-crm", systems=["county-crm-system"])
    claimed = await verifier.verify(idp.token(sub="worker-7f3a", scope="outcomes:read personal:read", jti="j-1"))
    assert claimed is not None
    async with engine.connect() as conn:
        principal = await principal_of(conn, claimed)
    assert principal is not None
    assert (principal.token_id, principal.name, principal.user, principal.client_name) == (
        "oidc:j-1",
        "worker-7f3a",
        "worker-7f3a",
        "county-crm",
    )
    assert principal.systems == {"county-crm-system"} and principal.scopes == {"outcomes:read", "personal:read"}
