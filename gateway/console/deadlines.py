"""The supervisors' deadlines page: open hand-overs counted by unit and rule family, listed, marked met.

Reads and marks through ``gateway.handovers`` exactly as the API does (the same owner rule: a
login sees its own client's outcomes unless it holds ``records:read-all``). Nothing personal is
shown: rule, legal basis, dates, unit and ids only. Marking is a form post checked against the
session's CSRF token and ``deadlines:write``, with a confirmation page between.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.render import page, stale_page
from gateway.console.session import ConsoleForbidden, ConsoleSession, check_csrf, session_requiring
from gateway.handovers import marks, queries
from gateway.handovers.classify import NOT_OPEN_REASONS, STATES, DeadlineState, finnish_today, state_of
from gateway.handovers.families import FAMILIES
from gateway.handovers.models import DeadlineList, DeadlineOut
from gateway.handovers.routes import visible_systems
from gateway.state import get_state
from gateway.store.engine import reading

router = APIRouter()
READ = "deadlines:read"
WRITE = "deadlines:write"
Session = Annotated[ConsoleSession, Depends(session_requiring(READ))]
PAGE_SIZE = 50
PATH = "/console/deadlines"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _selection(params: Mapping[str, str]) -> queries.DeadlineFilter:
    """The filter form's fields; a value that does not parse is left out rather than refused."""
    raw_state = params.get("state") or None
    chosen: DeadlineState | None = next((s for s in STATES if s == raw_state), None)
    return queries.DeadlineFilter(
        unit=(params.get("unit") or "").strip()[:64] or None,
        family=(params.get("family") or "").strip()[:64] or None,
        state=chosen,
        due_from=_date(params.get("due_from")),
        due_to=_date(params.get("due_to")),
    )


def _fields(f: queries.DeadlineFilter) -> list[tuple[str, str]]:
    pairs = [("unit", f.unit), ("family", f.family), ("state", f.state), ("due_from", f.due_from), ("due_to", f.due_to)]
    return [(name, str(value)) for name, value in pairs if value is not None]


def _may_mark(session: ConsoleSession) -> bool:
    return session.may(WRITE)


@router.get("/deadlines", response_class=HTMLResponse)
async def deadlines_page(request: Request, session: Session) -> HTMLResponse:
    state = get_state(request)
    selection = _selection(request.query_params)
    cursor = request.query_params.get("cursor") or None
    today = finnish_today(state.now())
    try:
        async with reading(state.engine) as conn:
            found = await queries.open_deadlines(
                conn,
                selection,
                today=today,
                systems=visible_systems(session.principal),
                cursor=cursor[:200] if cursor else None,
                limit=PAGE_SIZE,
            )
    except queries.BadCursor:
        return stale_page(request, session, PATH)
    view = DeadlineList.tallied(
        found.tally,
        today=today,
        items=[DeadlineOut(**item, state=state_of(item["due"], today)) for item in found.items],
        next_cursor=found.next_cursor,
        total=found.total,
    )
    fields = _fields(selection)
    marked = request.query_params.get("marked", "")
    return page(
        request,
        "deadlines.html",
        session=session,
        nav="deadlines",
        now=state.now(),
        view=view,
        selection=selection,
        states=STATES,
        families=[family for _, family in FAMILIES],
        labels={f.family: f.label for f in view.by_family},
        filtered=bool(fields),
        first_page=cursor is None,
        first_query=urlencode(fields),
        next_query=urlencode([*fields, ("cursor", found.next_cursor or "")]),
        may_mark=_may_mark(session),
        marked=marked if marked.isdigit() else None,
    )


async def _form(request: Request, session: ConsoleSession) -> int | None:
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    if not _may_mark(session):
        raise ConsoleForbidden(WRITE)
    raw = str(form.get("id") or "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _gone(request: Request, session: ConsoleSession, deadline_id: int | None, why: str) -> HTMLResponse:
    return page(
        request,
        "refused.html",
        session=session,
        status_code=404 if why == "" else 409,
        heading="Deadline not open",
        message=f"Deadline {deadline_id or '?'} is not on your open list"
        + (f": {why}" if why else " (marked already, or not one of your outcomes)")
        + ". Nothing was done.",
        back=PATH,
    )


@router.post("/deadlines/met", response_class=HTMLResponse)
async def confirm_page(request: Request, session: Session) -> HTMLResponse:
    """The confirmation step: what would be marked, and the button that marks it."""
    deadline_id = await _form(request, session)
    state = get_state(request)
    item: dict[str, Any] | None = None
    if deadline_id is not None:
        async with reading(state.engine) as conn:
            item = await queries.open_deadline(conn, deadline_id, systems=visible_systems(session.principal))
    if item is None:
        return _gone(request, session, deadline_id, "")
    today = finnish_today(state.now())
    shown = DeadlineOut(**item, state=state_of(item["due"], today))
    return page(request, "deadline_confirm.html", session=session, nav="deadlines", now=state.now(), d=shown)


@router.post("/deadlines/met/confirm", response_model=None)
async def mark(request: Request, session: Session) -> Response:
    deadline_id = await _form(request, session)
    if deadline_id is None:
        return _gone(request, session, deadline_id, "")
    state = get_state(request)
    p = session.principal
    async with state.engine.begin() as conn:
        result = await marks.mark_met(
            conn,
            deadline_id,
            by=marks.actor_of(p.client_name, p.user or p.name),
            now=state.now(),
            systems=visible_systems(p),
        )
    if result is None:
        return _gone(request, session, deadline_id, "")
    if isinstance(result, marks.Refused):
        return _gone(request, session, deadline_id, NOT_OPEN_REASONS[result.reason])
    return RedirectResponse(f"{PATH}?marked={deadline_id}", status_code=303)
