"""Logging in and out of the console. The token posted is verified by the API's own code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.render import page
from gateway.console.session import (
    CONSOLE_SCOPES,
    ConsoleSession,
    any_console_session,
    check_csrf,
    clear_login,
    login_nonce_ok,
    new_login_nonce,
    set_login,
    set_login_nonce,
)
from gateway.problems import Problem
from gateway.security.deps import principal_for_token
from gateway.state import get_state

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(any_console_session)]


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    nonce = new_login_nonce()
    response = page(request, "login.html", session=None, status_code=status_code, error=error, nonce=nonce)
    set_login_nonce(request, response, nonce)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    if not login_nonce_ok(request, form.get("nonce")):
        return _login_page(
            request, error="The login form had expired or came from elsewhere. Try again.", status_code=403
        )
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    try:
        principal = await principal_for_token(get_state(request), token) if token else None
    except Problem as problem:  # the identity provider's keys cannot be fetched now
        return _login_page(request, error=str(problem.detail), status_code=problem.status)
    if principal is None:
        return _login_page(request, error="That token is unknown, expired or revoked.", status_code=401)
    if not CONSOLE_SCOPES & principal.scopes:
        needed = ", ".join(sorted(CONSOLE_SCOPES))
        return _login_page(request, error=f"That token has none of the console's scopes ({needed}).", status_code=403)
    response = RedirectResponse(ConsoleSession(principal, "").home, status_code=303)
    set_login(request, response, token)
    return response


@router.post("/logout")
async def logout(request: Request, session: Session) -> Response:
    check_csrf(session, (await request.form()).get("csrf"))
    response = RedirectResponse("/console/login", status_code=303)
    clear_login(response)
    return response
