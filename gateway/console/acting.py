"""Replay, release and cancel from the console: a dry run first, then the real move with a reason.

Both steps are form posts checked against the session's CSRF token and the ``ops:write`` scope.
The dry run shows how many deliveries and which would move, and which would be refused; the
confirmation repeats the same selection (hidden fields) with the reason the action log keeps.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from gateway.console.render import page
from gateway.console.selection import filter_fields, filter_from
from gateway.console.session import ConsoleSession, check_csrf, console_session, require_write
from gateway.ops.queries import DeliveryFilter
from gateway.outbox.operations import ActionResult, Operator, cancel, release, replay
from gateway.state import get_state
from gateway.store.engine import reading

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(console_session)]
Act = Callable[..., Awaitable[ActionResult]]
ACTIONS: dict[str, Act] = {"replay": replay, "release": release, "cancel": cancel}
MAX_REASON = 500
MAX_IDS = 500


def _selection(form: Mapping[str, Sequence[str]]) -> DeliveryFilter | list[str]:
    """Named deliveries (``id`` fields, from a delivery's page) or the list's filter."""
    ids = [value.strip() for value in form.get("id", ()) if value.strip()][:MAX_IDS]
    return ids if ids else filter_from(form)


def _hidden(selection: DeliveryFilter | list[str]) -> list[tuple[str, str]]:
    return [("id", i) for i in selection] if isinstance(selection, list) else filter_fields(selection)


def _operator(session: ConsoleSession) -> Operator:
    p = session.principal
    return Operator(client_id=p.client_id, client_name=p.client_name, actor=p.name, user=p.user)


async def _form(request: Request, session: ConsoleSession) -> dict[str, list[str]]:
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    require_write(session)
    return {key: [str(v) for v in form.getlist(key)] for key in form}


async def _run(
    request: Request,
    session: ConsoleSession,
    action: str,
    selection: DeliveryFilter | list[str],
    reason: str,
    *,
    dry_run: bool,
) -> ActionResult:
    state = get_state(request)
    operator = _operator(session)
    if dry_run:
        # Reads only: a dry run on SQLite does not take the write lock.
        async with reading(state.engine) as conn:
            return await ACTIONS[action](
                conn, selection=selection, operator=operator, reason=reason, now=state.now(), dry_run=True
            )
    # The moves and their line in the action log commit together.
    async with state.engine.begin() as conn:
        return await ACTIONS[action](
            conn, selection=selection, operator=operator, reason=reason, now=state.now(), dry_run=False
        )


def _unknown_action(request: Request, session: ConsoleSession, action: str) -> HTMLResponse:
    return page(
        request,
        "refused.html",
        session=session,
        status_code=400,
        heading="Unknown action",
        message=f"'{action[:40]}' is not replay, release or cancel. Nothing was done.",
        back="/console/deliveries",
    )


def _confirmation(
    request: Request,
    session: ConsoleSession,
    *,
    action: str,
    selection: DeliveryFilter | list[str],
    reason: str,
    preview: ActionResult,
    error: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        "confirm.html",
        session=session,
        nav="deliveries",
        now=get_state(request).now(),
        status_code=422 if error else 200,
        action=action,
        hidden=_hidden(selection),
        named=isinstance(selection, list),
        reason=reason,
        preview=preview,
        error=error,
    )


@router.post("/act", response_class=HTMLResponse)
async def preview(request: Request, session: Session) -> HTMLResponse:
    form = await _form(request, session)
    action = (form.get("action") or [""])[0]
    if action not in ACTIONS:
        return _unknown_action(request, session, action)
    selection = _selection(form)
    reason = (form.get("reason") or [""])[0].strip()[:MAX_REASON]
    result = await _run(request, session, action, selection, reason, dry_run=True)
    return _confirmation(request, session, action=action, selection=selection, reason=reason, preview=result)


@router.post("/act/confirm", response_class=HTMLResponse)
async def confirm(request: Request, session: Session) -> HTMLResponse:
    form = await _form(request, session)
    action = (form.get("action") or [""])[0]
    if action not in ACTIONS:
        return _unknown_action(request, session, action)
    selection = _selection(form)
    reason = (form.get("reason") or [""])[0].strip()[:MAX_REASON]
    if not reason:
        result = await _run(request, session, action, selection, reason, dry_run=True)
        return _confirmation(
            request,
            session,
            action=action,
            selection=selection,
            reason=reason,
            preview=result,
            error="Give a reason: the action log keeps it with your name.",
        )
    result = await _run(request, session, action, selection, reason, dry_run=False)
    return page(request, "done.html", session=session, nav="actions", now=get_state(request).now(), result=result)
