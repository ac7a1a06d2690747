"""Browser fixtures: Debian's chromium, headless, against a gateway serving on a real socket.

The tests fail, never skip, without /usr/bin/chromium: a console nobody has clicked through is
not tested. Playwright's own browser download is not used (closed networks); install the
browser with ``apt-get install -y chromium``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.harness import Harness, running_gateway

CHROMIUM = Path(os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path) as harness:
        yield harness


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"The console's browser tests need chromium at {CHROMIUM}: run 'apt-get install -y chromium' "
            "(Debian), or point GATEWAY_TEST_CHROMIUM at a chromium binary.",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser, gw: Harness) -> AsyncIterator[BrowserContext]:
    # A phone-width window: the console must not need a wide screen.
    made = await browser.new_context(base_url=str(gw.api.base_url), viewport={"width": 480, "height": 900})
    made.set_default_timeout(10_000)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def screenshot(page: Page, name: str) -> None:
    """A full-page picture for people reviewing the console; CI keeps the folder."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def log_in(page: Page, token: str) -> None:
    await page.goto("/console/login")
    await page.get_by_label("Gateway token").fill(token)
    await page.get_by_role("button", name="Log in").click()
