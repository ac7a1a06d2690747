"""An operator works the queues in the console: find a failed delivery, release it, see it delivered."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.support.harness import Harness, example

HETU = "300962-901N"  # the client of example 05


async def _failed_handover(gw: Harness) -> tuple[str, str]:
    """A hand-over whose Lifecare delivery was refused once (a 422 naming the client), so it failed."""
    await gw.fault("lifecare", method="POST", status=422, times=1, message=f"Patient {HETU}: Encounter.period missing")
    posted = await gw.post(example("05"))
    assert posted.status_code in (200, 201, 202), posted.text
    status = await gw.deliver_until_settled(posted.json()["id"])
    (failed,) = [d for d in status["deliveries"] if d["status"] == "failed"]
    return str(posted.json()["id"]), str(failed["id"])


async def test_an_operator_finds_a_failed_delivery_releases_it_with_a_reason_and_sees_it_delivered(
    page: Page, gw: Harness
) -> None:
    _, delivery_id = await _failed_handover(gw)
    await log_in(page, gw.token)
    # The failed delivery waits now: the overview's depth chart for Lifecare has a line to draw.
    await expect(page.get_by_role("img", name="lifecare: waiting deliveries")).to_be_visible()
    await screenshot(page, "overview-with-a-failed-delivery")

    await page.get_by_role("link", name="Deliveries").click()
    await page.get_by_label("failed").check()
    await page.get_by_label("Back-end").select_option("lifecare")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("status")).to_contain_text("1 delivery match")
    await screenshot(page, "deliveries-filtered")

    await page.get_by_role("link", name=delivery_id[:8]).click()
    await expect(page.get_by_role("heading", name=re.compile("Delivery"))).to_contain_text(delivery_id)
    await expect(page.get_by_role("cell", name="Encounter.period missing")).to_be_visible()
    await screenshot(page, "delivery-failed")

    await page.get_by_role("button", name="Release…").click()
    await expect(page.get_by_role("status")).to_contain_text("1 delivery would release")
    await expect(page.get_by_role("link", name=delivery_id)).to_be_visible()
    await screenshot(page, "release-dry-run")
    await page.get_by_label("Reason").fill("Lifecare fixed the encounter check")
    await page.get_by_role("button", name="Release 1 now").click()
    await expect(page.get_by_role("heading", name="Done: release")).to_be_visible()
    await screenshot(page, "release-done")

    await gw.deliver()
    await page.goto(f"/console/deliveries/{delivery_id}")
    await expect(page.locator(".badge").first).to_have_text("delivered")
    await screenshot(page, "delivery-delivered")

    await page.get_by_role("link", name="Action log").click()
    row = page.get_by_role("row").filter(has_text="Lifecare fixed the encounter check")
    await expect(row).to_contain_text("release")
    await screenshot(page, "action-log")


async def test_a_confirmation_without_a_reason_moves_nothing(page: Page, gw: Harness) -> None:
    outcome_id, delivery_id = await _failed_handover(gw)
    await log_in(page, gw.token)
    await page.goto(f"/console/deliveries/{delivery_id}")
    await page.get_by_role("button", name="Cancel…").click()
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")

    # The browser would insist on the field; a post can still come without it.
    answer = await page.request.post(
        "/console/act/confirm", form={"csrf": csrf or "", "action": "cancel", "id": delivery_id, "reason": " "}
    )

    assert answer.status == 422 and "Give a reason" in await answer.text()
    statuses = {d["id"]: d["status"] for d in (await gw.status(outcome_id))["deliveries"]}
    assert statuses[delivery_id] == "failed"


async def test_without_personal_read_the_payload_and_backend_messages_are_masked(page: Page, gw: Harness) -> None:
    _, delivery_id = await _failed_handover(gw)
    token = await gw.token_for("night-operator", scopes=["ops:read", "ops:write"])
    await log_in(page, token)

    await page.goto(f"/console/deliveries/{delivery_id}")

    await expect(page.get_by_text("Personal data is masked")).to_be_visible()
    await expect(page.locator("pre.payload")).to_be_visible()
    assert HETU not in await page.content()
    assert "Encounter.period missing" not in await page.content()
    await screenshot(page, "delivery-masked")


async def test_with_personal_read_the_payload_is_shown_and_the_read_is_logged(page: Page, gw: Harness) -> None:
    _, delivery_id = await _failed_handover(gw)
    token = await gw.token_for("day-operator", scopes=["ops:read", "personal:read"])
    before = await gw.count("access_log")
    await log_in(page, token)

    await page.goto(f"/console/deliveries/{delivery_id}")

    await expect(page.locator("pre.payload")).to_contain_text(HETU)
    await expect(page.get_by_role("button", name="Release…")).to_have_count(0)  # read only: no ops:write
    assert await gw.count("access_log") > before


async def test_an_operator_without_ops_write_cannot_act_even_with_a_valid_form(page: Page, gw: Harness) -> None:
    outcome_id, delivery_id = await _failed_handover(gw)
    token = await gw.token_for("watcher", scopes=["ops:read"])
    await log_in(page, token)
    await page.goto(f"/console/deliveries/{delivery_id}")
    await expect(page.get_by_role("button", name="Release…")).to_have_count(0)
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")

    answer = await page.request.post(
        "/console/act/confirm", form={"csrf": csrf or "", "action": "release", "id": delivery_id, "reason": "try"}
    )

    assert answer.status == 403 and "ops:write" in await answer.text()
    statuses = {d["id"]: d["status"] for d in (await gw.status(outcome_id))["deliveries"]}
    assert statuses[delivery_id] == "failed"
