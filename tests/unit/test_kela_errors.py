"""Kela failures → gateway errors: the translation is complete, and the class decides retry or not.

The table tests below are pure. The rest drive the real KelaClient (zeep's AsyncTransport over the
client's own httpx) against respx: the package's WSDL where the client fetches it, and at our
X-Road security server whatever a test routes there.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
import respx
import zeep.exceptions as zx
from lxml import etree

from adapters.http_headers import retry_after_seconds
from adapters.kela.client import KelaClient
from adapters.kela.errors import (
    FAILURES,
    TRANSLATIONS,
    KelaFault,
    NoFreeSlot,
    ResponseTooLarge,
    SlotTaken,
    UnknownReference,
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
from gateway.redaction import personal_values
from tests.support.http_dates import http_date_in, measured

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
    ResponseTooLarge: BackendUnavailable,
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
    ResponseTooLarge: lambda: ResponseTooLarge(1024),
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


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

    assert retry_after_seconds("Mon, 23 Nov 2026 10:01:30 GMT", now=now) == 90
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


# -- the client against respx ------------------------------------------------------------------------

WSDL_URL = "http://kela.test/wsdl"
SECURITY_SERVER = "http://security-server.test/"
WSDL = (Path(__file__).parents[2] / "adapters" / "kela" / "wsdl" / "kela-v1.wsdl").read_bytes()
QUERY = SlotQuery("KELA-ELAKE", "fi", date(2026, 11, 23), date(2026, 11, 27))
SOAP_XML = {"Content-Type": "text/xml; charset=utf-8"}


def xroad_fault(code: str, text: str) -> bytes:
    """An X-Road SOAP 1.1 Fault as the security server or Kela sends it (answered with HTTP 500)."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">
  <SOAP-ENV:Body>
    <SOAP-ENV:Fault>
      <faultcode>{code}</faultcode>
      <faultstring>{escape(text)}</faultstring>
      <faultactor/>
      <detail><faultDetail>4f1c8a52-0e1d-4d1a-9c3e-2d5b7f0a9e11</faultDetail></detail>
    </SOAP-ENV:Fault>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".encode()


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
    return httpx.Response(200, content=etree.tostring(envelope), headers=SOAP_XML)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """Every route a test sets must be called, and nothing unrouted may be."""
    with respx.mock(assert_all_called=True) as mocked:
        yield mocked


@pytest.fixture
def kela(router: respx.MockRouter) -> respx.MockRouter:
    """Kela behind our security server, its WSDL the package's own; tests route the security server."""
    router.get(WSDL_URL, name="wsdl").respond(200, content=WSDL, headers=SOAP_XML)
    return router


@pytest.fixture
async def client() -> AsyncIterator[KelaClient]:
    kela_client = KelaClient(KelaSettings(security_server_url=SECURITY_SERVER), wsdl_url=WSDL_URL)
    yield kela_client
    await kela_client.aclose()


async def failure_of(client: KelaClient, personal: frozenset[str] = frozenset()) -> DeliveryError:
    """The error of one call; ``personal``: the values of the delivery it serves, as the adapter passes them."""
    with pytest.raises(DeliveryError) as caught:
        await client.find_slots(QUERY, worker_id="w-1", personal=personal)
    return caught.value


async def test_the_client_reads_an_answer_echoing_its_header(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=echoing)

    assert await client.find_slots(QUERY, worker_id="w-1") == []


# -- HTTP answered instead of SOAP -----------------------------------------------------------------------


async def test_a_429_with_retry_after_in_seconds_is_throttled_for_that_long(
    kela: respx.MockRouter, client: KelaClient
) -> None:
    kela.post(SECURITY_SERVER).respond(429, headers={"Retry-After": "7"})

    error = await failure_of(client)

    assert type(error) is BackendThrottled and error.retry_after == 7 and error.backend_status == "HTTP 429"


async def test_a_429_with_an_http_date_retry_after_is_throttled_until_that_date(
    kela: respx.MockRouter, client: KelaClient
) -> None:
    header, when = http_date_in(45)
    kela.post(SECURITY_SERVER).respond(429, headers={"Retry-After": header})

    async with measured() as span:
        error = await failure_of(client)

    least, most = span.seconds_until(when)
    assert type(error) is BackendThrottled
    assert error.retry_after is not None and least <= error.retry_after <= most


