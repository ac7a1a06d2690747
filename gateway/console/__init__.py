"""The operators' web console at ``/console``: server-rendered pages over the ops queries and actions.

Every asset ships in the package (templates, one stylesheet, no scripts), so the console works on a
closed network and without a build step. ``install_console`` is the one line ``gateway.api`` needs.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gateway.console import acting, deadlines, login, mappings, pages, statistics
from gateway.console.render import page
from gateway.console.session import CONSOLE_PATH, ConsoleForbidden, CsrfRejected, LoginRequired, clear_login

__all__ = ["install_console"]


def install_console(app: FastAPI) -> None:
    static = resources.files("gateway.console") / "static"
    app.mount(f"{CONSOLE_PATH}/static", StaticFiles(directory=str(static)), name="console-static")
    app.include_router(login.router, prefix=CONSOLE_PATH, include_in_schema=False)
    app.include_router(pages.router, prefix=CONSOLE_PATH, include_in_schema=False)
    app.include_router(acting.router, prefix=CONSOLE_PATH, include_in_schema=False)
    app.include_router(statistics.router, prefix=CONSOLE_PATH, include_in_schema=False)
    app.include_router(deadlines.router, prefix=CONSOLE_PATH, include_in_schema=False)
    app.include_router(mappings.router, prefix=CONSOLE_PATH, include_in_schema=False)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: Exception) -> Response:
        if request.method != "GET":
            # A post whose session is gone: its data is not replayed after a login.
            return page(
                request,
                "refused.html",
                session=None,
                status_code=401,
                heading="Logged out",
                message="Your session has ended or its token is no longer valid. Log in again; nothing was done.",
                back="/console/login",
            )
        response = RedirectResponse(f"{CONSOLE_PATH}/login", status_code=303)
        clear_login(response)
        return response

    @app.exception_handler(ConsoleForbidden)
    async def _forbidden(request: Request, exc: Exception) -> Response:
        scope = exc.scope if isinstance(exc, ConsoleForbidden) else "?"
        return page(
            request,
            "refused.html",
            session=None,
            status_code=403,
            heading="Not allowed",
            message=f"Your token lacks the scope {scope}.",
            back=f"{CONSOLE_PATH}/",
        )

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: Exception) -> Response:
        return page(
            request,
            "refused.html",
            session=None,
            status_code=403,
            heading="Form refused",
            message="The form did not carry this session's security token (an old page?). Nothing was done.",
            back=f"{CONSOLE_PATH}/",
        )
