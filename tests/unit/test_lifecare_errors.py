"""Lifecare's failures become the gateway's error classes: the real FhirClient, its real httpx, respx as the server.

respx answers at httpx's transport, so each answer below reaches ``adapters/lifecare/errors.py``
the way a real FHIR server's would: a status with its headers and body, or an exception raised
while sending. The class decides retry (transient) or an operator (permanent).
"""

from __future__ import annotations

import gzip
import inspect
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from adapters.http_headers import retry_after_seconds
from adapters.lifecare.client import FhirClient
from adapters.lifecare.errors import TRANSPORT_ERRORS, from_transport_error
from adapters.lifecare.settings import LifecareSettings
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
)
from gateway.redaction import personal_values
from tests.support.http_dates import http_date_in, measured

BASE_URL = "http://lifecare.test/fhir"
TRANSACTION = f"{BASE_URL}/"
BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}
FHIR = "application/fhir+json"


@pytest.fixture
def lifecare() -> Iterator[respx.MockRouter]:
    """The FHIR server; every route a test sets must be called, and nothing else may be."""
    with respx.mock(assert_all_called=True) as router:
        yield router


@pytest.fixture
async def client() -> AsyncIterator[FhirClient]:
    fhir = FhirClient(LifecareSettings(), BASE_URL)
    yield fhir
    await fhir.aclose()


async def failure_of(client: FhirClient, personal: frozenset[str] = frozenset()) -> DeliveryError:
    """The error of one transaction; ``personal``: the delivery's values, as the adapter passes them."""
    with pytest.raises(DeliveryError) as caught:
        await client.transaction(BUNDLE, personal=personal)
    return caught.value


def operation_outcome(diagnostics: str, *expression: str) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": "invalid", "diagnostics": diagnostics}
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


# -- the server cannot serve now: transient ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_is_transient_unavailable(
    lifecare: respx.MockRouter, client: FhirClient, status: int
) -> None:
    lifecare.post(TRANSACTION).respond(status, json=operation_outcome("temporarily unavailable"))

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == str(status)


