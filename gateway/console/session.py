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
from collections.abc import Awaitable, Callable
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
# The console's sections, each behind its own scope, in the order the navigation shows them: an
# operator, a supervisor and a mappings admin share one login and one look, and see their own pages.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("ops:read", "/console/", "Overview"),
    ("statistics:read", "/console/statistics", "Statistics"),
    ("deadlines:read", "/console/deadlines", "Deadlines"),
    ("mappings:admin", "/console/mappings", "Mappings"),
)
CONSOLE_SCOPES = frozenset(scope for scope, _, _ in SECTIONS)


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

    def may(self, scope: str) -> bool:
        return scope in self.principal.scopes

    @property
    def home(self) -> str:
        """The first console page this login may see."""
        return next(path for scope, path, _ in SECTIONS if scope in self.principal.scopes)


def csrf_for(state: GatewayState, token: str) -> str:
    """The CSRF token of a login: keyed, so that knowing the token's hash is not enough to forge it."""
    return state.fingerprints.of({"console-csrf": hash_token(token)})


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def _session(request: Request, allowed: frozenset[str]) -> ConsoleSession:
    token = request.cookies.get(COOKIE, "").strip()
    if not token:
        raise LoginRequired
    state = get_state(request)
    principal = await principal_for_token(state, token)
    if principal is None:
        raise LoginRequired
    if not allowed & principal.scopes:
        raise ConsoleForbidden(" or ".join(sorted(allowed)))
    return ConsoleSession(principal, csrf_for(state, token))


def session_requiring(scope: str) -> Callable[[Request], Awaitable[ConsoleSession]]:
    """A dependency: the session of a console request whose login holds ``scope``."""

    async def dependency(request: Request) -> ConsoleSession:
        return await _session(request, frozenset({scope}))

    return dependency


async def any_console_session(request: Request) -> ConsoleSession:
    """The session of a login that may see at least one console section (logging out needs no more)."""
    return await _session(request, CONSOLE_SCOPES)


# The operators' pages: queues, deliveries and actions need ``ops:read``.
console_session = session_requiring(READ_SCOPE)


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
