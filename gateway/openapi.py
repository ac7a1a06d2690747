"""What the OpenAPI document says about errors: one problem+json schema and each route's error statuses.

Every route declares every status it can answer through FastAPI's ``responses=``, built by
:func:`problem_responses`; the bodies are ``application/problem+json`` documents of the
``Problem`` schema, which ``gateway.api`` publishes beside the hand-parsed request bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.problems import PROBLEM_JSON

PROBLEM_SCHEMA = "Problem"


class FieldProblem(BaseModel):
    """One thing wrong with a request, named by its place, never by its value."""

    field: str = Field(description="Dotted path into the body (`results[0].receiving`), or `query.<name>`.")
    code: str = Field(description="A machine-readable reason, e.g. `missing`, `unknown_code`, `nul_character`.")
    message: str


class ProblemDetails(BaseModel):
    """An RFC 9457 problem document. Extension members (e.g. `mapping_version`, `max_bytes`) may follow."""

    model_config = ConfigDict(extra="allow", title=PROBLEM_SCHEMA)

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int = Field(ge=100, le=599)
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path (or its route template).")
    errors: list[FieldProblem] | None = Field(default=None, description="Every field or parameter at fault.")


DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON: the body does not parse",
    401: "No valid bearer token",
    403: "The token lacks the scope this operation needs",
    404: "No such resource",
    409: "Conflict with what is stored",
    413: "The body exceeds the size limit",
    415: "The body is not sent as JSON (Content-Type application/json)",
    422: "The request is not valid: every bad field or parameter is named",
    500: "Internal error; sending the same request again is safe",
    503: "The database (or a back-end) is unavailable: whether the request was stored is not known; "
    "Retry-After says when to try again",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "The bearer challenge", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait, when known", "schema": {"type": "string"}}},
}

# Status sets by what a route does; 422 (a NUL in a path or query parameter) and 500 go on every route.
AUTHENTICATED = (401, 403, 503)  # the token is looked up in the database
JSON_BODY = (400, 413, 415, 422)


def json_response(description: str) -> dict[str, Any]:
    """A success answer beside the route's main one: a JSON object."""
    return {"description": description, "content": {"application/json": {"schema": {"type": "object"}}}}


def problem_responses(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status (plus 422 and 500) as a problem+json ``Problem``."""
    described = described or {}
    answers: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 422, 500}):
        answer: dict[str, Any] = {
            "description": described.get(status, DESCRIPTIONS[status]),
            "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM_SCHEMA}"}}},
        }
        if status in _HEADERS:
            answer["headers"] = _HEADERS[status]
        answers[status] = answer
    return answers
