"""The statistics page: a supervisor with only statistics:read sees charts, tables and downloads the CSV."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from gateway.examples import move_dates
from tests.browser.conftest import log_in, screenshot
from tests.support.harness import EXAMPLES, Harness


async def test_a_supervisor_sees_the_statistics_with_a_chart_and_downloads_the_csv(page: Page, gw: Harness) -> None:
    now = datetime.now(UTC)
    for path in sorted(EXAMPLES.glob("*.json")):
        assert (await gw.post(move_dates(json.loads(path.read_text(encoding="utf-8")), now=now))).status_code < 300
    token = await gw.token_for("supervisor", scopes=["statistics:read"])

    await log_in(page, token)
    await page.goto("/console/statistics")

    await expect(page.get_by_role("heading", name="Statistics", exact=True)).to_be_visible()
    await expect(page.locator("svg.bars").first).to_be_visible()
    await expect(page.get_by_role("link", name="Download Excel (XLSX)")).to_be_visible()
    await screenshot(page, "statistics")
    async with page.expect_download() as started:
        await page.get_by_role("link", name="Download CSV").click()
    download = await started.value
    saved = await download.path()
    assert saved is not None
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")
    assert download.suggested_filename.endswith(".csv")


async def test_the_statistics_page_is_refused_without_the_statistics_scope(page: Page, gw: Harness) -> None:
    token = await gw.token_for("operator", scopes=["ops:read"])

    await log_in(page, token)
    answer = await page.goto("/console/statistics")

    assert answer is not None and answer.status == 403
