"""Logging in to the console with the county identity provider's access token (a JWT), not a gateway token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from gateway.security.clients import ensure_client
from gateway.settings import OidcSettings
from gateway.store.engine import create_engine
from tests.browser.conftest import log_in
from tests.support.harness import Harness, running_gateway
from tests.support.idp import AUDIENCE, TestIdentityProvider


@pytest.fixture
def idp() -> Iterator[TestIdentityProvider]:
    with TestIdentityProvider() as provider:
        yield provider


@pytest.fixture
async def gw(database_url: str, tmp_path: Path, idp: TestIdentityProvider) -> AsyncIterator[Harness]:
    oidc = OidcSettings(issuer=idp.issuer, audience=AUDIENCE, jwks_min_refresh_seconds=0)
    async with running_gateway(database_url, tmp_path, oidc=oidc) as harness:
        engine = create_engine(harness.settings.resolved_database_url)
        try:
            async with engine.begin() as conn:
                await ensure_client(conn, name="county-crm", systems=[])
        finally:
            await engine.dispose()
        yield harness


@pytest.fixture
async def context(browser: Browser, gw: Harness) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context(base_url=str(gw.api.base_url))
    made.set_default_timeout(10_000)
    try:
        yield made
    finally:
        await made.close()


async def test_a_person_logs_in_with_the_identity_providers_token_and_is_named_on_every_page(
    page: Page, idp: TestIdentityProvider
) -> None:
    await log_in(page, idp.token(sub="nurse-on-call", scope="openid ops:read"))

    await expect(page.get_by_role("heading", name="Back-ends")).to_be_visible()
    await expect(page.locator(".who")).to_contain_text("county-crm · nurse-on-call")
    await expect(page.locator(".who")).to_contain_text("read only")


async def test_an_expired_identity_provider_token_is_refused_at_login(page: Page, idp: TestIdentityProvider) -> None:
    await log_in(page, idp.token(sub="nurse-on-call", scope="openid ops:read", exp=int(time.time()) - 60))

    await expect(page.get_by_role("alert")).to_contain_text("unknown, expired or revoked")
