"""Logging in and out of the console, and what it refuses: bad tokens, missing scopes, forged forms."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import log_in, screenshot
from tests.support.harness import Harness


async def test_an_operator_logs_in_with_a_gateway_token_and_sees_each_backend(page: Page, gw: Harness) -> None:
    await page.goto("/console/")
    await expect(page).to_have_url("/console/login")
    await screenshot(page, "login")

    await log_in(page, gw.token)

    await expect(page.get_by_role("heading", name="Back-ends")).to_be_visible()
    for backend in gw.endpoints:
        await expect(page.get_by_role("heading", name=backend)).to_be_visible()
    await screenshot(page, "overview")


async def test_a_bad_token_is_refused_at_login(page: Page, gw: Harness) -> None:
    await log_in(page, "gwt_not-a-token-anyone-made")

    await expect(page.get_by_role("alert")).to_contain_text("unknown, expired or revoked")
    await expect(page).to_have_url("/console/login")
    await screenshot(page, "login-refused")
    # Nothing was remembered: the overview still sends the browser to the login.
    await page.goto("/console/")
    await expect(page).to_have_url("/console/login")


async def test_a_token_without_any_console_scope_is_refused_at_login(page: Page, gw: Harness) -> None:
    token = await gw.token_for("crm-only", scopes=["outcomes:write", "outcomes:read"])

    await log_in(page, token)

    await expect(page.get_by_role("alert")).to_contain_text("none of the console's scopes")


async def test_the_session_cookie_is_http_only_and_same_site_strict(page: Page, gw: Harness) -> None:
    await log_in(page, gw.token)
    await expect(page.get_by_role("heading", name="Back-ends")).to_be_visible()

    cookie = next(c for c in await page.context.cookies() if c["name"] == "gw_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert await page.evaluate("document.cookie") == ""


async def test_a_form_post_without_the_sessions_csrf_token_is_refused(page: Page, gw: Harness) -> None:
    await log_in(page, gw.token)
    await expect(page.get_by_role("heading", name="Back-ends")).to_be_visible()

    # The browser's own cookies go with these posts, as with a forged form; only the token is missing or wrong.
    missing = await page.request.post("/console/act", form={"action": "cancel", "status": "pending"})
    forged = await page.request.post("/console/act", form={"action": "cancel", "status": "pending", "csrf": "0" * 64})
    logout = await page.request.post("/console/logout", form={})

    assert (missing.status, forged.status, logout.status) == (403, 403, 403)
    assert "Nothing was done" in await missing.text()
    await page.goto("/console/")
    await expect(page.get_by_role("heading", name="Back-ends")).to_be_visible()


async def test_logging_out_forgets_the_token(page: Page, gw: Harness) -> None:
    await log_in(page, gw.token)

    await page.get_by_role("button", name="Log out").click()

    await expect(page).to_have_url("/console/login")
    assert not [c for c in await page.context.cookies() if c["name"] == "gw_console"]
    await page.goto("/console/deliveries")
    await expect(page).to_have_url("/console/login")


async def test_a_login_posted_without_the_forms_nonce_is_refused(page: Page, gw: Harness) -> None:
    answer = await page.request.post("/console/login", form={"token": gw.token})

    assert answer.status == 403
    assert not [c for c in await page.context.cookies() if c["name"] == "gw_console"]


async def test_an_operator_logs_in_and_moves_around_with_the_keyboard_alone(page: Page, gw: Harness) -> None:
    await page.goto("/console/login")

    await expect(page.get_by_label("Gateway token")).to_be_focused()
    await page.keyboard.type(gw.token)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Back-ends")).to_be_visible()

    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Deliveries")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Deliveries")).to_be_visible()