async def test_a_429_without_retry_after_is_throttled_leaving_the_delay_to_the_retry_policy(
    kela: respx.MockRouter, client: KelaClient
) -> None:
    kela.post(SECURITY_SERVER).respond(429)

    error = await failure_of(client)

    assert type(error) is BackendThrottled and error.retry_after is None


async def test_a_503_is_unavailable_for_its_retry_after(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).respond(503, headers={"Retry-After": "30"})

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.retry_after == 30 and error.backend_status == "HTTP 503"


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_server_error_without_a_soap_fault_is_unavailable(
    kela: respx.MockRouter, client: KelaClient, status: int
) -> None:
    kela.post(SECURITY_SERVER).respond(status)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == f"HTTP {status}"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_a_4xx_is_rejected(kela: respx.MockRouter, client: KelaClient, status: int) -> None:
    kela.post(SECURITY_SERVER).respond(status, html="<html>no</html>")

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == f"HTTP {status}"


async def test_a_408_is_a_timeout(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).respond(408)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_wsdl_that_is_unavailable_is_unavailable_for_its_retry_after(
    router: respx.MockRouter, client: KelaClient
) -> None:
    router.get(WSDL_URL).respond(503, headers={"Retry-After": "60"})

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.retry_after == 60


# -- SOAP faults: Kela's own codes, then X-Road's Client.* / Server.* ---------------------------------------

KELA_FAULTS: dict[KelaFault, type[DeliveryError]] = {
    KelaFault.INVALID_REQUEST: BackendRejected,
    KelaFault.UNKNOWN_TOPIC: BackendRejected,
    KelaFault.INVALID_HETU: BackendRejected,
    KelaFault.INVALID_SLOT: BackendRejected,
    KelaFault.REQUEST_ID_CONFLICT: BackendRejected,
    KelaFault.SLOT_TAKEN: SlotTaken,
    KelaFault.BOOKING_NOT_FOUND: UnknownReference,
    KelaFault.CONSENT_NOT_FOUND: UnknownReference,
    KelaFault.SERVICE_FAILED: BackendUnavailable,
}


def test_every_kela_fault_code_has_an_expected_class() -> None:
    assert set(KELA_FAULTS) == set(KelaFault)


