"""Kanta error translation: complete over what it claims to handle, and each class where it belongs.

httpx.MockTransport stands in for the archive here only, where the point is the error mapping.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import zeep.exceptions as zx
from lxml import etree

from adapters.kanta.client import HttpStatusError, KantaClient, ResponseTooLarge
from adapters.kanta.errors import HANDLED, AlreadyArchived, retry_after_seconds, translate
from adapters.kanta.settings import KantaSettings
from adapters.kanta.validation import WSDL_DIR, UnsafeXml, XmlTooLarge
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
    RenderError,
)

DOCUMENT = "1.2.246.10.32219998.10.900.2.1.1"
MODEL = "urn:asiakasohjaus:kanta-archive-model:1"


def _all_subclasses(root: type[BaseException]) -> Iterator[type[BaseException]]:
    yield root
    for sub in root.__subclasses__():
        yield from _all_subclasses(sub)


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance of any exception class, however its constructor is shaped."""
    for args in (("failure",), ("failure", 0, 0, 0), ("failure", None, None), ()):
        try:
            return cls(*args)
        except TypeError:
            continue
    made = cls.__new__(cls)
    BaseException.__init__(made, "failure")
    return made


def fault(code: str, detail_code: str | None = None, document_id: str | None = None, text: str = "refused") -> zx.Fault:
    detail = etree.Element("detail")
    body = etree.SubElement(detail, f"{{{MODEL}}}FaultDetail")
    if detail_code:
        etree.SubElement(body, f"{{{MODEL}}}code").text = detail_code
    if document_id:
        etree.SubElement(body, f"{{{MODEL}}}documentId").text = document_id
    return zx.Fault(text, code=code, detail=detail)


HANDLED_CLASSES = sorted(
    {cls for root in HANDLED for cls in _all_subclasses(root)}, key=lambda c: f"{c.__module__}.{c.__qualname__}"
)


@pytest.mark.parametrize("cls", HANDLED_CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_handled_exception_type_becomes_a_delivery_error(cls: type[BaseException]) -> None:
    assert isinstance(translate(_instance(cls), document_oid=DOCUMENT), DeliveryError)


def test_the_handled_roots_cover_the_libraries_the_client_uses() -> None:
    assert {zx.Error, httpx.HTTPError, etree.LxmlError, HttpStatusError, ResponseTooLarge} <= set(HANDLED)
    assert len(HANDLED_CLASSES) > 60


def test_an_exception_it_does_not_claim_is_not_silently_classified() -> None:
    with pytest.raises(TypeError):
        translate(KeyError("surprise"))


# -- SOAP faults ----------------------------------------------------------------------------------


def test_client_fault_is_rejected() -> None:
    error = translate(fault("soap:Client.DocumentInvalid", "DocumentInvalid"), document_oid=DOCUMENT)
    assert isinstance(error, BackendRejected)
    assert error.backend_status == "Client.DocumentInvalid"


def test_server_fault_is_unavailable() -> None:
    assert isinstance(translate(fault("soap:Server", text="maintenance"), document_oid=DOCUMENT), BackendUnavailable)


def test_already_archived_for_this_document_is_not_an_error() -> None:
    outcome = translate(
        fault("soap:Client.DocumentAlreadyArchived", "DocumentAlreadyArchived", DOCUMENT), document_oid=DOCUMENT
    )
    assert isinstance(outcome, AlreadyArchived)
    assert outcome.document_oid == DOCUMENT


def test_already_archived_naming_another_document_is_rejected() -> None:
    other = fault("soap:Client.DocumentAlreadyArchived", "DocumentAlreadyArchived", "1.2.3.4")
    assert isinstance(translate(other, document_oid=DOCUMENT), BackendRejected)


def test_fault_text_is_kept_but_a_hetu_in_it_is_masked() -> None:
    error = translate(fault("soap:Client", text="hetu 131052-308T is unknown"), document_oid=DOCUMENT)
    assert isinstance(error, BackendRejected)
    assert "131052-308T" not in error.message and "unknown" in error.message


# -- HTTP answers -----------------------------------------------------------------------------------


def test_429_is_throttled_with_its_retry_after() -> None:
    error = translate(HttpStatusError(429, "7"))
    assert isinstance(error, BackendThrottled) and error.retry_after == 7


def test_503_is_unavailable_with_its_retry_after() -> None:
    error = translate(HttpStatusError(503, "30"))
    assert isinstance(error, BackendUnavailable) and error.retry_after == 30


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, BackendUnavailable),
        (302, BackendUnavailable),
        (404, BackendRejected),
        (408, BackendTimeout),
        (502, BackendUnavailable),
    ],
)
def test_http_status_without_a_soap_answer_is_classified_by_status(status: int, expected: type[DeliveryError]) -> None:
    assert type(translate(zx.TransportError("no soap", status_code=status, content=b"<html/>"))) is expected