async def test_a_503_with_retry_after_is_unavailable_for_that_long(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(503, headers={"Retry-After": "3"})

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.retry_after == 3


async def test_a_429_with_retry_after_in_seconds_is_throttled_for_that_long(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(429, headers={"Retry-After": "12"})

    error = await failure_of(client)

    assert type(error) is BackendThrottled and error.retry_after == 12 and error.backend_status == "429"


async def test_a_429_with_an_http_date_retry_after_is_throttled_until_that_date(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    header, when = http_date_in(120)
    lifecare.post(TRANSACTION).respond(429, headers={"Retry-After": header})

    async with measured() as span:
        error = await failure_of(client)

    least, most = span.seconds_until(when)
    assert type(error) is BackendThrottled
    assert error.retry_after is not None and least <= error.retry_after <= most


async def test_a_429_without_retry_after_is_throttled_leaving_the_delay_to_the_retry_policy(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(429)

    error = await failure_of(client)

    assert type(error) is BackendThrottled and error.retry_after is None


async def test_a_429_with_an_unreadable_retry_after_is_throttled_without_a_delay(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(429, headers={"Retry-After": "soon"})

    error = await failure_of(client)

    assert type(error) is BackendThrottled and error.retry_after is None


async def test_a_408_is_a_timeout(lifecare: respx.MockRouter, client: FhirClient) -> None:
    lifecare.post(TRANSACTION).respond(408)

    assert type(await failure_of(client)) is BackendTimeout


# -- the server refused the content: permanent --------------------------------------------------------


@pytest.mark.parametrize("status", [400, 409, 412, 422])
async def test_a_4xx_with_an_operation_outcome_is_rejected_with_its_diagnostics(
    lifecare: respx.MockRouter, client: FhirClient, status: int
) -> None:
    outcome = operation_outcome("Encounter.status is required", "Encounter.status")
    lifecare.post(TRANSACTION).respond(status, json=outcome)

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == str(status)
    assert error.message == f"HTTP {status}: Encounter.status is required (Encounter.status)"


async def test_an_operation_outcome_without_diagnostics_is_rejected_with_its_details_text(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"code": "invalid", "details": {"text": "no subject"}}]}
    lifecare.post(TRANSACTION).respond(422, json=outcome)

    assert (await failure_of(client)).message == "HTTP 422: no subject"


async def test_a_4xx_without_an_operation_outcome_is_rejected_with_the_reason_phrase(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(404, html="<html><body>Not here</body></html>")

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.message == "HTTP 404: Not Found"


@pytest.mark.parametrize(
    "issues",
    [["not an issue"], {"code": "invalid"}, [{"details": "not an object", "expression": "Patient.name"}]],
    ids=["issue-not-an-object", "issues-not-a-list", "details-not-an-object"],
)
async def test_a_malformed_operation_outcome_is_still_rejected_by_its_status(
    lifecare: respx.MockRouter, client: FhirClient, issues: object
) -> None:
    lifecare.post(TRANSACTION).respond(400, json={"resourceType": "OperationOutcome", "issue": issues})

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.message == "HTTP 400: Bad Request"


async def test_a_redirect_is_not_followed_and_is_rejected(lifecare: respx.MockRouter, client: FhirClient) -> None:
    lifecare.post(TRANSACTION).respond(302, headers={"Location": "http://elsewhere.test/fhir/"})

    error = await failure_of(client)

    assert type(error) is BackendRejected and error.backend_status == "302"


# -- the transport failed -------------------------------------------------------------------------------


async def test_a_read_timeout_is_a_timeout(lifecare: respx.MockRouter, client: FhirClient) -> None:
    lifecare.post(TRANSACTION).mock(side_effect=httpx.ReadTimeout)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_connect_timeout_is_a_timeout(lifecare: respx.MockRouter, client: FhirClient) -> None:
    lifecare.post(TRANSACTION).mock(side_effect=httpx.ConnectTimeout)

    assert type(await failure_of(client)) is BackendTimeout


async def test_a_refused_connection_is_unavailable(lifecare: respx.MockRouter, client: FhirClient) -> None:
    lifecare.post(TRANSACTION).mock(side_effect=httpx.ConnectError)

    assert type(await failure_of(client)) is BackendUnavailable


async def test_a_connection_dropped_before_the_answer_is_a_timeout(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).mock(side_effect=httpx.RemoteProtocolError)

    assert type(await failure_of(client)) is BackendTimeout


@pytest.mark.parametrize(("raised", "expected"), list(TRANSPORT_ERRORS.items()), ids=lambda k: k.__name__)
async def test_each_transport_error_in_the_table_becomes_its_listed_class(
    lifecare: respx.MockRouter,
    client: FhirClient,
    raised: type[httpx.TransportError],
    expected: type[DeliveryError],
) -> None:
    lifecare.post(TRANSACTION).mock(side_effect=raised)

    assert type(await failure_of(client)) is expected


def every_transport_error() -> list[type[httpx.TransportError]]:
    return [obj for _, obj in inspect.getmembers(httpx, inspect.isclass) if issubclass(obj, httpx.TransportError)]


@pytest.mark.parametrize("kind", every_transport_error(), ids=lambda k: k.__name__)
def test_every_httpx_transport_error_translates_to_a_delivery_error(kind: type[httpx.TransportError]) -> None:
    assert isinstance(from_transport_error(kind("boom")), DeliveryError)


# -- an answer that cannot be used ------------------------------------------------------------------------


async def test_a_success_whose_body_is_not_json_is_transient_unavailable(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(200, html="<html>proxy error</html>")

    error = await failure_of(client)

    assert type(error) is BackendUnavailable and error.backend_status == "200"


async def test_an_answer_declaring_a_length_over_the_cap_is_not_read(lifecare: respx.MockRouter) -> None:
    lifecare.post(TRANSACTION).respond(200, content=b"[" + b"0," * 40_000 + b"0]", headers={"Content-Type": FHIR})
    capped = FhirClient(LifecareSettings(max_response_bytes=64 * 1024), BASE_URL)

    try:
        error = await failure_of(capped)
    finally:
        await capped.aclose()

    assert type(error) is BackendUnavailable and "size cap" in error.message


async def test_a_streamed_answer_over_the_cap_is_not_read_past_it(lifecare: respx.MockRouter) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):
            sent.append(1)
            yield b" " * 1024

    lifecare.post(TRANSACTION).mock(side_effect=lambda request: httpx.Response(200, content=endless()))
    capped = FhirClient(LifecareSettings(max_response_bytes=64 * 1024), BASE_URL)

    try:
        error = await failure_of(capped)
    finally:
        await capped.aclose()

    assert type(error) is BackendUnavailable and "size cap" in error.message
    assert len(sent) <= 65


async def test_a_compressed_answer_over_the_cap_once_decoded_is_not_read(lifecare: respx.MockRouter) -> None:
    body = gzip.compress(b" " * 200_000 + b"{}")
    lifecare.post(TRANSACTION).respond(200, content=body, headers={"Content-Type": FHIR, "Content-Encoding": "gzip"})
    capped = FhirClient(LifecareSettings(max_response_bytes=64 * 1024), BASE_URL)

    try:
        error = await failure_of(capped)
    finally:
        await capped.aclose()

    assert type(error) is BackendUnavailable and "size cap" in error.message


async def test_a_refusal_over_the_cap_is_judged_by_its_status_unread(lifecare: respx.MockRouter) -> None:
    huge = operation_outcome(f"Patient {HETU}" + " x" * 40_000)
    lifecare.post(TRANSACTION).respond(422, json=huge)
    capped = FhirClient(LifecareSettings(max_response_bytes=64 * 1024), BASE_URL)

    try:
        error = await failure_of(capped)
    finally:
        await capped.aclose()

    assert type(error) is BackendRejected and error.backend_status == "422" and "size cap" in error.message


async def test_an_answer_within_the_cap_is_read_whole(lifecare: respx.MockRouter) -> None:
    reply = {"resourceType": "Bundle", "type": "transaction-response", "entry": [], "padding": " " * 60_000}
    lifecare.post(TRANSACTION).respond(200, json=reply)
    capped = FhirClient(LifecareSettings(max_response_bytes=64 * 1024), BASE_URL)

    try:
        answer = await capped.transaction(BUNDLE)
    finally:
        await capped.aclose()

    assert answer == reply


# -- what the server said about a person does not travel on ------------------------------------------------

HETU = "131052-308T"
PHONE = "+358401234567"
GIVEN, FAMILY = "Matti", "Meikäläinen"
NAME = f"{GIVEN} {FAMILY}"
PERSONAL = personal_values({"client": {"hetu": HETU, "given_names": GIVEN, "family_name": FAMILY, "phone": PHONE}})


async def test_a_hetu_quoted_in_the_diagnostics_is_masked(lifecare: respx.MockRouter, client: FhirClient) -> None:
    lifecare.post(TRANSACTION).respond(422, json=operation_outcome(f"Patient {HETU} already has an open Task"))

    error = await failure_of(client)

    assert HETU not in error.message and "already has an open Task" in error.message


async def test_a_phone_number_quoted_in_the_diagnostics_is_masked(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(422, json=operation_outcome(f"telecom {PHONE} is not allowed"))

    error = await failure_of(client)

    assert PHONE not in error.message and "is not allowed" in error.message


async def test_a_name_of_the_delivery_quoted_in_the_diagnostics_is_not_repeated(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).respond(422, json=operation_outcome(f"Patient.name '{NAME}' differs from the register"))

    error = await failure_of(client, PERSONAL)

    assert error.message == "HTTP 422: Patient.name '<name> <name>' differs from the register"


async def test_the_patient_of_the_delivery_is_not_repeated_in_any_form(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    quoted = f"potilas MEIKÄLÄISEN Matti ({HETU}, puh. 040 123 4567) on jo rekisterissä"
    outcome = operation_outcome(quoted, "Patient.name[0].family", "Patient.telecom[0].value")
    lifecare.post(TRANSACTION).respond(422, json=outcome)

    error = await failure_of(client, PERSONAL)

    assert error.message == (
        "HTTP 422: potilas <name> <name> (<hetu>, puh. <phone>) on jo rekisterissä "
        "(Patient.name[0].family, Patient.telecom[0].value)"
    )


async def test_a_transport_error_does_not_repeat_the_library_text(
    lifecare: respx.MockRouter, client: FhirClient
) -> None:
    lifecare.post(TRANSACTION).mock(side_effect=httpx.ReadError(f"reset while sending {HETU}"))

    error = await failure_of(client)

    assert HETU not in error.message and error.message.startswith("ReadError:")


# -- the header parser the client uses, at a fixed now --------------------------------------------------------


def test_retry_after_accepts_an_http_date() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 23 Nov 2026 09:00:30 GMT", now=now) == 30
    assert retry_after_seconds("soon", now=now) is None
