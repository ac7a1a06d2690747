"""HTTP client of a FHIR R4 server (Lifecare or its simulator). I/O only: no rendering here.

Every answer body is read as a stream and never past ``max_response_bytes`` (a declared
Content-Length over the cap is refused before reading; the cap holds for the decoded bytes, so a
compressed answer cannot expand past it). Each call takes the delivery's ``personal`` values, so
that what the server says about the person is never repeated (:mod:`adapters.lifecare.errors`).

TLS is always verified, against ``ca_bundle`` when set, else the system's CA store; the client
certificate (mutual TLS) is presented when set. Both live in one SSL context built with the client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from adapters.lifecare.errors import from_response, from_transport_error, too_large
from adapters.lifecare.settings import LifecareSettings
from adapters.tls import tls_context
from gateway.errors import BackendUnavailable

FHIR_JSON = "application/fhir+json"
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class _TooLarge(Exception):
    """An answer body over the cap: not read further."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__("answer over the size cap")
        self.response = response


class FhirClient:
    def __init__(self, settings: LifecareSettings, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Accept": FHIR_JSON, "Content-Type": f"{FHIR_JSON}; charset=utf-8"}
        if settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {settings.bearer_token.get_secret_value()}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            verify=tls_context(
                "lifecare",
                ca_bundle=settings.ca_bundle,
                client_cert=settings.client_cert,
                client_key=settings.client_key,
            ),
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self.max_response_bytes = settings.max_response_bytes

    async def transaction(self, bundle: dict[str, Any], *, personal: Iterable[str] = ()) -> dict[str, Any]:
        """POST a transaction Bundle; return the transaction-response Bundle or raise a DeliveryError."""
        return await self._request("POST", "", personal, json=bundle)

    async def read(self, resource_type: str, resource_id: str, *, personal: Iterable[str] = ()) -> dict[str, Any]:
        return await self._request("GET", f"{resource_type}/{resource_id}", personal)

    async def search(
        self, resource_type: str, params: dict[str, str], *, personal: Iterable[str] = ()
    ) -> dict[str, Any]:
        # POST _search keeps identifiers (a hetu) out of URLs and so out of access logs on the way.
        return await self._request(
            "POST",
            f"{resource_type}/_search",
            personal,
            data=params,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def _request(self, method: str, url: str, personal: Iterable[str], **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._send(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise from_transport_error(exc) from None
        except httpx.DecodingError:
            raise BackendUnavailable("the answer's content encoding is broken") from None
        except _TooLarge as exc:
            raise too_large(exc.response, self.max_response_bytes) from None
        if response.status_code >= 300:
            raise from_response(response, personal)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise BackendUnavailable(
                f"HTTP {response.status_code} with a body that is not JSON", backend_status=str(response.status_code)
            ) from None
        return body

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One answer, read completely but never past the cap (as Kanta's client reads its replies)."""
        request = self._http.build_request(method, url, **kwargs)
        response = await self._http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise _TooLarge(response)
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decoded: the cap holds for compressed answers too
                body.extend(chunk)
                if len(body) > self.max_response_bytes:
                    raise _TooLarge(response)
        finally:
            await response.aclose()
        headers = httpx.Headers([(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS])
        return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=request)

    async def aclose(self) -> None:
        await self._http.aclose()
