"""Kanta's failures mapped to the gateway's error tree, at one boundary: :func:`translate`.

    SOAP fault (zeep.exceptions.Fault)
     ├── Client…, detail DocumentAlreadyArchived of this document  → AlreadyArchived: NOT an error
     ├── Client…                                                   → BackendRejected
     └── Server… and any other code                                → BackendUnavailable
    HTTP status instead of a SOAP answer (HttpStatusError, zeep TransportError)
     ├── 429                            → BackendThrottled (+ Retry-After)
     ├── 408                            → BackendTimeout
     ├── 5xx, 3xx, unreadable 2xx       → BackendUnavailable (+ Retry-After)
     └── other 4xx                      → BackendRejected
    httpx: timeouts, dropped connections → BackendTimeout; refused, proxy, DNS, TLS → BackendUnavailable
    replies we refuse to read
     ├── malformed XML, not a SOAP envelope, not what the WSDL says → BackendUnavailable
     ├── a reply lacking what the WSDL promises (MalformedReply)    → BackendUnavailable
     ├── larger than the cap                                        → BackendUnavailable
     └── a DTD, entity declarations, external references           → BackendRejected
    our own request not fitting the WSDL (zeep ValidationError …)  → RenderError

Why unreadable replies are *transient*: an answer we cannot read tells nothing about whether the
document was archived; resending is safe because the document id is derived from the delivery
(a resend answers "already archived", which counts as delivered), and the worker's attempts are
finite, after which the delivery is held for an operator. Why DTD-carrying replies are
*permanent*: SOAP forbids a document type declaration in a message, so such a reply is hostile or
from something that is not the archive; it is never expanded or parsed further, and an operator
must look before anything is sent there again.

Messages name the failure and the archive's own fault text and location, redacted
(:func:`gateway.redaction.redact`) with the delivery's own personal values and the hetu and phone
patterns; they never repeat a request or reply body. Fault codes are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import zeep.exceptions as zx
from lxml import etree

from adapters.http_headers import retry_after_seconds
from adapters.kanta.client import HttpStatusError, MalformedReply, ResponseTooLarge
from adapters.kanta.validation import UnsafeXml, XmlTooLarge
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
    RenderError,
)
from gateway.redaction import redact

MODEL_NS = "urn:asiakasohjaus:kanta-archive-model:1"
ALREADY_ARCHIVED = "DocumentAlreadyArchived"

HANDLED: tuple[type[BaseException], ...] = (
    zx.Error,
    httpx.HTTPError,
    httpx.InvalidURL,
    etree.LxmlError,
    HttpStatusError,
    MalformedReply,
    ResponseTooLarge,
    UnsafeXml,
    XmlTooLarge,
)
"""What :func:`translate` accepts: every subclass of these maps to a gateway error (tested)."""

_HTTPX: tuple[tuple[type[BaseException], type[DeliveryError], str], ...] = (
    (httpx.TimeoutException, BackendTimeout, "no answer in time"),
    (httpx.RemoteProtocolError, BackendTimeout, "the connection dropped before the whole answer"),
    (httpx.ReadError, BackendTimeout, "the connection dropped while reading the answer"),
    (httpx.WriteError, BackendTimeout, "the connection dropped while sending"),
    (httpx.CloseError, BackendTimeout, "the connection failed while closing"),
    (httpx.ConnectError, BackendUnavailable, "could not connect"),
    (httpx.ProxyError, BackendUnavailable, "the proxy refused the connection"),
    (httpx.LocalProtocolError, RenderError, "the request could not be written as HTTP"),
    (httpx.DecodingError, BackendUnavailable, "the answer's content encoding is broken"),
    (httpx.TooManyRedirects, BackendUnavailable, "the archive answered with redirects"),
    (httpx.UnsupportedProtocol, BackendUnavailable, "the configured address is not http(s)"),
    (httpx.InvalidURL, BackendUnavailable, "the configured address is not a URL"),
    (httpx.HTTPError, BackendUnavailable, "the HTTP exchange failed"),
)
_ZEEP: tuple[tuple[type[BaseException], type[DeliveryError], str], ...] = (
    (zx.DTDForbidden, BackendRejected, "the reply declares a DTD (refused, not expanded)"),
    (zx.EntitiesForbidden, BackendRejected, "the reply declares entities (refused, not expanded)"),
    (zx.ExternalReferenceForbidden, BackendRejected, "the WSDL refers to external documents (refused)"),
    (zx.SignatureVerificationFailed, BackendRejected, "the reply's signature does not verify"),
    (zx.ValidationError, RenderError, "the request does not fit the archive's WSDL"),
    (zx.IncompleteMessage, RenderError, "the request misses parts the WSDL requires"),
    (zx.IncompleteOperation, RenderError, "the WSDL operation is incomplete"),
    (zx.XMLSyntaxError, BackendUnavailable, "the reply is not a well-formed SOAP envelope"),
    (zx.UnexpectedElementError, BackendUnavailable, "the reply does not match the WSDL"),
    (zx.Error, BackendUnavailable, "the archive's WSDL or reply is unusable"),
)


@dataclass(frozen=True, slots=True)
class AlreadyArchived:
    """The archive already holds this very document: the delivery has succeeded before."""

    document_oid: str
    backend_status: str
    message: str


def translate(
    error: BaseException, *, document_oid: str | None = None, personal: Iterable[str] = ()
) -> DeliveryError | AlreadyArchived:
    """What ``error`` (one of :data:`HANDLED`) means for the delivery of ``document_oid``.

    ``personal``: the delivery's personal values (:func:`gateway.redaction.personal_values`), never
    repeated from what the archive said.
    """
    if isinstance(error, zx.Fault):
        return _fault(error, document_oid, personal)
    if isinstance(error, HttpStatusError):
        return _status(
            _int(getattr(error, "status_code", 0)), "answered HTTP instead of SOAP", getattr(error, "retry_after", None)
        )
    if isinstance(error, zx.TransportError):
        status = _int(getattr(error, "status_code", 0))
        if 200 <= status < 300:
            return BackendUnavailable("Kanta: the reply is not XML", backend_status=str(status))
        return _status(status, "answered without a SOAP reply", None)
    if isinstance(error, ResponseTooLarge | XmlTooLarge):
        return BackendUnavailable(f"Kanta: {type(error).__name__}: the reply is over the size cap and was not read")
    if isinstance(error, MalformedReply):
        return BackendUnavailable(f"Kanta: {error}")
    if isinstance(error, UnsafeXml):
        return BackendRejected("Kanta: the reply declares a DTD (refused, not expanded)")
    if isinstance(error, etree.LxmlError):
        return BackendUnavailable(f"Kanta: {type(error).__name__}: the reply cannot be parsed")
    for table in (_ZEEP, _HTTPX):
        for kind, target, meaning in table:
            if isinstance(error, kind):
                return target(f"Kanta: {type(error).__name__}: {meaning}")
    raise TypeError(f"{type(error).__name__} is not an error the Kanta adapter translates")


def _fault(fault: zx.Fault, document_oid: str | None, personal: Iterable[str]) -> DeliveryError | AlreadyArchived:
    code = str(getattr(fault, "code", None) or "")
    local = code.rpartition(":")[2]  # "Client.DocumentInvalid" from "soap:Client.DocumentInvalid"
    kind = local.split(".")[0]
    detail = getattr(fault, "detail", None)
    detail_code = _detail(detail, "code")
    text = redact(str(getattr(fault, "message", "") or "")[:300], personal)
    status = (f"{kind}.{detail_code}" if detail_code else local or "Fault")[:64]
    location = _detail(detail, "location")
    where = f" at {redact(location[:200], personal)}" if location else ""
    message = f"Kanta SOAP fault {status}{where}: {text}"
    if kind == "Client":
        if detail_code == ALREADY_ARCHIVED and document_oid and _detail(detail, "documentId") == document_oid:
            return AlreadyArchived(document_oid, status, "the archive already holds this document")
        return BackendRejected(message, backend_status=status)
    return BackendUnavailable(message, backend_status=status)


def _detail(detail: object, name: str) -> str | None:
    if not isinstance(detail, etree._Element):
        return None
    found = detail.find(f".//{{{MODEL_NS}}}{name}")
    return found.text.strip() if found is not None and found.text else None


def _status(status: int, what: str, retry_after: str | None) -> DeliveryError:
    message = f"Kanta {what}: HTTP {status}"
    seconds = retry_after_seconds(retry_after)
    if status == 429:
        return BackendThrottled(message, backend_status=str(status), retry_after=seconds)
    if status == 408:
        return BackendTimeout(message, backend_status=str(status), retry_after=seconds)
    if 400 <= status < 500:
        return BackendRejected(message, backend_status=str(status))
    return BackendUnavailable(message, backend_status=str(status) if status else None, retry_after=seconds)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
