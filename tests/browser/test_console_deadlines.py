"""A supervisor follows the deadlines in the console: counts by unit and rule, a mark with confirmation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.support.deadlines import SetClock, dated, priority
from tests.support.harness import Harness, running_gateway


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    # The day after the contacts: each hand-over is overdue, each service promise due today.
    clock = SetClock("2025-11-18T09:00:00+02:00")
    async with running_gateway(database_url, tmp_path, api_clock=clock) as harness:
        yield harness


async def test_a_supervisor_sees_the_counts_marks_a_hand_over_met_with_confirmation_and_sees_it_gone(
    page: Page, gw: Harness
) -> None:
    handover = dated("05", "2025-11-17T10:00:00+02:00")
    assert (await gw.post(handover)).status_code == 202
    assert (await gw.post(priority(dated("07", "2025-11-17T11:00:00+02:00")))).status_code == 202
    token = await gw.token_for("test-suite", scopes=["deadlines:read", "deadlines:write"])

    await log_in(page, token)
    await expect(page.get_by_role("heading", name="Deadlines", exact=True)).to_be_visible()
    counts = page.locator("#deadline-counts")
    await expect(counts).to_contain_text("overdue 2")
    await expect(counts).to_contain_text("due today 2")
    await expect(counts).to_contain_text("upcoming 1")
    row = page.get_by_role("row").filter(has_text="TA-PALVELUOHJAUS").filter(has_text="THL 51 §")
    await expect(row.first).to_contain_text("1")
    await expect(page.get_by_role("status")).to_contain_text("5 open deadlines")
    await expect(page.get_by_text(handover["client"]["family_name"])).to_have_count(0)
    await screenshot(page, "deadlines")

    listed = page.locator("tbody tr[id^=deadline-]").filter(has_text="TA-PALVELUOHJAUS").filter(has_text="THL 51 §")
    await expect(listed).to_have_count(1)
    await listed.get_by_role("button", name="Mark met…").click()
    await expect(page.get_by_role("heading", name="Confirm: mark deadline met")).to_be_visible()
    await expect(page.get_by_text("Terveydenhuoltolaki 1326/2010 51 §")).to_be_visible()
    await screenshot(page, "deadline-confirm")
    await page.get_by_role("button", name="Mark met now").click()

    await expect(page.get_by_role("status").first).to_contain_text("marked met")
    await expect(counts).to_contain_text("overdue 1")
    await expect(page.get_by_role("status").last).to_contain_text("4 open deadlines")
    await expect(
        page.locator("tbody tr[id^=deadline-]").filter(has_text="TA-PALVELUOHJAUS").filter(has_text="THL 51 §")
    ).to_have_count(0)
    await screenshot(page, "deadline-marked")


async def test_leaving_the_confirmation_marks_nothing(page: Page, gw: Harness) -> None:
    assert (await gw.post(dated("05", "2025-11-17T10:00:00+02:00"))).status_code == 202
    token = await gw.token_for("test-suite", scopes=["deadlines:read", "deadlines:write"])
    await log_in(page, token)
    await page.get_by_role("button", name="Mark met…").first.click()
    await page.get_by_role("link", name="Back without marking").click()
    await expect(page.get_by_role("status")).to_contain_text("2 open deadlines")
