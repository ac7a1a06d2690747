"""Lifecare's failures mapped to the gateway's error tree, at one boundary.

HTTP statuses and httpx transport errors become :mod:`gateway.errors` classes; the worker's retry
decision follows from the class alone. The message carries the first OperationOutcome diagnostic
(or the reason phrase) and its FHIRPath expressions, redacted (:func:`gateway.redaction.redact`)
with the delivery's own personal values and the hetu and phone patterns: a FHIR server may quote
the content it refused, and the message is kept in the attempt history, logged and shown by the
API.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from adapters.http_headers import retry_after_seconds
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
)
from gateway.redaction import redact

TRANSPORT_ERRORS: dict[type[httpx.TransportError], type[DeliveryError]] = {
    httpx.TimeoutException: BackendTimeout,  # connect, read, write and pool timeouts
    httpx.RemoteProtocolError: BackendTimeout,  # the connection dropped mid-answer: the outcome is unknown
    httpx.ReadError: BackendTimeout,
    httpx.WriteError: BackendTimeout,
    httpx.ConnectError: BackendUnavailable,
    httpx.ProxyError: BackendUnavailable,
    httpx.UnsupportedProtocol: BackendRejected,  # a misconfigured base URL: retrying cannot help
    httpx.TransportError: BackendUnavailable,  # anything else the transport raises
}
RETRYABLE_STATUSES = {500, 502, 503, 504}


def from_transport_error(error: httpx.TransportError) -> DeliveryError:
    for kind in type(error).__mro__:
        if kind in TRANSPORT_ERRORS:
            target = TRANSPORT_ERRORS[kind]
            return target(f"{type(error).__name__}: could not complete the request to Lifecare")
    raise AssertionError("unreachable: httpx.TransportError is mapped")  # pragma: no cover


def diagnostics(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or "no details"
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        # Read defensively: a malformed OperationOutcome must still leave as the status's error.
        issues = body.get("issue")
        first = issues[0] if isinstance(issues, list) and issues and isinstance(issues[0], dict) else {}
        details = first.get("details")
        text = (
            first.get("diagnostics")
            or (details.get("text") if isinstance(details, dict) else None)
            or first.get("code")
            or response.reason_phrase
            or "no details"
        )
        expression = first.get("expression")
        where = ", ".join(str(e) for e in expression) if isinstance(expression, list) else ""
        return f"{text} ({where})" if where else str(text)
    return response.reason_phrase or "no details"


def from_response(response: httpx.Response, personal: Iterable[str] = ()) -> DeliveryError:
    """An error for a non-2xx answer; ``personal``: the delivery's personal values, never repeated."""
    return from_status(response, redact(diagnostics(response), personal))


def too_large(response: httpx.Response, limit: int) -> DeliveryError:
    """An answer whose body is over the size cap: judged by its status alone, the body unread.

    A 2xx whose body we refused says nothing about what the server did: unavailable, and the
    resend is safe (conditional creates on the gateway's identifiers).
    """
    detail = f"the answer's body is over the size cap of {limit} bytes and was not read"
    if response.status_code < 300:
        return BackendUnavailable(f"HTTP {response.status_code}: {detail}", backend_status=str(response.status_code))
    return from_status(response, detail)


def from_status(response: httpx.Response, detail: str) -> DeliveryError:
    """The error a non-2xx status means, with an already safe ``detail``."""
    status = response.status_code
    detail = f"HTTP {status}: {detail}"
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if status == 429:
        return BackendThrottled(detail, backend_status=str(status), retry_after=retry_after)
    if status in RETRYABLE_STATUSES:
        return BackendUnavailable(detail, backend_status=str(status), retry_after=retry_after)
    if status == 408:
        return BackendTimeout(detail, backend_status=str(status), retry_after=retry_after)
    return BackendRejected(detail, backend_status=str(status))
