"""A mappings admin in the console: a new version's diff and dry-run, activated with confirmation, rolled back."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from gateway.examples import move_dates
from gateway.mappings import DEFAULT_MAPPINGS_DIR
from gateway.mapsets.document import document_from_folder
from tests.browser.conftest import log_in, screenshot
from tests.support.harness import Harness, example


async def test_an_admin_reviews_a_version_activates_it_with_confirmation_and_rolls_it_back(
    page: Page, gw: Harness
) -> None:
    posted = await gw.post(move_dates(example("07"), now=datetime.now(UTC), suffix=uuid.uuid4().hex[:8]))
    assert posted.status_code == 202
    candidate = copy.deepcopy(document_from_folder(DEFAULT_MAPPINGS_DIR))
    candidate["reasons"]["MIELI"]["area"] = "social_care"
    uploaded = await gw.api.post("/v1/mappings/versions", json={"document": candidate, "comment": "mieli to social"})
    assert uploaded.status_code == 201

    await log_in(page, gw.token)
    await page.get_by_role("link", name="Mappings").click()
    versions = page.get_by_role("table", name="Mapping versions")
    await expect(versions.get_by_role("row", name=re.compile("Version 1 active"))).to_be_visible()
    await screenshot(page, "mappings-versions")

    await page.get_by_role("link", name="Version 2").click()
    await expect(page.locator("#diff-summary")).to_contain_text("0 added, 0 removed, 1 changed")
    await expect(page.get_by_role("cell", name="/reasons/MIELI/area")).to_be_visible()
    # The example of both registers and the outcome posted above: their records would show other reasons.
    await expect(page.locator("#dry-run-summary")).to_contain_text("2 would change")
    await expect(page.get_by_text("record part reasons").first).to_be_visible()
    await screenshot(page, "mappings-version-diff-dry-run")

    await page.get_by_role("button", name="Activate version 2…").click()
    await expect(page.get_by_role("heading", name="Confirm: activate version 2")).to_be_visible()
    await screenshot(page, "mappings-activate-confirm")
    await page.get_by_label("Comment").fill("Mental health guidance belongs to social care")
    await page.get_by_role("button", name="Activate version 2 now").click()
    await expect(page.get_by_role("heading", name="Done: activated")).to_be_visible()
    assert (await gw.api.get("/v1/mappings/versions")).json()["active"] == 2

    await page.get_by_role("link", name="All versions").click()
    await page.get_by_role("button", name="Roll back…").click()
    await expect(page.get_by_role("heading", name="Confirm: roll back")).to_be_visible()
    await page.get_by_role("button", name="Roll back now").click()
    await expect(page.get_by_role("heading", name="Done: rolled back")).to_be_visible()
    await page.get_by_role("link", name="All versions").click()
    history = page.get_by_role("table", name="Mapping history")
    await expect(history.get_by_role("row").nth(1)).to_contain_text("rolled_back")
    await expect(history.get_by_role("row").nth(1)).to_contain_text("test-suite")
    await screenshot(page, "mappings-rolled-back")
    assert (await gw.api.get("/v1/mappings/versions")).json()["active"] == 1


async def test_a_confirmation_without_the_sessions_csrf_token_changes_nothing(page: Page, gw: Harness) -> None:
    await log_in(page, gw.token)
    answer = await page.request.post(
        "/console/mappings/confirm", form={"action": "activate", "number": "1", "csrf": "forged"}
    )
    assert answer.status == 403
    assert len((await gw.api.get("/v1/mappings/history")).json()["changes"]) == 1
