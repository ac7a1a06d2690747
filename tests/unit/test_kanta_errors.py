"""Kanta's failures become the gateway's error classes: the real KantaClient (zeep's AsyncTransport over
its own httpx), respx as the archive.

The WSDL is the package's own, served by respx where the client fetches it; every other answer
is what a test routes to the archive's address. Each failure leaves the client as the library
raised it and is translated by :func:`adapters.kanta.errors.translate`, as the adapter does.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
import respx
import zeep.exceptions as zx
from lxml import etree

from adapters.http_headers import retry_after_seconds
from adapters.kanta.client import HttpStatusError, KantaClient, ResponseTooLarge
from adapters.kanta.errors import _HTTPX, _ZEEP, HANDLED, AlreadyArchived, translate
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
from gateway.redaction import personal_values
from tests.support.http_dates import http_date_in, measured

WSDL_URL = "http://archive.test/wsdl"
ARCHIVE = "http://archive.test/archive"
WSDL = (WSDL_DIR / "archive.wsdl").read_bytes().replace(b"LOCATION", ARCHIVE.encode())
DOCUMENT = "1.2.246.10.32219998.10.900.2.1.1"
SOAP_XML = {"Content-Type": "text/xml; charset=utf-8"}

CLIENT_FAULT_CODES = [
    "ContentInvalid",
    "ContentMissing",
    "ContentNotDecodable",
    "DocumentAlreadyArchived",  # of another document: see the already-archived tests below
    "DocumentInvalid",
    "DocumentNotDecodable",
    "DocumentNotFound",
    "DocumentTooLarge",
    "DocumentUnsafe",
    "HeaderInvalid",
    "HeaderMismatch",
    "InteractionMismatch",
    "MessageInvalid",
    "PreviousVersionMismatch",
    "PreviousVersionUnknown",
    "UnknownCodeSystem",
    "UnsupportedStructure",
]
"""The refusals of the modelled archive (``soap:Client.<code>``, see adapters/kanta/sim_archive.py)."""


def soap_fault(faultcode: str, faultstring: str, **detail: str) -> bytes:
    """A SOAP 1.1 fault as the archive sends it: code, text and a FaultDetail (code, location, documentId)."""
    parts = "".join(f"<k:{name}>{escape(value)}</k:{name}>" for name, value in detail.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <soap:Fault>
      <faultcode>{faultcode}</faultcode>
      <faultstring>{escape(faultstring)}</faultstring>
      <detail><k:FaultDetail xmlns:k="urn:asiakasohjaus:kanta-archive-model:1">{parts}</k:FaultDetail></detail>
    </soap:Fault>
  </soap:Body>
</soap:Envelope>""".encode()


