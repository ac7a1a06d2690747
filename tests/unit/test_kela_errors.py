"""Kela failures → gateway errors: the translation is complete, and the class decides retry or not."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import zeep.exceptions as zx
from lxml import etree

from adapters.kela.client import KelaClient
from adapters.kela.errors import (
    FAILURES,
    TRANSLATIONS,
    NoFreeSlot,
    SlotTaken,
    UnknownReference,
    from_fault,
    retry_after_seconds,
    translate,
)
from adapters.kela.render import MalformedReply, SlotQuery
from adapters.kela.settings import KelaSettings
from adapters.kela.xroad import SOAP_ENV, XRD_NS, XRoadHeaderError
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

REQUEST = httpx.Request("POST", "http://kela.test/")

EXPECTED: dict[type[Exception], type[DeliveryError]] = {
    httpx.ConnectTimeout: BackendTimeout,
    httpx.ReadTimeout: BackendTimeout,
    httpx.WriteTimeout: BackendTimeout,
    httpx.PoolTimeout: BackendTimeout,
    httpx.TimeoutException: BackendTimeout,
    httpx.ConnectError: BackendUnavailable,
    httpx.ReadError: BackendTimeout,
    httpx.WriteError: BackendTimeout,
    httpx.CloseError: BackendTimeout,
    httpx.NetworkError: BackendTimeout,
    httpx.RemoteProtocolError: BackendTimeout,
    httpx.LocalProtocolError: RenderError,
    httpx.ProtocolError: BackendTimeout,
    httpx.ProxyError: BackendUnavailable,
    httpx.UnsupportedProtocol: BackendUnavailable,
    httpx.InvalidURL: BackendUnavailable,
    httpx.TransportError: BackendUnavailable,
    httpx.DecodingError: BackendUnavailable,
    httpx.TooManyRedirects: BackendUnavailable,
    httpx.RequestError: BackendUnavailable,
    httpx.HTTPStatusError: BackendUnavailable,  # made below with a 503
    httpx.HTTPError: BackendUnavailable,
    zx.Fault: BackendUnavailable,  # made below with a Server fault
    zx.TransportError: BackendUnavailable,  # made below with a 500
    zx.XMLSyntaxError: BackendUnavailable,
    zx.XMLParseError: BackendUnavailable,
    zx.UnexpectedElementError: BackendUnavailable,
    zx.IncompleteMessage: BackendUnavailable,
    zx.DTDForbidden: BackendUnavailable,
    zx.EntitiesForbidden: BackendUnavailable,
    zx.ExternalReferenceForbidden: BackendUnavailable,
    zx.SignatureVerificationFailed: BackendUnavailable,
    zx.ValidationError: RenderError,
    zx.WsdlSyntaxError: BackendUnavailable,
    zx.LookupError: BackendUnavailable,
    zx.NamespaceError: BackendUnavailable,
    zx.IncompleteOperation: BackendUnavailable,
    zx.Error: BackendUnavailable,
    XRoadHeaderError: BackendUnavailable,
    MalformedReply: BackendUnavailable,
}

PROGRAMMING_ERRORS = {
    httpx.StreamError,
    httpx.StreamConsumed,
    httpx.StreamClosed,
    httpx.ResponseNotRead,
    httpx.RequestNotRead,
    httpx.CookieConflict,
}
"""httpx's own misuse errors: bugs in our code, deliberately not translated."""

MAKERS: dict[type[Exception], Callable[[], Exception]] = {
    httpx.HTTPStatusError: lambda: httpx.HTTPStatusError(
        "503", request=REQUEST, response=httpx.Response(503, request=REQUEST)
    ),
    zx.Fault: lambda: zx.Fault("down", code="Server.ServerProxy.ServiceFailed"),
    zx.TransportError: lambda: zx.TransportError("no content", status_code=500),
    zx.DTDForbidden: lambda: zx.DTDForbidden("x", None, None),
    zx.EntitiesForbidden: lambda: zx.EntitiesForbidden("x", "y"),
    zx.ExternalReferenceForbidden: lambda: zx.ExternalReferenceForbidden("http://elsewhere.test/x.xsd"),
    XRoadHeaderError: lambda: XRoadHeaderError("xrd:id", "the answer does not echo", code="InconsistentResponse"),
}