def test_retry_after_may_be_an_http_date() -> None:
    now = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("Thu, 15 Jan 2026 08:01:00 GMT", now=now) == 60


# -- transport and parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ReadTimeout("slow"), BackendTimeout),
        (httpx.ConnectTimeout("slow"), BackendTimeout),
        (httpx.RemoteProtocolError("peer closed connection"), BackendTimeout),
        (httpx.ReadError("reset"), BackendTimeout),
        (httpx.ConnectError("refused"), BackendUnavailable),
        (httpx.UnsupportedProtocol("ftp"), BackendUnavailable),
    ],
)
def test_transport_failures_are_classified(error: Exception, expected: type[DeliveryError]) -> None:
    assert type(translate(error)) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (zx.DTDForbidden("x", None, None), BackendRejected),
        (zx.EntitiesForbidden("xxe", "file:///etc/passwd"), BackendRejected),
        (UnsafeXml("dtd"), BackendRejected),
        (zx.XMLSyntaxError("broken"), BackendUnavailable),
        (ResponseTooLarge(1024), BackendUnavailable),
        (XmlTooLarge("big"), BackendUnavailable),
        (zx.ValidationError("missing element"), RenderError),
    ],
)
def test_unreadable_and_hostile_replies_are_classified(error: Exception, expected: type[DeliveryError]) -> None:
    assert type(translate(error)) is expected


def test_an_entity_declaration_never_reaches_the_message() -> None:
    error = translate(zx.EntitiesForbidden("xxe", "root:x:0:0:root:/root:/bin/bash"))
    assert isinstance(error, DeliveryError) and "root:x" not in error.message


# -- through the client, with a mock transport -----------------------------------------------------


def _archive_service(answer: httpx.Response) -> httpx.MockTransport:
    wsdl = (WSDL_DIR / "archive.wsdl").read_bytes().replace(b"LOCATION", b"http://archive.test/archive")

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, content=wsdl, headers={"content-type": "text/xml"})
        return answer

    return httpx.MockTransport(handle)


def _message() -> etree._Element:
    return etree.Element("{urn:hl7-org:v3}RCMR_IN100002FI01")


async def _archive(answer: httpx.Response, **client: Any) -> DeliveryError | AlreadyArchived:
    kanta = KantaClient(
        KantaSettings(), wsdl_url="http://archive.test/wsdl", transport=_archive_service(answer), **client
    )
    try:
        await kanta.archive(_message(), new_version=False)
    except HANDLED as exc:
        return translate(exc, document_oid=DOCUMENT)
    finally:
        await kanta.aclose()
    raise AssertionError("the archive call should have failed")


async def test_client_raises_429_with_retry_after_before_zeep_parses_it() -> None:
    error = await _archive(httpx.Response(429, headers={"retry-after": "12"}, content=b"slow down"))
    assert isinstance(error, BackendThrottled) and error.retry_after == 12


async def test_client_refuses_a_compressed_reply_over_the_cap_once_decoded() -> None:
    body = gzip.compress(b"<a>" + b"x" * 200_000 + b"</a>")
    answer = httpx.Response(200, headers={"content-encoding": "gzip", "content-type": "text/xml"}, content=body)
    error = await _archive(answer, max_response_bytes=64 * 1024)
    assert isinstance(error, BackendUnavailable) and "size cap" in error.message


async def test_client_reports_an_html_error_page_as_unavailable() -> None:
    answer = httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html><body>Bad gateway</body>")
    assert isinstance(await _archive(answer), BackendUnavailable)
