"""RFC 9457 problem details: every error our API answers is ``application/problem+json``.

Field problems carry a dotted path (``client.hetu``, ``results[0].receiving``) and a message,
never the rejected value: a bad hetu must not be echoed back into someone's logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.logs import failure, get_logger
from gateway.store.retrying import is_transient

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "tag:asiakasohjaus-gateway,2026:problems/"
DATABASE_RETRY_AFTER_SECONDS = 5
log = get_logger("gateway.api")


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": PROBLEM_BASE + self.slug, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body

    def response(self, instance: str | None = None) -> JSONResponse:
        return JSONResponse(self.body(instance), status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


def field_path(loc: Iterable[int | str], *, skip: frozenset[str] = frozenset()) -> str:
    """('results', 0, 'health_care_handover', 'receiving') → 'results[0].receiving'."""
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in skip and isinstance(previous, int):
            pass  # the tag of a discriminated union adds nothing for the reader
        elif part not in ("body",) or path:
            path += f".{part}" if path else str(part)
        previous = part
    return path or "(body)"


def validation_errors(
    error: ValidationError | RequestValidationError, *, skip: frozenset[str] = frozenset()
) -> list[dict[str, str]]:
    problems = []
    for item in error.errors():
        message = str(item.get("msg", "invalid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        problems.append(
            {
                "field": field_path(item.get("loc", ()), skip=skip),
                "message": message,
                "code": str(item.get("type", "invalid")),
            }
        )
    return problems


def instance(request: Request) -> str:
    """The problem's ``instance``: the request path, or its route template when the path holds a NUL
    or an unpaired surrogate (refused text is never echoed back)."""
    path = request.url.path
    if any(character == "\x00" or "\ud800" <= character <= "\udfff" for character in path):
        return str(getattr(request.scope.get("route"), "path", "(path)"))
    return path


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response(instance(request))

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return Problem(422, "validation", "The request is not valid", errors=validation_errors(exc)).response(
            instance(request)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required"}
        return Problem(
            exc.status_code,
            f"http-{exc.status_code}",
            titles.get(exc.status_code, str(exc.detail)),
            str(exc.detail) if exc.detail else None,
            headers=dict(exc.headers or {}),
        ).response(instance(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        if is_transient(exc):
            # Retried in process already; a commit that failed mid-way may still have landed, so say
            # what is true: the result is unknown, and the same request again is answered idempotently.
            log.error("database unavailable", route=route, **failure(exc))
            return Problem(
                503,
                "database-unavailable",
                "Database unavailable",
                "The gateway's database did not answer; whether the request was stored is not known. "
                "Send the same request again later: a repeat is recognised and answered as the first.",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
            ).response(request.url.path)
        log.error("unhandled error", route=route, **failure(exc))
        return Problem(
            500,
            "internal",
            "Internal error",
            "The gateway could not handle the request. Sending the same request again is safe.",
        ).response(instance(request))
