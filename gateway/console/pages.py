"""The console's pages: overview, deliveries (filtered, paged), one delivery, the operator action log.

Everything a page shows comes from ``gateway.ops.queries``; a page adds layout and the masking rule:
payloads and back-end messages are masked unless the operator has ``personal:read``, and an
unmasked read is written to the access log before the page is sent (``shown_to``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from adapters.registry import BACKENDS
from gateway.console.chart import depth_chart
from gateway.console.depth import depth_history
from gateway.console.render import page, stale_page
from gateway.console.selection import AGES, STATUSES, filter_fields, filter_from, is_empty, query
from gateway.console.session import ConsoleSession, console_session
from gateway.masking import WITHHELD
from gateway.ops.queries import BadCursor, backend_health, delivery_detail, list_deliveries, list_operator_actions
from gateway.security.personal import PersonalRecord, ReadContext, masked_for, shown_to
from gateway.state import get_state
from gateway.store.engine import reading

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(console_session)]
Cursor = Annotated[str | None, Query(max_length=200)]
PAGE_SIZE = 50


# What a back-end said, as the outbox keeps it beside the status: free text that can name the client.
# The masking module withholds ``last_error`` but passes ``status_reason`` through its pattern net
# only, which leaves a name in "HTTP 422: Patient Pekka Koe ..." readable; the console withholds both.
BACKEND_TEXT_KEYS = ("status_reason", "last_error")


def _without_backend_text(session: ConsoleSession, row: dict[str, Any]) -> dict[str, Any]:
    if session.sees_personal:
        return row
    return {key: (WITHHELD if key in BACKEND_TEXT_KEYS and value else value) for key, value in row.items()}


def _reads(request: Request, session: ConsoleSession, route: str) -> ReadContext:
    return ReadContext(f"GET /console{route}", session.principal.user, "operating the delivery queues")


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, session: Session) -> HTMLResponse:
    state = get_state(request)
    now = state.now()
    async with reading(state.engine) as conn:
        health = await backend_health(conn, now=now)
        history = await depth_history(conn, now=now)
    charts = {entry["backend"]: depth_chart(history.get(entry["backend"])) for entry in health}
    return page(request, "overview.html", session=session, nav="overview", now=now, health=health, charts=charts)


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries(request: Request, session: Session, cursor: Cursor = None) -> HTMLResponse:
    state = get_state(request)
    now = state.now()
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    selection = filter_from(params)
    try:
        async with reading(state.engine) as conn:
            found = await list_deliveries(conn, selection, cursor=cursor, limit=PAGE_SIZE, now=now)
    except BadCursor:
        return stale_page(request, session, f"/console/deliveries?{query(selection)}")
    items = [_without_backend_text(session, dict(item)) for item in found.items]
    records = [PersonalRecord("delivery", str(item["id"]), item.get("client_key")) for item in items]
    shown = await shown_to(state, _reads(request, session, "/deliveries"), session.principal, items, records)
    return page(
        request,
        "deliveries.html",
        session=session,
        nav="deliveries",
        now=now,
        items=shown,
        total=found.total,
        counts=found.counts,
        selection=selection,
        fields=filter_fields(selection),
        filtered=not is_empty(selection),
        next_query=query(selection, cursor=found.next_cursor or ""),
        next_cursor=found.next_cursor,
        first_page=cursor is None,
        first_query=query(selection),
        statuses=STATUSES,
        backends=[spec.name for spec in BACKENDS],
        ages=AGES,
    )


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery(request: Request, session: Session, delivery_id: str) -> HTMLResponse:
    state = get_state(request)
    async with reading(state.engine) as conn:
        detail = await delivery_detail(conn, delivery_id)
    if detail is None:
        return page(
            request,
            "refused.html",
            session=session,
            status_code=404,
            heading="No such delivery",
            message=f"There is no delivery {delivery_id} (it may have been purged by retention).",
            back="/console/deliveries",
        )
    record = PersonalRecord("delivery", delivery_id, detail.get("client_key"))
    detail = _without_backend_text(session, detail)
    shown = await shown_to(state, _reads(request, session, "/deliveries/{id}"), session.principal, detail, [record])
    return page(request, "delivery.html", session=session, nav="deliveries", now=state.now(), d=shown)


@router.get("/actions", response_class=HTMLResponse)
async def actions(request: Request, session: Session, cursor: Cursor = None) -> HTMLResponse:
    state = get_state(request)
    try:
        async with reading(state.engine) as conn:
            found = await list_operator_actions(conn, cursor=cursor, limit=PAGE_SIZE)
    except BadCursor:
        return stale_page(request, session, "/console/actions")
    # An operator's reason is free text: the pattern net masks any hetu or phone number typed into it.
    items = masked_for(session.principal, list(found.items))
    return page(
        request,
        "actions.html",
        session=session,
        nav="actions",
        now=state.now(),
        items=items,
        next_cursor=found.next_cursor,
        first_page=cursor is None,
    )