def make(cls: type[Exception]) -> Exception:
    return MAKERS[cls]() if cls in MAKERS else cls("failure")


# -- completeness -------------------------------------------------------------------------------


def test_every_httpx_exception_is_translated_or_a_known_programming_error() -> None:
    exported = {getattr(httpx, name) for name in httpx.__all__}
    exceptions = {obj for obj in exported if inspect.isclass(obj) and issubclass(obj, Exception)}

    assert exceptions - PROGRAMMING_ERRORS - set(TRANSLATIONS) == set()


def test_every_zeep_exception_is_translated() -> None:
    errors = {obj for obj in vars(zx).values() if inspect.isclass(obj) and issubclass(obj, zx.Error)}

    assert errors - set(TRANSLATIONS) == set()


def test_the_translation_table_is_exactly_the_one_expected() -> None:
    assert set(TRANSLATIONS) == set(EXPECTED)
    assert set(FAILURES) == set(EXPECTED)


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: f"{c.__module__.split('.')[0]}.{c.__name__}")
def test_each_failure_translates_to_its_gateway_error(cls: type[Exception]) -> None:
    assert type(translate(make(cls))) is EXPECTED[cls]


def test_a_programming_error_is_not_translated() -> None:
    with pytest.raises(TypeError):
        translate(httpx.StreamConsumed())


def test_a_gateway_error_passes_through_unchanged() -> None:
    error = NoFreeSlot("none")

    assert translate(error) is error


def test_kela_specific_errors_sit_where_retry_expects_them() -> None:
    assert issubclass(SlotTaken, TransientDeliveryError)
    assert issubclass(NoFreeSlot, PermanentDeliveryError)
    assert issubclass(UnknownReference, BackendRejected)


# -- SOAP faults and HTTP statuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Server.ServerProxy.ServiceFailed", BackendUnavailable),
        ("Server.ClientProxy.NetworkError", BackendUnavailable),
        ("Client.InvalidRequest", BackendRejected),
        ("Client.MissingHeaderField", BackendRejected),
        ("Client.SlotTaken", SlotTaken),
        ("Client.BookingNotFound", UnknownReference),
        ("Client.ConsentNotFound", UnknownReference),
        ("SOAP-ENV:Client", BackendRejected),
        ("soapenv:Server", BackendUnavailable),
        ("VersionMismatch", BackendRejected),
        (None, BackendUnavailable),
    ],
)
def test_fault_code_decides_the_class(code: str | None, expected: type[DeliveryError]) -> None:
    error = from_fault(code, "text")

    assert type(error) is expected
    assert error.backend_status == (code or "unknown").rpartition(":")[2]


def test_a_fault_string_quoting_a_hetu_or_phone_is_masked() -> None:
    error = translate(zx.Fault("client 131052-308T at +358401234567 refused", code="Client.InvalidRequest"))

    assert "131052-308T" not in error.message and "+358401234567" not in error.message


def test_http_429_with_retry_after_is_throttled_with_the_hint() -> None:
    response = httpx.Response(429, headers={"Retry-After": "12"}, request=REQUEST)

    error = translate(httpx.HTTPStatusError("429", request=REQUEST, response=response))

    assert type(error) is BackendThrottled and error.retry_after == 12


def test_http_503_with_retry_after_is_unavailable_with_the_hint() -> None:
    response = httpx.Response(503, headers={"Retry-After": "30"}, request=REQUEST)

    error = translate(httpx.HTTPStatusError("503", request=REQUEST, response=response))

    assert type(error) is BackendUnavailable and error.retry_after == 30


def test_http_400_is_rejected_and_408_a_timeout() -> None:
    assert type(translate(zx.TransportError("x", status_code=400))) is BackendRejected
    assert type(translate(zx.TransportError("x", status_code=408))) is BackendTimeout


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    assert retry_after_seconds("Mon, 23 Nov 2026 10:01:30 GMT", now=now) == 90
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


