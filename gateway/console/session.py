"""Who is at the console: the token in a cookie, checked on every request exactly as a bearer token is.

The design is stateless on purpose: several API processes serve the console, and nothing but the
token itself (in an HttpOnly, SameSite=Strict cookie, Secure over https) says who is logged in, so
a revoked token or a lost scope takes effect at the next click. Every form that changes something
carries a CSRF token derived from the login token's hash under the gateway's secret key: a page of
another site cannot read it, and it changes when the operator logs in with another token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from gateway.security.deps import principal_for_token
from gateway.security.tokens import Principal, hash_token
from gateway.state import GatewayState, get_state

COOKIE = "gw_console"
LOGIN_COOKIE = "gw_console_login"  # double-submit nonce of the login form (no session exists yet)
CONSOLE_PATH = "/console"
READ_SCOPE = "ops:read"
WRITE_SCOPE = "ops:write"


class LoginRequired(Exception):
    """No valid token in the cookie: the operator is sent to the login page."""


class ConsoleForbidden(Exception):
    """A valid token without the scope a page or an action needs."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


class CsrfRejected(Exception):
    """A form post without the session's CSRF token: refused, nothing done."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    principal: Principal
    csrf: str

    @property
    def can_act(self) -> bool:
        return WRITE_SCOPE in self.principal.scopes

    @property
    def sees_personal(self) -> bool:
        return self.principal.sees_personal


def csrf_for(state: GatewayState, token: str) -> str:
    """The CSRF token of a login: keyed, so that knowing the token's hash is not enough to forge it."""
    return state.fingerprints.of({"console-csrf": hash_token(token)})


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def console_session(request: Request) -> ConsoleSession:
    """The session of a console request with at least ``ops:read``; raises to the login or a 403 page."""
    token = request.cookies.get(COOKIE, "").strip()
    if not token:
        raise LoginRequired
    state = get_state(request)
    principal = await principal_for_token(state, token)
    if principal is None:
        raise LoginRequired
    if READ_SCOPE not in principal.scopes:
        raise ConsoleForbidden(READ_SCOPE)
    return ConsoleSession(principal, csrf_for(state, token))


def check_csrf(session: ConsoleSession, submitted: object) -> None:
    if not isinstance(submitted, str) or not same(session.csrf, submitted):
        raise CsrfRejected


def require_write(session: ConsoleSession) -> None:
    if not session.can_act:
        raise ConsoleForbidden(WRITE_SCOPE)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_login(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path=CONSOLE_PATH)
    response.delete_cookie(LOGIN_COOKIE, path=CONSOLE_PATH)


def clear_login(response: Response) -> None:
    response.delete_cookie(COOKIE, path=CONSOLE_PATH, httponly=True, samesite="strict")


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_login_nonce(request: Request, response: Response, nonce: str) -> None:
    """The login form's nonce, also in a cookie: a login posted from another site lacks one of the two."""
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(request), path=CONSOLE_PATH
    )


def login_nonce_ok(request: Request, submitted: object) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    return bool(expected) and isinstance(submitted, str) and same(expected, submitted)
