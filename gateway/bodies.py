"""Request bodies parsed by hand: a size limit enforced while reading, JSON, one pass of validation.

Routes read their bodies themselves (rather than through FastAPI's body parameters) so that an
oversized body is refused before it is read whole, and so that every error of a body is named in
one problem+json answer. The schemas are still published in OpenAPI through :func:`openapi_body`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from gateway.problems import Problem, validation_errors

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413, "body-too-large", "Body too large", f"The body exceeds the limit of {limit} bytes.", max_bytes=limit
    )


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise Problem(400, "malformed-json", "Malformed JSON", "The body is not UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise Problem(
            400,
            "malformed-json",
            "Malformed JSON",
            f"The body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None


async def parse(request: Request, model: type[M], *, limit: int) -> M:
    """Read, decode and validate a body as ``model``; 413, 400 or 422 problems otherwise."""
    try:
        return model.model_validate(parse_json(await read_body(request, limit)))
    except ValidationError as exc:
        raise Problem(422, "invalid-request", "The request is not valid", errors=validation_errors(exc)) from None


def openapi_body(schema: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is ``#/components/schemas/<schema>`` (see gateway.api)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }
