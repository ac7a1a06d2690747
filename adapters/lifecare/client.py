"""HTTP client of a FHIR R4 server (Lifecare or its simulator). I/O only: no rendering here."""

from __future__ import annotations

from typing import Any

import httpx

from adapters.lifecare.errors import from_response, from_transport_error
from adapters.lifecare.settings import LifecareSettings
from gateway.errors import BackendUnavailable

FHIR_JSON = "application/fhir+json"


class FhirClient:
    def __init__(self, settings: LifecareSettings, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Accept": FHIR_JSON, "Content-Type": f"{FHIR_JSON}; charset=utf-8"}
        if settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {settings.bearer_token.get_secret_value()}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
            verify=settings.verify_tls,
            cert=settings.client_cert,
            transport=transport,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    async def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction Bundle; return the transaction-response Bundle or raise a DeliveryError."""
        return await self._request("POST", "", json=bundle)

    async def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return await self._request("GET", f"{resource_type}/{resource_id}")

    async def search(self, resource_type: str, params: dict[str, str]) -> dict[str, Any]:
        # POST _search keeps identifiers (a hetu) out of URLs and so out of access logs on the way.
        return await self._request(
            "POST",
            f"{resource_type}/_search",
            data=params,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    async def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise from_transport_error(exc) from None
        if response.status_code >= 300:
            raise from_response(response)
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise BackendUnavailable(
                f"HTTP {response.status_code} with a body that is not JSON", backend_status=str(response.status_code)
            ) from None
        return body

    async def aclose(self) -> None:
        await self._http.aclose()
