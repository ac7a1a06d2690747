"""A simulated Lifecare: a small FHIR R4 server (ASGI) for contract tests, demos and the benchmark.

What it does, as strictly as a real server would: validates every resource with the R4B models,
processes transaction bundles atomically with ``urn:uuid`` reference resolution, supports
conditional create (``ifNoneExist`` / ``If-None-Exist``), update by id, read, and search by
identifier, subject/patient and ``_tag`` (GET, or POST ``_search`` so identifiers stay out of
URLs); answers every error as an OperationOutcome; refuses unknown search parameters instead of
ignoring them. It keeps what it stored for tests to inspect (``/_sim/resources``) and, through
:class:`adapters.faults.FaultInjector`, can be told to fail, throttle, stall or drop connections.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.faults import FaultInjector, FaultRule
from adapters.lifecare.fhir_store import SUPPORTED, FhirProblem, FhirStore

FHIR_JSON = "application/fhir+json"
MAX_BODY = 5 * 1024 * 1024


def _fhir(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def _operation_outcome(rule: FaultRule) -> tuple[bytes, str]:
    outcome = FhirProblem(rule.status or 500, "transient", rule.message).outcome()
    return json.dumps(outcome).encode(), FHIR_JSON


class LifecareSimulator:
    """The ASGI app. All state lives on the instance: two simulators never share anything."""

    def __init__(self) -> None:
        self.store = FhirStore()
        self.app = Starlette(
            routes=[
                Route("/metadata", self.capabilities, methods=["GET"]),
                Route("/", self.transaction, methods=["POST"]),
                Route("/{kind}/_search", self.search_post, methods=["POST"]),
                Route("/{kind}", self.create, methods=["POST"]),
                Route("/{kind}", self.search_get, methods=["GET"]),
                Route("/{kind}/{rid}", self.read, methods=["GET"]),
                Route("/{kind}/{rid}", self.update, methods=["PUT"]),
            ],
            exception_handlers={FhirProblem: self._problem, 404: self._not_found, 405: self._not_allowed},
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # -- handlers ---------------------------------------------------------------------------------

    async def capabilities(self, request: Request) -> Response:
        interactions = [{"code": c} for c in ("read", "create", "update", "search-type")]
        return _fhir(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "kind": "instance",
                "date": "2026-11-23",
                "fhirVersion": "4.0.1",
                "format": ["json"],
                "software": {"name": "asiakasohjaus-gateway Lifecare simulator"},
                "rest": [
                    {
                        "mode": "server",
                        "interaction": [{"code": "transaction"}],
                        "resource": [
                            {
                                "type": t,
                                "interaction": interactions,
                                "conditionalCreate": True,
                                "searchParam": [
                                    {"name": "identifier", "type": "token"},
                                    {"name": "patient", "type": "reference"},
                                ],
                            }
                            for t in SUPPORTED
                        ],
                    }
                ],
            }
        )

    async def transaction(self, request: Request) -> Response:
        return _fhir(self.store.transaction(await _json_body(request)))

    async def create(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        resource = await _json_body(request)
        if isinstance(resource, dict) and resource.get("resourceType") != kind:
            raise FhirProblem(400, "invalid", f"the body is not a {kind}")
        status, stored = self.store.create(resource, request.headers.get("if-none-exist"))
        return _fhir(
            stored, int(status[:3]), {"Location": f"{kind}/{stored['id']}/_history/{stored['meta']['versionId']}"}
        )

    async def update(self, request: Request) -> Response:
        kind, rid = request.path_params["kind"], request.path_params["rid"]
        status, stored = self.store.update(kind, rid, await _json_body(request))
        return _fhir(stored, int(status[:3]), {"ETag": f'W/"{stored["meta"]["versionId"]}"'})

    async def read(self, request: Request) -> Response:
        stored = self.store.read(request.path_params["kind"], request.path_params["rid"])
        return _fhir(stored, headers={"ETag": f'W/"{stored["meta"]["versionId"]}"'})

    async def search_get(self, request: Request) -> Response:
        return self._searchset(request.path_params["kind"], dict(request.query_params))

    async def search_post(self, request: Request) -> Response:
        body = (await request.body()).decode()
        return self._searchset(request.path_params["kind"], dict(parse_qsl(body, keep_blank_values=True)))

    def _searchset(self, kind: str, params: dict[str, str]) -> Response:
        found = self.store.search(kind, params)
        return _fhir(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "entry": [{"fullUrl": f"{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in found],
            }
        )

    # -- errors -----------------------------------------------------------------------------------

    async def _problem(self, _request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FhirProblem)
        return _fhir(exc.outcome(), exc.status)

    async def _not_found(self, request: Request, _exc: Exception) -> Response:
        return _fhir(FhirProblem(404, "not-found", f"no such endpoint: {request.url.path}").outcome(), 404)

    async def _not_allowed(self, request: Request, _exc: Exception) -> Response:
        return _fhir(FhirProblem(405, "not-supported", f"{request.method} is not supported here").outcome(), 405)

    # -- inspection (reached through FaultInjector at /_sim/...) ---------------------------------

    async def sim_admin(self, method: str, path: str, _body: bytes) -> tuple[int, Any]:
        if path == "/_sim/resources" and method == "GET":
            return 200, {kind: [s.resource for s in items.values()] for kind, items in self.store.resources.items()}
        if path == "/_sim/resources" and method == "DELETE":
            self.store = FhirStore()
            return 200, {"reset": True}
        if path == "/_sim/counts" and method == "GET":
            return 200, self.store.count()
        return 404, {"error": f"no simulator admin route {method} {path}"}


async def _json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in (FHIR_JSON, "application/json"):
        raise FhirProblem(415, "not-supported", f"content type {content_type or '(none)'} is not FHIR JSON")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise FhirProblem(413, "too-costly", f"body over {MAX_BODY} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FhirProblem(400, "structure", "the body is not JSON") from None


def create_simulator() -> FaultInjector:
    """A fresh simulated Lifecare with fault injection in front."""
    return FaultInjector(LifecareSimulator(), render_error=_operation_outcome)