@pytest.mark.parametrize(("code", "expected"), list(KELA_FAULTS.items()), ids=[c.value for c in KELA_FAULTS])
async def test_each_kela_fault_code_becomes_its_class(
    kela: respx.MockRouter, client: KelaClient, code: KelaFault, expected: type[DeliveryError]
) -> None:
    kela.post(SECURITY_SERVER).respond(500, content=xroad_fault(code, "refused"), headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is expected and error.backend_status == code


@pytest.mark.parametrize(
    "code", ["Server.ClientProxy.NetworkError", "Server.ServerProxy.ServiceTimeout", "SOAP-ENV:Server", "Fault"]
)
async def test_an_x_road_server_fault_is_unavailable(kela: respx.MockRouter, client: KelaClient, code: str) -> None:
    kela.post(SECURITY_SERVER).respond(500, content=xroad_fault(code, "try later"), headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == code.rpartition(":")[2]


@pytest.mark.parametrize(
    "code", ["Client.InvalidSoap", "Client.MissingHeaderField", "SOAP-ENV:Client", "VersionMismatch", "MustUnderstand"]
)
async def test_an_x_road_client_fault_is_rejected(kela: respx.MockRouter, client: KelaClient, code: str) -> None:
    kela.post(SECURITY_SERVER).respond(500, content=xroad_fault(code, "fix the request"), headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == code.rpartition(":")[2]


async def test_a_fault_names_its_code_and_kelas_text(kela: respx.MockRouter, client: KelaClient) -> None:
    fault = xroad_fault(KelaFault.UNKNOWN_TOPIC, "topic KELA-X is not offered")
    kela.post(SECURITY_SERVER).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert error.message == "Kela fault Client.InvalidRequest.UnknownTopic: topic KELA-X is not offered"


# -- the transport failed -----------------------------------------------------------------------------------


async def test_a_read_timeout_is_a_timeout(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=httpx.ReadTimeout)

    error = await failure_of(client)

    assert type(error) is BackendTimeout and error.backend_status == "timeout"


async def test_a_connect_timeout_is_a_timeout(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=httpx.ConnectTimeout)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_refused_connection_is_unavailable(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=httpx.ConnectError)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "unreachable"


async def test_a_connection_dropped_before_the_answer_is_a_timeout(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=httpx.RemoteProtocolError)

    error = await failure_of(client)

    assert type(error) is BackendTimeout and error.backend_status == "dropped"


async def test_a_refused_connection_to_the_wsdl_is_unavailable(router: respx.MockRouter, client: KelaClient) -> None:
    router.get(WSDL_URL).mock(side_effect=httpx.ConnectError)

    assert type(await failure_of(client)) is BackendUnavailable


RAISED_WHILE_SENDING = [
    cls for cls in EXPECTED if issubclass(cls, httpx.HTTPError) and cls is not httpx.HTTPStatusError
]


@pytest.mark.parametrize("raised", RAISED_WHILE_SENDING, ids=lambda c: c.__name__)
async def test_each_httpx_error_in_the_table_raised_while_sending_becomes_its_class(
    kela: respx.MockRouter, client: KelaClient, raised: type[Exception]
) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=raised("failure"))

    assert type(await failure_of(client)) is EXPECTED[raised]


# -- answers it cannot use ----------------------------------------------------------------------------------


async def test_an_answer_that_is_not_xml_is_unavailable(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).respond(200, text="<html><body>proxy error")

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "HTTP 200"


async def test_an_answer_that_is_not_a_soap_envelope_is_unavailable(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).respond(200, content=b"<slots/>", headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "invalid-xml"


async def test_an_answer_with_an_empty_soap_body_is_unavailable(kela: respx.MockRouter, client: KelaClient) -> None:
    empty = f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}"><SOAP-ENV:Body/></SOAP-ENV:Envelope>'
    kela.post(SECURITY_SERVER).respond(200, content=empty.encode(), headers=SOAP_XML)

    assert type(await failure_of(client)) is BackendUnavailable


async def test_an_answer_that_does_not_echo_the_message_id_is_unavailable(
    kela: respx.MockRouter, client: KelaClient
) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=lambda request: echoing(request, message_id=str(uuid.uuid4())))

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "InconsistentResponse"


def capped_client(limit: int = 64 * 1024) -> KelaClient:
    return KelaClient(KelaSettings(security_server_url=SECURITY_SERVER, max_response_bytes=limit), wsdl_url=WSDL_URL)


async def test_an_answer_declaring_a_length_over_the_cap_is_not_read(kela: respx.MockRouter) -> None:
    kela.post(SECURITY_SERVER).respond(200, content=b"<a>" + b"x" * 70_000 + b"</a>", headers=SOAP_XML)
    client = capped_client()

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and error.backend_status == "too-large" and "size cap" in error.message


async def test_a_streamed_answer_over_the_cap_is_not_read_past_it(kela: respx.MockRouter) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 1024

    kela.post(SECURITY_SERVER).mock(side_effect=lambda request: httpx.Response(200, content=endless()))
    client = capped_client()

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and error.backend_status == "too-large"
    assert len(sent) <= 65


async def test_a_fault_over_the_cap_is_not_read(kela: respx.MockRouter) -> None:
    fault = xroad_fault(KelaFault.SERVICE_FAILED, "x" * 70_000)
    kela.post(SECURITY_SERVER).respond(500, content=fault, headers=SOAP_XML)
    client = capped_client()

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and error.backend_status == "too-large"


async def test_an_error_status_over_the_cap_is_judged_by_its_status_unread(kela: respx.MockRouter) -> None:
    kela.post(SECURITY_SERVER).respond(429, content=b"x" * 70_000, headers={"Retry-After": "7"})
    client = capped_client()

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendThrottled and error.retry_after == 7


async def test_a_wsdl_over_the_cap_is_not_read(router: respx.MockRouter) -> None:
    router.get(WSDL_URL).respond(200, content=WSDL, headers=SOAP_XML)
    client = capped_client(limit=len(WSDL) - 1)

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and error.backend_status == "too-large"


async def test_an_answer_within_the_cap_is_read_whole(kela: respx.MockRouter) -> None:
    kela.post(SECURITY_SERVER).mock(side_effect=echoing)
    client = capped_client(limit=len(WSDL))

    try:
        assert await client.find_slots(QUERY, worker_id="w-1") == []
    finally:
        await client.aclose()


async def test_an_answer_with_a_dtd_is_refused_unexpanded(kela: respx.MockRouter, client: KelaClient) -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    kela.post(SECURITY_SERVER).respond(200, content=hostile, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "forbidden-xml"
    assert "root:" not in error.message


async def test_a_wsdl_that_imports_from_elsewhere_is_refused(router: respx.MockRouter, client: KelaClient) -> None:
    marker = b'<xsd:schema targetNamespace="http://x-road.eu/xsd/xroad.xsd" elementFormDefault="qualified">'
    hostile = WSDL.replace(
        marker, marker + b'<xsd:import namespace="urn:x" schemaLocation="http://elsewhere.test/x.xsd"/>'
    )
    assert hostile != WSDL
    router.get(WSDL_URL).respond(200, content=hostile, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "forbidden-xml"


async def test_a_wsdl_without_the_kela_binding_is_refused(router: respx.MockRouter, client: KelaClient) -> None:
    other = WSDL.replace(b"KelaAsiakasohjausBinding", b"Other")
    router.get(WSDL_URL).respond(200, content=other, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "malformed"


# -- what Kela said about a person does not travel on ---------------------------------------------------------

HETU = "131052-308T"
PHONE = "+358401234567"
GIVEN, FAMILY = "Matti", "Meikäläinen"
NAME = f"{GIVEN} {FAMILY}"
PERSONAL = personal_values({"client": {"hetu": HETU, "given_names": GIVEN, "family_name": FAMILY, "phone": PHONE}})


async def test_a_hetu_in_a_fault_string_is_masked(kela: respx.MockRouter, client: KelaClient) -> None:
    fault = xroad_fault(KelaFault.INVALID_HETU, f"client {HETU} is not valid")
    kela.post(SECURITY_SERVER).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert HETU not in error.message and "is not valid" in error.message


async def test_a_phone_number_in_a_fault_string_is_masked(kela: respx.MockRouter, client: KelaClient) -> None:
    fault = xroad_fault(KelaFault.INVALID_REQUEST, f"phone {PHONE} cannot take an SMS")
    kela.post(SECURITY_SERVER).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert PHONE not in error.message and "cannot take an SMS" in error.message


async def test_a_name_of_the_delivery_in_a_fault_string_is_not_repeated(
    kela: respx.MockRouter, client: KelaClient
) -> None:
    fault = xroad_fault(KelaFault.INVALID_REQUEST, f"client name {NAME} does not match the hetu")
    kela.post(SECURITY_SERVER).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client, PERSONAL)

    assert error.message == "Kela fault Client.InvalidRequest: client name <name> <name> does not match the hetu"


async def test_the_client_of_the_delivery_is_not_repeated_in_any_form(
    kela: respx.MockRouter, client: KelaClient
) -> None:
    quoted = f"asiakas matti MEIKÄLÄINEN ({HETU}) ei vastaa numeroa 040-123 4567"
    kela.post(SECURITY_SERVER).respond(500, content=xroad_fault(KelaFault.INVALID_REQUEST, quoted), headers=SOAP_XML)

    error = await failure_of(client, PERSONAL)

    assert error.message == "Kela fault Client.InvalidRequest: asiakas <name> <name> (<hetu>) ei vastaa numeroa <phone>"


async def test_an_error_page_quoting_a_person_is_not_repeated(kela: respx.MockRouter, client: KelaClient) -> None:
    kela.post(SECURITY_SERVER).respond(400, text=f"Bad request for {NAME} ({HETU}, {PHONE})")

    error = await failure_of(client)

    assert error.message == "Kela answered HTTP 400"
