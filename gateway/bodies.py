"""Request input read by hand: bodies (media type, size, JSON, limits, one pass of validation) and parameters.

Routes read their bodies themselves (rather than through FastAPI's body parameters) so that an
oversized body is refused before it is read whole, and so that every error of a body is named in
one problem+json answer. The schemas are still published in OpenAPI through :func:`openapi_body`.

What no contract could bound is bounded here, before or while parsing: the nesting depth (the
``json`` module recurses, so a deep document must be refused before it is parsed), the length of
number literals (``int()`` of thousands of digits is slow and beyond a limit refused), and text
no database can store (NUL, which PostgreSQL text cannot hold, and unpaired surrogates, which are
not Unicode text at all) in any string of the body or any path or query parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from email.message import Message
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from gateway.problems import Problem, validation_errors

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 32
"""Arrays and objects nested deeper than this are refused (the contracts nest 5 deep)."""
MAX_NUMBER_DIGITS = 30
"""Number literals with more digits than this are refused before they are converted."""

# JSON is the only body we read; +json types (RFC 6839) are JSON by definition.
_JSON_MEDIA_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
# A string literal (so that brackets inside it are skipped) or a bracket. A string left open runs to
# the end of the text, and so does a final backslash: a match never fails once begun, so a scan is linear.
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\[\s\S]?[^"\\]*)*(?:"|\Z)|[\[\]{}]')
# What cannot be stored as text: NUL (PostgreSQL) and unpaired surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _invalid(errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "invalid-request", "The request is not valid", errors=errors)


def check_media_type(request: Request) -> None:
    """415 unless the body is declared JSON (``application/json`` or ``application/*+json``, UTF-8)."""
    header = request.headers.get("content-type")
    # The standard library's header parser reads the type and its parameters (quoting, case) for us.
    message = Message()
    message["content-type"] = header or ""
    charset = message.get_param("charset")
    utf8 = charset is None or (isinstance(charset, str) and charset.lower() in ("utf-8", "utf8"))
    if header is None or not _JSON_MEDIA_TYPE.match(message.get_content_type()) or not utf8:
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            "Send the body as JSON: Content-Type: application/json (UTF-8).",
            headers={"Accept-Post": "application/json"},
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 415 unless it is JSON and with 413 as soon as it is known to exceed ``limit`` bytes."""
    check_media_type(request)
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


class _LongNumber:
    """Stands in for a number literal too long to convert, so that its place can be named."""


def _number(convert: type[int] | type[float]) -> Any:
    def hook(literal: str) -> int | float | _LongNumber:
        if sum(character.isdigit() for character in literal) > MAX_NUMBER_DIGITS:
            return _LongNumber()
        return convert(literal)

    return hook


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    """The JSON document of a body: 400 if it is not JSON, 422 naming each place beyond the limits."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        raise Problem(400, "malformed-json", "Malformed JSON", "The body is not UTF-8.") from None
    if _too_deep(text):
        raise _invalid(
            [
                {
                    "field": "(body)",
                    "code": "too_deep",
                    "message": f"arrays and objects are nested more than {MAX_DEPTH} deep",
                }
            ]
        )
    try:
        document = json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise Problem(
            400,
            "malformed-json",
            "Malformed JSON",
            f"The body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
        ) from None
    except ValueError as exc:  # NaN, Infinity
        raise Problem(400, "malformed-json", "Malformed JSON", f"The body is not JSON: {exc}.") from None
    errors = list(_beyond_limits(document, ""))
    if errors:
        raise _invalid(errors)
    return document


def _too_deep(text: str) -> bool:
    # Counted by hand because json.loads has no depth limit of its own: it recurses until Python's
    # recursion limit, which is far deeper than any contract and costly to reach.
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        found = match.group()
        if found in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif found in ("]", "}"):
            depth -= 1
    return False


def _beyond_limits(value: Any, path: str) -> Iterator[dict[str, str]]:
    """A problem for each number too long and each string that cannot be stored, by place, never by value."""
    if isinstance(value, _LongNumber):
        yield {
            "field": path or "(body)",
            "code": "number_too_long",
            "message": f"the number has more than {MAX_NUMBER_DIGITS} digits",
        }
    elif isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield {"field": path or "(body)", **_unstorable_problem("the text")}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _beyond_limits(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                yield {"field": path or "(body)", **_unstorable_problem("a member name")}
                continue
            yield from _beyond_limits(item, f"{path}.{key}" if path else key)


def _unstorable_problem(what: str) -> dict[str, str]:
    return {"code": "unstorable_character", "message": f"{what} contains a NUL character or an unpaired surrogate"}


async def parse(request: Request, model: type[M], *, limit: int) -> M:
    """Read, decode and validate a body as ``model``; 415, 413, 400 or 422 problems otherwise."""
    try:
        return model.model_validate(parse_json(await read_body(request, limit)))
    except ValidationError as exc:
        raise Problem(422, "invalid-request", "The request is not valid", errors=validation_errors(exc)) from None


def check_parameters(request: Request) -> None:
    """A dependency of every route: 422 naming each path or query parameter holding unstorable text.

    Percent-encoded ``%00`` arrives here decoded. Checked for every parameter, declared or not,
    before any route touches the database; the value is never echoed.
    """
    errors = [
        {
            "field": f"{where}.{name}" if not _UNSTORABLE.search(name) else where,
            **_unstorable_problem("the parameter" if not _UNSTORABLE.search(name) else "a parameter name"),
        }
        for where, items in (("path", request.path_params.items()), ("query", request.query_params.multi_items()))
        for name, value in items
        if _UNSTORABLE.search(name) or (isinstance(value, str) and _UNSTORABLE.search(value))
    ]
    if errors:
        raise _invalid(errors)


def openapi_body(schema: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body is ``#/components/schemas/<schema>`` (see gateway.api)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }
