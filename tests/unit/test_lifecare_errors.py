"""Lifecare's failures mapped to the gateway's error classes (client error handling, mocked transport)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import httpx
import pytest

from adapters.lifecare.client import FhirClient
from adapters.lifecare.errors import TRANSPORT_ERRORS, from_transport_error, retry_after_seconds
from adapters.lifecare.settings import LifecareSettings
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
)


def every_transport_error() -> list[type[httpx.TransportError]]:
    return [obj for _, obj in inspect.getmembers(httpx, inspect.isclass) if issubclass(obj, httpx.TransportError)]


@pytest.mark.parametrize("kind", every_transport_error(), ids=lambda k: k.__name__)
def test_every_httpx_transport_error_translates_to_a_delivery_error(kind: type[httpx.TransportError]) -> None:
    error = from_transport_error(kind("boom"))
    assert isinstance(error, DeliveryError)


def test_timeouts_and_dropped_connections_are_timeouts() -> None:
    assert isinstance(from_transport_error(httpx.ReadTimeout("t")), BackendTimeout)
    assert isinstance(from_transport_error(httpx.RemoteProtocolError("closed")), BackendTimeout)
    assert isinstance(from_transport_error(httpx.ConnectError("refused")), BackendUnavailable)
    assert TRANSPORT_ERRORS[httpx.UnsupportedProtocol] is BackendRejected


def client_answering(status: int, body: object = None, headers: dict[str, str] | None = None) -> FhirClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return FhirClient(LifecareSettings(), "http://lifecare.test/fhir", transport=httpx.MockTransport(handler))


async def failing(client: FhirClient) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await client.transaction({"resourceType": "Bundle", "type": "transaction", "entry": []})
    await client.aclose()
    return caught.value


async def test_429_is_throttled_with_retry_after() -> None:
    error = await failing(client_answering(429, {}, {"Retry-After": "12"}))
    assert isinstance(error, BackendThrottled) and error.retry_after == 12


async def test_503_is_unavailable_and_keeps_retry_after() -> None:
    error = await failing(client_answering(503, {}, {"Retry-After": "3"}))
    assert isinstance(error, BackendUnavailable) and error.retry_after == 3 and error.backend_status == "503"


async def test_400_is_rejected_with_the_operation_outcome_diagnostics() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": "Encounter.status is required",
                "expression": ["Encounter.status"],
            }
        ],
    }
    error = await failing(client_answering(400, outcome))
    assert isinstance(error, BackendRejected)
    assert error.message == "HTTP 400: Encounter.status is required (Encounter.status)"


async def test_a_success_that_is_not_json_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy error</html>")

    client = FhirClient(LifecareSettings(), "http://lifecare.test/fhir", transport=httpx.MockTransport(handler))
    assert isinstance(await failing(client), BackendUnavailable)


def test_retry_after_accepts_an_http_date() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 23 Nov 2026 09:00:30 GMT", now=now) == 30
    assert retry_after_seconds("soon", now=now) is None
