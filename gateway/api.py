"""The application factory: settings in, a FastAPI app out. Routers are assembled here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi

from gateway import __version__
from gateway.audit.models import AccessQuery, DisclosureQuery
from gateway.audit.routes import router as audit_router
from gateway.bodies import check_parameters
from gateway.bookings.models import BookingIn, CancelIn, SlotSearch
from gateway.bookings.routes import router as bookings_router
from gateway.consents.models import ClientQuery, ConsentIn, RevokeIn
from gateway.consents.routes import router as consents_router
from gateway.console import install_console
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.docs import install_docs
from gateway.handovers.routes import router as deadlines_router
from gateway.health import router as health_router
from gateway.logs import get_logger
from gateway.mappings import MappingSet
from gateway.mapsets.routes import router as mappings_router
from gateway.mapsets.watch import watching
from gateway.openapi import PROBLEM_SCHEMA, ProblemDetails
from gateway.ops.models import OpsActionIn
from gateway.ops.routes import router as ops_router
from gateway.outcomes.routes import router as outcomes_router
from gateway.problems import install_problem_handlers
from gateway.settings import GatewaySettings
from gateway.state import GatewayState, build_state
from gateway.statistics.routes import router as statistics_router

access_log = get_logger("gateway.access")

DESCRIPTION = """
Integration gateway for Finnish social and health care client guidance (asiakasohjaus).

Source systems post **guidance outcomes**; the gateway decides by the register rules which records
each must become (patient register via Lifecare FHIR R4, social care documents in Kanta, Kela
bookings under consent, or anonymous statistics only) and delivers them through retry queues.

Authenticate with `Authorization: Bearer <token>` (create tokens with `gateway tokens create`).
Errors are `application/problem+json` (RFC 9457).
"""


def create_app(
    settings: GatewaySettings, *, mappings: MappingSet | None = None, state: GatewayState | None = None
) -> FastAPI:
    """Build the gateway API. The engine is created here and disposed when the app shuts down."""
    state = state or build_state(settings, mappings=mappings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Servers started with lifespan="off" (gateway.server) start the watch themselves.
        async with watching(state):
            yield
        await state.aclose()

    app = FastAPI(
        title="Asiakasohjaus gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Before any route's own dependencies (the token lookup among them): no parameter holding a
        # NUL reaches the database.
        dependencies=[Depends(check_parameters)],
        openapi_tags=[
            {"name": "outcomes", "description": "Guidance outcomes in, plans and delivery status out."},
            {"name": "consents", "description": "The consent registry: Kela Y100, electronic and verbal consents."},
            {"name": "bookings", "description": "Kela phone appointments booked for clients (a modelled interface)."},
            {"name": "audit", "description": "The access and disclosure logs (käyttöloki, luovutusloki)."},
            {
                "name": "ops",
                "description": "Operators: the delivery queues across clients, actions on them, back-ends.",
            },
            {"name": "statistics", "description": "Anonymous statistics by period and unit, small cells suppressed."},
            {"name": "deadlines", "description": "Supervisors: open hand-overs against their statutory deadlines."},
            {"name": "mappings", "description": "Admins: mapping versions, diff, dry-run, activation, history."},
            {"name": "health", "description": "Liveness, readiness, metrics."},
        ],
    )
    app.state.gateway = state
    install_problem_handlers(app)
    install_docs(app)
    app.include_router(health_router)
    app.include_router(outcomes_router)
    app.include_router(consents_router)
    app.include_router(bookings_router)
    app.include_router(audit_router)
    app.include_router(ops_router)
    app.include_router(statistics_router)
    app.include_router(deadlines_router)
    app.include_router(mappings_router)
    install_console(app)

    @app.middleware("http")
    async def _access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        seconds = time.perf_counter() - started
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        state.metrics.request_seconds.labels(request.method, template, str(response.status_code)).observe(seconds)
        # The route template, never the raw path or query: both can carry identifiers.
        access_log.info(
            "request", method=request.method, route=template, status=response.status_code, ms=round(seconds * 1000, 1)
        )
        return response

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        # Bodies parsed by hand (for size limits and one-pass errors) are published here, and so is the
        # problem document every route declares for its errors (gateway.openapi).
        for name, model in (
            ("OutcomeV1", OutcomeV1),
            ("ConsentV1", ConsentIn),
            ("RevokeIn", RevokeIn),
            ("ClientQuery", ClientQuery),
            ("BookingV1", BookingIn),
            ("CancelIn", CancelIn),
            ("SlotSearch", SlotSearch),
            ("AccessQuery", AccessQuery),
            ("DisclosureQuery", DisclosureQuery),
            ("OpsActionIn", OpsActionIn),
            (PROBLEM_SCHEMA, ProblemDetails),
        ):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[name] = model_schema
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
