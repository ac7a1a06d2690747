"""Kela's failures mapped to the gateway's error tree, at one boundary: :func:`translate`.

    DeliveryError
     ├── TransientDeliveryError
     │    ├── BackendTimeout      no answer in time, connection dropped (the request may have arrived)
     │    ├── BackendUnavailable  refused, 5xx, SOAP Server.* fault, an answer we cannot use
     │    ├── BackendThrottled    429 (Retry-After honoured)
     │    └── SlotTaken           the chosen slot was booked by someone else in between
     └── PermanentDeliveryError
          ├── BackendRejected     4xx, SOAP Client.* fault: Kela refused what we sent
          │    └── UnknownReference   Kela knows no such booking or consent
          ├── RenderError         our message does not fit the service description
          └── NoFreeSlot          no free phone slot in the requested window

Why transient when in doubt: every booking and consent carries a request id, so a resend can
never book twice; a back-end that keeps answering nonsense ends up held for an operator by the
retry policy. Permanent only when Kela said no, or we cannot even build the message.

The message of each error names the operation's outcome, the fault code or HTTP status and
Kela's own fault string, redacted (:func:`gateway.redaction.redact`) with the personal values of
the delivery the call serves and the hetu and phone patterns; it never quotes a request or reply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

import httpx
import zeep.exceptions as zx

from adapters.http_headers import retry_after_seconds
from adapters.kela.render import MalformedReply
from adapters.kela.xroad import XRoadHeaderError
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
    PermanentDeliveryError,
    RenderError,
    TransientDeliveryError,
)
from gateway.redaction import redact


class SlotTaken(TransientDeliveryError):
    """The slot was booked by someone else between the search and the booking.

    Transient on purpose: the adapter first tries the next free slots itself; if they go too, a
    later attempt searches again. It is not a rejection of what we asked for.
    """


class NoFreeSlot(PermanentDeliveryError):
    """Kela's phone service has no free slot in the window for the topic and language: the outcome must show it."""


class ChosenSlotTaken(PermanentDeliveryError):
    """The slot the caller chose was booked by someone else: they must choose again."""


class UnknownReference(BackendRejected):
    """Kela knows no booking or consent by the id we gave."""


