"""Access tokens of the county's identity provider, through the public API of a running gateway."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.security.clients import disable_client, ensure_client
from gateway.settings import OidcSettings
from gateway.store.engine import create_engine
from gateway.store.schema import access_log
from tests.support.harness import Harness, eventually, example, running_gateway
from tests.support.idp import AUDIENCE, TestIdentityProvider, new_key

SYSTEM = "county-crm-system"


@pytest.fixture
def idp() -> Iterator[TestIdentityProvider]:
    with TestIdentityProvider() as provider:
        yield provider


@pytest.fixture
async def gw(database_url: str, tmp_path: Path, idp: TestIdentityProvider) -> AsyncIterator[Harness]:
    # No refresh interval, so that a rotated key is fetched at once; the interval has its own tests.
    oidc = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, jwks_min_refresh_seconds=0)
    async with running_gateway(database_url, tmp_path, oidc=oidc) as harness:
        await _client(harness, "county-crm", systems=[SYSTEM])
        yield harness


async def _client(gw: Harness, name: str, *, systems: list[str], disabled: bool = False) -> None:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.begin() as conn:
            client = await ensure_client(conn, name=name, systems=systems)
            if disabled:
                await disable_client(conn, client.id)
    finally:
        await engine.dispose()


async def access_rows(gw: Harness) -> list[Any]:
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(select(access_log).order_by(access_log.c.id)))
    finally:
        await engine.dispose()


def _outcome() -> dict[str, Any]:
    body = example("05")
    body["source"]["system"] = SYSTEM
    return body


async def _post(gw: Harness, token: str) -> httpx.Response:
    async with gw.as_token(token) as api:
        return await api.post("/v1/outcomes", json=_outcome())


async def _assert_refused(gw: Harness, token: str, logs: io.StringIO, reason: str) -> None:
    """A 401 that says no more than "invalid token"; the log says why, and holds nothing of the token."""
    response = await _post(gw, token)
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "The token is unknown, expired or revoked."
    assert "invalid_token" in response.headers["www-authenticate"]
    refusals = [line for line in logs.getvalue().splitlines() if "identity provider token refused" in line]
    assert [json.loads(line)["reason"] for line in refusals] == [reason]
    assert not any(part in logs.getvalue() for part in token.split(".") if part)


async def test_a_machine_token_posts_an_outcome_for_its_clients_system(gw: Harness, idp: TestIdentityProvider) -> None:
    accepted = await _post(gw, idp.token())
    assert accepted.status_code == 202, accepted.text
    assert (await gw.status(accepted.json()["id"]))["plan"]["actions"]


async def test_an_es256_token_is_accepted_as_well(gw: Harness, idp: TestIdentityProvider) -> None:
    assert (await _post(gw, idp.token(idp.key("ES256")))).status_code == 202


async def test_a_persons_read_is_in_the_access_log_under_the_person_from_the_token(
    gw: Harness, idp: TestIdentityProvider
) -> None:
    outcome_id = (await _post(gw, idp.token())).json()["id"]
    person = idp.token(sub="worker-7f3a", scope="outcomes:read personal:read")
    async with gw.as_token(person) as api:
        # What the calling system says about its user does not outrank the identity provider.
        response = await api.get(f"/v1/outcomes/{outcome_id}", headers={"X-User": "someone-else"})
    assert response.status_code == 200, response.text
    [row] = await access_rows(gw)
    assert (row.record_id, row.client_name, row.actor, row.user) == (
        outcome_id,
        "county-crm",
        "worker-7f3a",
        "worker-7f3a",
    )


@pytest.mark.parametrize(
    ("reason", "changes"),
    [
        ("issuer", lambda now: {"iss": "https://idp.example.fi/other"}),
        ("audience", lambda now: {"aud": "some-other-api"}),
        ("expired", lambda now: {"iat": now - 600, "exp": now - 120}),
        ("not-yet-valid", lambda now: {"nbf": now + 600}),
        ("not-yet-valid", lambda now: {"iat": now + 600, "exp": now + 900}),
        ("missing-claim", lambda now: {"exp": None}),
    ],
    ids=["another-issuer", "another-audience", "expired", "nbf-ahead", "iat-ahead", "no-exp"],
)
async def test_a_token_whose_claims_do_not_hold_is_refused(
    gw: Harness,
    idp: TestIdentityProvider,
    captured_logs: io.StringIO,
    reason: str,
    changes: Callable[[int], dict[str, Any]],
) -> None:
    # Times are taken when the test runs, not when it is collected: a long suite must not age them.
    await _assert_refused(gw, idp.token(**changes(int(time.time()))), captured_logs, reason)


async def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(
    gw: Harness, idp: TestIdentityProvider, captured_logs: io.StringIO
) -> None:
    impostor = new_key("RS256", kid=idp.key("RS256").kid)
    await _assert_refused(gw, idp.token(impostor), captured_logs, "signature")


async def test_a_token_with_alg_none_is_refused(
    gw: Harness, idp: TestIdentityProvider, captured_logs: io.StringIO
) -> None:
    await _assert_refused(gw, idp.unsigned_token(), captured_logs, "algorithm")


async def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    gw: Harness, idp: TestIdentityProvider, captured_logs: io.StringIO
) -> None:
    await _assert_refused(gw, idp.hmac_with_public_key(), captured_logs, "algorithm")


async def test_a_token_with_an_unknown_kid_is_refused(
    gw: Harness, idp: TestIdentityProvider, captured_logs: io.StringIO
) -> None:
    await _assert_refused(gw, idp.token(new_key("RS256")), captured_logs, "unknown-kid")


async def test_a_token_of_an_unknown_client_is_refused(
    gw: Harness, idp: TestIdentityProvider, captured_logs: io.StringIO
) -> None:
    await _assert_refused(
        gw, idp.token(azp="nobody-registered", sub="nobody-registered"), captured_logs, "unknown-client"
    )


async def test_a_token_of_a_disabled_client_is_refused(
    gw: Harness, idp: TestIdentityProvider, captured_logs: io.StringIO
) -> None:
    await _client(gw, "retired-crm", systems=[], disabled=True)
    await _assert_refused(gw, idp.token(azp="retired-crm", sub="retired-crm"), captured_logs, "client-disabled")


async def test_a_token_without_the_scope_is_forbidden(gw: Harness, idp: TestIdentityProvider) -> None:
    response = await _post(gw, idp.token(scope="openid outcomes:read"))
    assert response.status_code == 403
    assert response.json()["required_scope"] == "outcomes:write"


async def test_a_key_published_after_start_is_used_without_a_restart(gw: Harness, idp: TestIdentityProvider) -> None:
    assert (await _post(gw, idp.token())).status_code == 202  # the first key set is fetched and held
    rotated = idp.publish(new_key("RS256"))
    assert (await _post(gw, idp.token(rotated))).status_code == 202


async def test_an_unreachable_key_set_is_a_503_with_retry_after(gw: Harness, idp: TestIdentityProvider) -> None:
    idp.down = True
    response = await _post(gw, idp.token())
    assert response.status_code == 503
    assert response.json()["type"].endswith("/identity-provider-unavailable")
    assert int(response.headers["retry-after"]) >= 1


async def test_held_keys_still_check_tokens_while_the_key_set_is_unreachable(
    gw: Harness, idp: TestIdentityProvider
) -> None:
    assert (await _post(gw, idp.token())).status_code == 202
    idp.down = True
    assert (await _post(gw, idp.token(idp.key("ES256")))).status_code == 202


async def test_the_gateways_own_tokens_still_work_beside_the_providers(gw: Harness) -> None:
    assert (await gw.post(example("05"))).status_code == 202


async def test_a_remembered_token_is_refused_once_it_expires(
    database_url: str, tmp_path: Path, idp: TestIdentityProvider
) -> None:
    oidc = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, leeway_seconds=0)
    async with running_gateway(database_url, tmp_path, oidc=oidc, token_cache_seconds=600) as gw:
        await _client(gw, "county-crm", systems=[SYSTEM])
        token = idp.token(scope="outcomes:read", exp=int(time.time()) + 2)
        async with gw.as_token(token) as api:
            assert (await api.get("/v1/outcomes/unknown-id")).status_code == 404

            async def refused() -> bool:
                return (await api.get("/v1/outcomes/unknown-id")).status_code == 401

            # Remembered for far longer than the token lives, it must still stop at 'exp'.
            await eventually(refused, seconds=10, what="the expired token's refusal")