def soap_reply(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>{body}</soap:Body>
</soap:Envelope>""".encode()


@pytest.fixture
def kanta() -> Iterator[respx.MockRouter]:
    """The archive: it serves the package's WSDL; each test routes what the archive address answers."""
    with respx.mock(assert_all_called=True) as router:
        router.get(WSDL_URL, name="wsdl").respond(200, content=WSDL, headers=SOAP_XML)
        yield router


@pytest.fixture
async def client() -> AsyncIterator[KantaClient]:
    archive = KantaClient(KantaSettings(), wsdl_url=WSDL_URL)
    yield archive
    await archive.aclose()


async def archiving(client: KantaClient, personal: frozenset[str] = frozenset()) -> DeliveryError | AlreadyArchived:
    """What archiving one message ends in, translated as the Kanta adapter translates it.

    ``personal``: the delivery's personal values, as the adapter passes them.
    """
    try:
        await client.archive(etree.Element("{urn:hl7-org:v3}RCMR_IN100002FI01"), new_version=False)
    except HANDLED as exc:
        return translate(exc, document_oid=DOCUMENT, personal=personal)
    raise AssertionError("the archive call should have failed")


async def failure_of(client: KantaClient, personal: frozenset[str] = frozenset()) -> DeliveryError:
    outcome = await archiving(client, personal)
    assert isinstance(outcome, DeliveryError)
    return outcome


# -- HTTP answered instead of SOAP -------------------------------------------------------------------


async def test_a_429_with_retry_after_in_seconds_is_throttled_for_that_long(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    kanta.post(ARCHIVE).respond(429, headers={"Retry-After": "12"}, text="slow down")

    error = await failure_of(client)

    assert type(error) is BackendThrottled and error.retry_after == 12 and error.backend_status == "429"


async def test_a_429_with_an_http_date_retry_after_is_throttled_until_that_date(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    header, when = http_date_in(90)
    kanta.post(ARCHIVE).respond(429, headers={"Retry-After": header})

    async with measured() as span:
        error = await failure_of(client)

    least, most = span.seconds_until(when)
    assert type(error) is BackendThrottled
    assert error.retry_after is not None and least <= error.retry_after <= most


async def test_a_503_is_unavailable_for_its_retry_after(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(503, headers={"Retry-After": "30"}, html="<html>maintenance</html>")

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.retry_after == 30 and error.backend_status == "503"


async def test_a_500_without_a_body_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(500)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "500"


async def test_a_502_error_page_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(502, text="Bad Gateway")

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "502"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
async def test_a_4xx_answered_instead_of_soap_is_rejected(
    kanta: respx.MockRouter, client: KantaClient, status: int
) -> None:
    kanta.post(ARCHIVE).respond(status, text="refused")

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == str(status)


async def test_a_408_is_a_timeout(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(408)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_redirect_is_not_followed_and_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(302, headers={"Location": "http://elsewhere.test/archive"})

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "302"


async def test_a_wsdl_that_is_unavailable_is_unavailable_for_its_retry_after(client: KantaClient) -> None:
    with respx.mock(assert_all_called=True) as kanta:
        kanta.get(WSDL_URL).respond(503, headers={"Retry-After": "60"})

        error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.retry_after == 60


async def test_a_wsdl_that_is_not_there_is_rejected(client: KantaClient) -> None:
    with respx.mock(assert_all_called=True) as kanta:
        kanta.get(WSDL_URL).respond(404)

        error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == "404"


# -- SOAP faults -------------------------------------------------------------------------------------


async def test_a_server_fault_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    fault = soap_fault("soap:Server.ServerError", "tietokanta ei vastaa", code="ServerError")
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "Server.ServerError"


async def test_a_bare_server_fault_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(500, content=soap_fault("soap:Server", "maintenance"), headers=SOAP_XML)

    assert type(await failure_of(client)) is BackendUnavailable


async def test_a_client_fault_is_rejected_naming_its_code_location_and_text(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    fault = soap_fault(
        "soap:Client.DocumentInvalid",
        "custodian is not a register keeper of this archive",
        code="DocumentInvalid",
        location="/ClinicalDocument/custodian",
    )
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == "Client.DocumentInvalid"
    assert error.message == (
        "Kanta SOAP fault Client.DocumentInvalid at /ClinicalDocument/custodian: "
        "custodian is not a register keeper of this archive"
    )


@pytest.mark.parametrize("code", CLIENT_FAULT_CODES)
async def test_every_refusal_of_the_archive_is_rejected(
    kanta: respx.MockRouter, client: KantaClient, code: str
) -> None:
    fault = soap_fault(f"soap:Client.{code}", "refused", code=code, documentId="1.2.246.999")
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == f"Client.{code}"


async def test_already_archived_naming_this_document_means_it_was_delivered_before(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    fault = soap_fault(
        "soap:Client.DocumentAlreadyArchived",
        "already archived",
        code="DocumentAlreadyArchived",
        documentId=DOCUMENT,
    )
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    outcome = await archiving(client)

    assert isinstance(outcome, AlreadyArchived) and outcome.document_oid == DOCUMENT


async def test_already_archived_naming_another_document_is_rejected(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    fault = soap_fault(
        "soap:Client.DocumentAlreadyArchived",
        "already archived",
        code="DocumentAlreadyArchived",
        documentId="1.2.246.10.32219998.10.900.2.9.9",
    )
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    assert type(await archiving(client)) is BackendRejected


# -- the transport failed ----------------------------------------------------------------------------


async def test_a_read_timeout_is_a_timeout(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).mock(side_effect=httpx.ReadTimeout)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_connect_timeout_is_a_timeout(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).mock(side_effect=httpx.ConnectTimeout)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_refused_connection_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).mock(side_effect=httpx.ConnectError)

    assert type(await failure_of(client)) is BackendUnavailable


async def test_a_connection_dropped_before_the_answer_is_a_timeout(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    kanta.post(ARCHIVE).mock(side_effect=httpx.RemoteProtocolError)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_refused_connection_to_the_wsdl_is_unavailable(client: KantaClient) -> None:
    with respx.mock(assert_all_called=True) as kanta:
        kanta.get(WSDL_URL).mock(side_effect=httpx.ConnectError)

        assert type(await failure_of(client)) is BackendUnavailable


@pytest.mark.parametrize(("raised", "expected"), [(k, t) for k, t, _ in _HTTPX], ids=lambda k: k.__name__)
async def test_each_httpx_error_in_the_table_raised_while_sending_becomes_its_listed_class(
    kanta: respx.MockRouter, client: KantaClient, raised: type[Exception], expected: type[DeliveryError]
) -> None:
    kanta.post(ARCHIVE).mock(side_effect=raised("failure"))

    assert type(await failure_of(client)) is expected


# -- replies it will not read ---------------------------------------------------------------------------


async def test_a_reply_that_is_not_xml_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(200, html="<html><body>Bad gateway</body>")

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.message == "Kanta: the reply is not XML"


async def test_a_reply_that_is_not_a_soap_envelope_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(200, content=b"<receipt>ok</receipt>", headers=SOAP_XML)

    assert type(await failure_of(client)) is BackendUnavailable


async def test_a_receipt_lacking_its_document_id_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    receipt = (
        '<k:ArchiveReceipt xmlns:k="urn:asiakasohjaus:kanta-archive-model:1">'
        "<k:acknowledgement>AA</k:acknowledgement>"
        "</k:ArchiveReceipt>"
    )
    kanta.post(ARCHIVE).respond(200, content=soap_reply(receipt), headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and "lacks a required part" in error.message


async def test_a_reply_with_an_empty_soap_body_is_unavailable(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(200, content=soap_reply(""), headers=SOAP_XML)

    assert type(await failure_of(client)) is BackendUnavailable


async def test_a_reply_declaring_a_dtd_is_rejected_and_not_expanded(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    kanta.post(ARCHIVE).respond(200, content=hostile, headers=SOAP_XML)

    error = await failure_of(client)

    assert type(error) is BackendRejected and "root:" not in error.message


async def test_a_reply_declaring_a_length_over_the_cap_is_not_read(kanta: respx.MockRouter) -> None:
    kanta.post(ARCHIVE).respond(200, content=b"<a>" + b"x" * 70_000 + b"</a>", headers=SOAP_XML)
    client = KantaClient(KantaSettings(), wsdl_url=WSDL_URL, max_response_bytes=64 * 1024)

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and "size cap" in error.message


async def test_a_streamed_reply_over_the_cap_is_not_read_past_it(kanta: respx.MockRouter) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b"x" * 1024

    kanta.post(ARCHIVE).mock(side_effect=lambda request: httpx.Response(200, content=endless(), headers=SOAP_XML))
    client = KantaClient(KantaSettings(), wsdl_url=WSDL_URL, max_response_bytes=64 * 1024)

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and "size cap" in error.message
    assert len(sent) <= 65


async def test_a_compressed_reply_over_the_cap_once_decoded_is_not_read(kanta: respx.MockRouter) -> None:
    body = gzip.compress(b"<a>" + b"x" * 200_000 + b"</a>")
    kanta.post(ARCHIVE).respond(200, content=body, headers={**SOAP_XML, "Content-Encoding": "gzip"})
    client = KantaClient(KantaSettings(), wsdl_url=WSDL_URL, max_response_bytes=64 * 1024)

    try:
        error = await failure_of(client)
    finally:
        await client.aclose()

    assert type(error) is BackendUnavailable and "size cap" in error.message


# -- what the archive said about a person does not travel on ----------------------------------------------

HETU = "131052-308T"
PHONE = "+358401234567"
GIVEN, FAMILY = "Matti", "Meikäläinen"
NAME = f"{GIVEN} {FAMILY}"
PERSONAL = personal_values({"client": {"hetu": HETU, "given_names": GIVEN, "family_name": FAMILY, "phone": PHONE}})


async def test_a_hetu_in_a_fault_string_is_masked(kanta: respx.MockRouter, client: KantaClient) -> None:
    fault = soap_fault("soap:Client.DocumentInvalid", f"recordTarget {HETU} is not the patient", code="DocumentInvalid")
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert HETU not in error.message and "is not the patient" in error.message


async def test_a_phone_number_in_a_fault_string_is_masked(kanta: respx.MockRouter, client: KantaClient) -> None:
    fault = soap_fault("soap:Client.DocumentInvalid", f"telecom {PHONE} is not allowed", code="DocumentInvalid")
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert PHONE not in error.message and "is not allowed" in error.message


async def test_a_hetu_in_a_fault_location_is_masked(kanta: respx.MockRouter, client: KantaClient) -> None:
    fault = soap_fault(
        "soap:Client.DocumentInvalid",
        "wrong patient",
        code="DocumentInvalid",
        location=f"/ClinicalDocument/recordTarget[id='{HETU}']",
    )
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client)

    assert HETU not in error.message and "/ClinicalDocument/recordTarget" in error.message


async def test_a_name_of_the_delivery_in_a_fault_string_is_not_repeated(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    fault = soap_fault("soap:Client.DocumentInvalid", f"patient name '{NAME}' differs", code="DocumentInvalid")
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client, PERSONAL)

    assert error.message == "Kanta SOAP fault Client.DocumentInvalid: patient name '<name> <name>' differs"


async def test_the_client_of_the_delivery_is_not_repeated_in_any_form(
    kanta: respx.MockRouter, client: KantaClient
) -> None:
    quoted = f"asiakkaan MEIKÄLÄISEN Matti tiedot ({HETU}, puh. 040 123 4567) eivät täsmää"
    location = f"/ClinicalDocument/recordTarget/patientRole/patient/name[family='{FAMILY}']"
    fault = soap_fault("soap:Client.DocumentInvalid", quoted, code="DocumentInvalid", location=location)
    kanta.post(ARCHIVE).respond(500, content=fault, headers=SOAP_XML)

    error = await failure_of(client, PERSONAL)

    assert error.message == (
        "Kanta SOAP fault Client.DocumentInvalid at /ClinicalDocument/recordTarget/patientRole/patient/"
        "name[family='<name>']: asiakkaan <name> <name> tiedot (<hetu>, puh. <phone>) eivät täsmää"
    )


async def test_an_error_page_quoting_a_person_is_not_repeated(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(400, text=f"Bad request for {NAME} ({HETU}, {PHONE})")

    error = await failure_of(client)

    assert error.message == "Kanta answered without a SOAP reply: HTTP 400"


async def test_a_reply_that_is_not_xml_is_not_repeated(kanta: respx.MockRouter, client: KantaClient) -> None:
    kanta.post(ARCHIVE).respond(200, text=f"<html>{NAME} {HETU}")

    error = await failure_of(client)

    assert NAME not in error.message and HETU not in error.message


# -- the translation tables: complete over what they claim, no row hidden by another ----------------------


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


@pytest.mark.parametrize(
    ("kind", "expected"), [(k, t) for k, t, _ in (*_ZEEP, *_HTTPX)], ids=lambda k: getattr(k, "__name__", "")
)
def test_no_row_of_the_tables_is_hidden_by_an_earlier_one(kind: type[BaseException], expected: type[Any]) -> None:
    assert type(translate(_instance(kind))) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (zx.EntitiesForbidden("xxe", "file:///etc/passwd"), BackendRejected),
        (UnsafeXml("dtd"), BackendRejected),
        (XmlTooLarge("big"), BackendUnavailable),
        (zx.ValidationError("missing element"), RenderError),
    ],
)
def test_failures_the_archive_call_cannot_provoke_are_classified(error: Exception, expected: type[Any]) -> None:
    assert type(translate(error)) is expected


def test_an_entity_declaration_never_reaches_the_message() -> None:
    error = translate(zx.EntitiesForbidden("xxe", "root:x:0:0:root:/root:/bin/bash"))
    assert isinstance(error, DeliveryError) and "root:x" not in error.message


def test_retry_after_may_be_an_http_date() -> None:
    now = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("Thu, 15 Jan 2026 08:01:00 GMT", now=now) == 60