# -- the client's boundary, against a mock transport -----------------------------------------------

WSDL = (Path(__file__).parents[2] / "adapters" / "kela" / "wsdl" / "kela-v1.wsdl").read_bytes()
QUERY = SlotQuery("KELA-ELAKE", "fi", datetime(2026, 11, 23).date(), datetime(2026, 11, 27).date())


def client_answering(answer: Callable[[httpx.Request], httpx.Response], wsdl: bytes = WSDL) -> KelaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=wsdl) if request.method == "GET" else answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return KelaClient(KelaSettings(), wsdl_url="http://kela.test/wsdl", http=http)


async def failure_of(client: KelaClient) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await client.find_slots(QUERY, worker_id="w-1")
    await client.aclose()
    return caught.value


def echoing(request: httpx.Request, *, message_id: str | None = None) -> httpx.Response:
    """A well-formed empty findSlots answer echoing the request's header (optionally with another id)."""
    sent = etree.fromstring(request.content)
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope")
    header = sent.find(f"{{{SOAP_ENV}}}Header")
    assert header is not None
    envelope.append(header)
    if message_id is not None:
        id_element = header.find(f"{{{XRD_NS}}}id")
        assert id_element is not None
        id_element.text = message_id
    ns = "urn:asiakasohjaus-gateway:kela:v1"
    answer = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{ns}}}findSlotsResponse")
    etree.SubElement(answer, f"{{{ns}}}slotCount").text = "0"
    return httpx.Response(200, content=etree.tostring(envelope), headers={"Content-Type": "text/xml"})


async def test_client_reads_an_echoing_answer() -> None:
    client = client_answering(echoing)

    assert await client.find_slots(QUERY, worker_id="w-1") == []
    await client.aclose()


async def test_client_turns_429_with_retry_after_into_throttled() -> None:
    error = await failure_of(client_answering(lambda _r: httpx.Response(429, headers={"Retry-After": "7"})))

    assert type(error) is BackendThrottled and error.retry_after == 7


async def test_client_refuses_an_answer_that_does_not_echo_the_message_id() -> None:
    error = await failure_of(client_answering(lambda r: echoing(r, message_id=str(uuid.uuid4()))))

    assert type(error) is BackendUnavailable and error.backend_status == "InconsistentResponse"


async def test_client_refuses_an_answer_with_a_dtd() -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'

    error = await failure_of(client_answering(lambda _r: httpx.Response(200, content=hostile)))

    assert type(error) is BackendUnavailable and error.backend_status == "forbidden-xml"


async def test_client_turns_an_empty_500_into_unavailable() -> None:
    error = await failure_of(client_answering(lambda _r: httpx.Response(500)))

    assert type(error) is BackendUnavailable and error.backend_status == "HTTP 500"


async def test_client_turns_a_404_page_into_rejected() -> None:
    error = await failure_of(client_answering(lambda _r: httpx.Response(404, content=b"<html>no</html>")))

    assert type(error) is BackendRejected


async def test_client_refuses_a_wsdl_that_imports_from_elsewhere() -> None:
    marker = b'<xsd:schema targetNamespace="http://x-road.eu/xsd/xroad.xsd" elementFormDefault="qualified">'
    hostile = WSDL.replace(
        marker, marker + b'<xsd:import namespace="urn:x" schemaLocation="http://elsewhere.test/x.xsd"/>'
    )
    assert hostile != WSDL

    error = await failure_of(client_answering(echoing, wsdl=hostile))

    assert type(error) is BackendUnavailable and error.backend_status == "forbidden-xml"


async def test_client_refuses_a_wsdl_without_the_kela_binding() -> None:
    error = await failure_of(client_answering(echoing, wsdl=WSDL.replace(b"KelaAsiakasohjausBinding", b"Other")))

    assert type(error) is BackendUnavailable and error.backend_status == "malformed"