class ResponseTooLarge(Exception):
    """An answer (or the WSDL) whose body is over the client's cap: not read further, not parsed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"answer larger than {limit} bytes")
        self.limit = limit


class KelaFault(StrEnum):
    """Fault codes of the modelled Kela service (X-Road convention: Client.* is ours to fix, Server.* is theirs)."""

    INVALID_REQUEST = "Client.InvalidRequest"
    UNKNOWN_TOPIC = "Client.InvalidRequest.UnknownTopic"
    INVALID_HETU = "Client.InvalidRequest.InvalidHetu"
    INVALID_SLOT = "Client.InvalidRequest.InvalidSlot"
    REQUEST_ID_CONFLICT = "Client.InvalidRequest.RequestIdConflict"
    SLOT_TAKEN = "Client.SlotTaken"
    BOOKING_NOT_FOUND = "Client.BookingNotFound"
    CONSENT_NOT_FOUND = "Client.ConsentNotFound"
    SERVICE_FAILED = "Server.ServerProxy.ServiceFailed"


_FAULTS: dict[str, type[DeliveryError]] = {
    KelaFault.SLOT_TAKEN: SlotTaken,
    KelaFault.BOOKING_NOT_FOUND: UnknownReference,
    KelaFault.CONSENT_NOT_FOUND: UnknownReference,
}


def _detail(text: str | None, personal: Iterable[str]) -> str:
    return redact(" ".join((text or "").split())[:300], personal)


def from_status(status: int, *, retry_after: float | None = None, what: str = "") -> DeliveryError:
    """An HTTP status without a usable SOAP answer."""
    label = f"HTTP {status}"
    text = f"Kela answered {label}{': ' + what if what else ''}"
    if status == 429:
        return BackendThrottled(text, backend_status=label, retry_after=retry_after)
    if status == 408:
        return BackendTimeout(text, backend_status=label)
    if 400 <= status < 500:
        return BackendRejected(text, backend_status=label)
    return BackendUnavailable(text, backend_status=label, retry_after=retry_after)


def from_fault(code: str | None, message: str | None, personal: Iterable[str] = ()) -> DeliveryError:
    """A SOAP Fault: Kela's own codes first, then X-Road's Client.* / Server.* convention.

    ``personal``: the personal values of the delivery the call serves, never repeated.
    """
    name = (code or "").rpartition(":")[2] or "unknown"  # SOAP 1.1 codes may carry a prefix: soapenv:Client
    text = f"Kela fault {name}: {_detail(message, personal)}"
    if name in _FAULTS:
        return _FAULTS[name](text, backend_status=name)
    if name.startswith("Client") or name in ("VersionMismatch", "MustUnderstand"):
        return BackendRejected(text, backend_status=name)
    return BackendUnavailable(text, backend_status=name)


Translation = Callable[[Any, Iterable[str]], DeliveryError]
"""A failure and the personal values of its delivery → the gateway error."""


def _fault(exc: zx.Fault, personal: Iterable[str]) -> DeliveryError:
    return from_fault(exc.code, exc.message, personal)


def _zeep_transport(exc: zx.TransportError, _personal: Iterable[str]) -> DeliveryError:
    return from_status(exc.status_code or 0, what="no usable SOAP answer")


def _http_status(exc: httpx.HTTPStatusError, _personal: Iterable[str]) -> DeliveryError:
    response = exc.response
    return from_status(response.status_code, retry_after=retry_after_seconds(response.headers.get("retry-after")))


def _too_large(exc: ResponseTooLarge, _personal: Iterable[str]) -> DeliveryError:
    return BackendUnavailable(
        f"Kela's answer is over the size cap of {exc.limit} bytes and was not read", backend_status="too-large"
    )


def _ours(status: str) -> Translation:
    """Our own exceptions about an answer: their text is ours, naming parts, never values."""

    def make(exc: Any, _personal: Iterable[str]) -> DeliveryError:
        return BackendUnavailable(f"{_UNUSABLE}: {exc}", backend_status=getattr(exc, "code", None) or status)

    return make


def _as(cls: type[DeliveryError], what: str, status: str) -> Translation:
    def make(exc: Any, _personal: Iterable[str]) -> DeliveryError:
        return cls(f"{what} ({type(exc).__name__})", backend_status=status)

    return make


_DROPPED = "the connection to Kela dropped before the answer"
_UNUSABLE = "Kela's answer could not be used"
_WSDL = "Kela's service description is not what this adapter expects"

TRANSLATIONS: dict[type[Exception], Translation] = {
    # httpx: the connection
    httpx.ConnectTimeout: _as(BackendTimeout, "connecting to Kela timed out", "timeout"),
    httpx.ReadTimeout: _as(BackendTimeout, "Kela did not answer in time", "timeout"),
    httpx.WriteTimeout: _as(BackendTimeout, "sending to Kela timed out", "timeout"),
    httpx.PoolTimeout: _as(BackendTimeout, "no free connection to Kela in time", "timeout"),
    httpx.TimeoutException: _as(BackendTimeout, "Kela timed out", "timeout"),
    httpx.ConnectError: _as(BackendUnavailable, "Kela refused the connection or could not be reached", "unreachable"),
    httpx.ReadError: _as(BackendTimeout, _DROPPED, "dropped"),
    httpx.WriteError: _as(BackendTimeout, _DROPPED, "dropped"),
    httpx.CloseError: _as(BackendTimeout, _DROPPED, "dropped"),
    httpx.NetworkError: _as(BackendTimeout, _DROPPED, "dropped"),
    httpx.RemoteProtocolError: _as(BackendTimeout, _DROPPED, "dropped"),
    httpx.LocalProtocolError: _as(RenderError, "we could not send a valid HTTP request to Kela", "local-protocol"),
    httpx.ProtocolError: _as(BackendTimeout, _DROPPED, "dropped"),
    httpx.ProxyError: _as(BackendUnavailable, "the proxy to Kela failed", "proxy"),
    # a wrong URL scheme or URL is a configuration mistake: held after the retries, replayed after the fix
    httpx.UnsupportedProtocol: _as(BackendUnavailable, "the Kela URL's scheme is not http(s)", "configuration"),
    httpx.InvalidURL: _as(BackendUnavailable, "the Kela URL is not valid", "configuration"),
    httpx.TransportError: _as(BackendUnavailable, "the connection to Kela failed", "transport"),
    httpx.DecodingError: _as(BackendUnavailable, _UNUSABLE, "undecodable"),
    httpx.TooManyRedirects: _as(BackendUnavailable, "Kela redirected too often", "redirects"),
    httpx.RequestError: _as(BackendUnavailable, "the request to Kela failed", "request"),
    httpx.HTTPStatusError: _http_status,
    httpx.HTTPError: _as(BackendUnavailable, "the request to Kela failed", "http"),
    # zeep: SOAP faults and replies
    zx.Fault: _fault,
    zx.TransportError: _zeep_transport,
    zx.XMLSyntaxError: _as(BackendUnavailable, _UNUSABLE, "invalid-xml"),
    zx.XMLParseError: _as(BackendUnavailable, _UNUSABLE, "invalid-xml"),
    zx.UnexpectedElementError: _as(BackendUnavailable, _UNUSABLE, "unexpected-element"),
    zx.IncompleteMessage: _as(BackendUnavailable, _UNUSABLE, "incomplete"),
    zx.DTDForbidden: _as(BackendUnavailable, "Kela's answer carried a DTD (refused)", "forbidden-xml"),
    zx.EntitiesForbidden: _as(BackendUnavailable, "Kela's answer declared entities (refused)", "forbidden-xml"),
    zx.ExternalReferenceForbidden: _as(BackendUnavailable, "an external reference was refused", "forbidden-xml"),
    zx.SignatureVerificationFailed: _as(BackendUnavailable, "the answer's signature did not verify", "signature"),
    zx.ValidationError: _as(RenderError, "our request does not fit Kela's service description", "invalid-request"),
    zx.WsdlSyntaxError: _as(BackendUnavailable, _WSDL, "wsdl"),
    zx.LookupError: _as(BackendUnavailable, _WSDL, "wsdl"),
    zx.NamespaceError: _as(BackendUnavailable, _WSDL, "wsdl"),
    zx.IncompleteOperation: _as(BackendUnavailable, _WSDL, "wsdl"),
    zx.Error: _as(BackendUnavailable, _UNUSABLE, "soap"),
    # ours
    XRoadHeaderError: _ours("inconsistent"),
    MalformedReply: _ours("malformed"),
    ResponseTooLarge: _too_large,
}
"""Every failure the client can meet, by class; :func:`translate` uses the most specific entry."""

FAILURES: tuple[type[Exception], ...] = tuple(TRANSLATIONS)
"""What the client catches and hands to :func:`translate`; anything else is a bug and surfaces as one."""


def translate(exc: Exception, personal: Iterable[str] = ()) -> DeliveryError:
    """The gateway error for one of :data:`FAILURES`. Retry or not follows from the class returned.

    ``personal``: the personal values of the delivery the call serves (what Kela says is redacted with them).
    """
    if isinstance(exc, DeliveryError):
        return exc
    for cls in type(exc).__mro__:
        if cls in TRANSLATIONS:
            return TRANSLATIONS[cls](exc, personal)
    raise TypeError(f"not a Kela failure: {type(exc).__name__}") from exc
