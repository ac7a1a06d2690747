"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from gateway.openapi import AUTHENTICATED, problem_responses
from gateway.outbox.states import NEEDS_OPERATOR, OPEN
from gateway.security.deps import require
from gateway.security.tokens import Principal
from gateway.state import State
from gateway.store.engine import reading
from gateway.store.schema import deliveries

router = APIRouter(tags=["health"])


NO_TOKEN: dict[str, Any] = {"security": []}
READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {"status": {"type": "string"}, "checks": {"type": "object", "additionalProperties": True}},
}


@router.get("/health/live", summary="The process is up", openapi_extra=NO_TOKEN, responses=problem_responses())
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="The database answers and mappings are loaded",
    openapi_extra=NO_TOKEN,
    responses={
        **problem_responses(),
        200: {"description": "Ready", "content": {"application/json": {"schema": READINESS}}},
        503: {"description": "The database does not answer", "content": {"application/json": {"schema": READINESS}}},
    },
)
async def ready(state: State) -> JSONResponse:
    checks: dict[str, Any] = {"mappings": state.mappings.current().version}
    try:
        async with reading(state.engine) as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ok", "checks": checks})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(*AUTHENTICATED),
    },
)
async def metrics(state: State, _: Annotated[Principal, Depends(require("ops:read"))]) -> Response:
    now = state.now()
    async with reading(state.engine) as conn:
        rows = await conn.execute(
            select(deliveries.c.backend, deliveries.c.status, func.count(), func.min(deliveries.c.created_at))
            .where(deliveries.c.status.in_(OPEN | NEEDS_OPERATOR))
            .group_by(deliveries.c.backend, deliveries.c.status)
        )
        state.metrics.queue_depth.clear()
        state.metrics.oldest_pending_seconds.clear()
        for backend, status, count, oldest in rows:
            state.metrics.queue_depth.labels(backend, status).set(count)
            if status == "pending" and oldest is not None:
                state.metrics.oldest_pending_seconds.labels(backend).set((now - oldest).total_seconds())
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
