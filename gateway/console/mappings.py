"""The mapping admins' console pages: versions, a version's diff and dry-run, activate and roll back.

Activation and rollback are two steps, like the queue actions: a form post shows what would happen
(checked against the session's CSRF token), the confirmation does it with the version the admin
saw as active, so an activation made meanwhile by someone else is refused rather than overwritten.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from gateway.console.render import page
from gateway.console.session import ConsoleSession, check_csrf, session_requiring
from gateway.mapsets import service, store
from gateway.state import get_state
from gateway.store.engine import reading

router = APIRouter()
Admin = Annotated[ConsoleSession, Depends(session_requiring("mappings:admin"))]
MAX_COMMENT = 500
RECENT = 100


def _actor(session: ConsoleSession) -> str:
    p = session.principal
    return f"{p.client_name}:{p.user or p.name}"


async def _form(request: Request, session: ConsoleSession) -> dict[str, str]:
    form = await request.form()
    check_csrf(session, form.get("csrf"))
    return {key: str(form.get(key) or "") for key in form}


def _number(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


@router.get("/mappings", response_class=HTMLResponse)
async def versions(request: Request, session: Admin) -> HTMLResponse:
    state = get_state(request)
    async with reading(state.engine) as conn:
        active = await store.active_number(conn)
        listed = await store.list_versions(conn)
        changes = await store.history(conn, limit=50)
    return page(
        request,
        "mappings.html",
        session=session,
        nav="mappings",
        now=state.now(),
        active=active,
        versions=[v.as_dict(active) for v in listed],
        changes=[c.as_dict() for c in changes],
    )


@router.get("/mappings/{number}", response_class=HTMLResponse)
async def version(request: Request, session: Admin, number: int) -> HTMLResponse:
    state = get_state(request)
    async with reading(state.engine) as conn:
        active = await store.active_number(conn)
        found = await store.get_version(conn, number)
        if found is None:
            return _refused(request, session, 404, "No such version", f"Mapping version {number} does not exist.")
        compared = await service.diff_versions(conn, number=number, against=active)
    result = await service.dry_run_versions(state.engine, candidate=found[1], samples=[], recent=RECENT)
    return page(
        request,
        "mapping.html",
        session=session,
        nav="mappings",
        now=state.now(),
        version=found[0].as_dict(active),
        active=active,
        diff=compared,
        dry_run=result,
        changed=[s for s in result["samples"] if s["changed"]],
    )


@router.post("/mappings/{number}/activate", response_class=HTMLResponse)
async def activate_preview(request: Request, session: Admin, number: int) -> HTMLResponse:
    await _form(request, session)
    state = get_state(request)
    async with reading(state.engine) as conn:
        active = await store.active_number(conn)
        if await store.get_version(conn, number) is None:
            return _refused(request, session, 404, "No such version", f"Mapping version {number} does not exist.")
        compared = await service.diff_versions(conn, number=number, against=active)
    return _confirm(request, session, action="activate", number=number, active=active, diff=compared)


@router.post("/mappings/rollback", response_class=HTMLResponse)
async def rollback_preview(request: Request, session: Admin) -> HTMLResponse:
    await _form(request, session)
    return _confirm(request, session, action="rollback", number=None, active=await _active(request), diff=None)


@router.post("/mappings/confirm", response_class=HTMLResponse)
async def confirm(request: Request, session: Admin) -> HTMLResponse:
    form = await _form(request, session)
    state = get_state(request)
    action = form.get("action", "")
    expected = _number(form.get("expected_current", ""))
    comment = form.get("comment", "").strip()[:MAX_COMMENT] or None
    try:
        async with state.engine.begin() as conn:
            if action == "activate" and (number := _number(form.get("number", ""))) is not None:
                previous = await store.activate(
                    conn,
                    number=number,
                    actor=_actor(session),
                    now=state.now(),
                    comment=comment,
                    expected_current=expected,
                )
                done = {"action": "activated", "active": number, "previous": previous}
            elif action == "rollback":
                active, previous = await store.rollback(
                    conn, actor=_actor(session), now=state.now(), comment=comment, expected_current=expected
                )
                done = {"action": "rolled back", "active": active, "previous": previous}
            else:
                return _refused(request, session, 400, "Unknown action", "Nothing was done.")
    except store.StaleActivation as exc:
        return _refused(request, session, 409, "The active version has changed", f"{exc}. Nothing was done.")
    except (store.UnknownVersion, store.NothingToRollBack) as exc:
        return _refused(request, session, 409, "Not done", f"{exc}. Nothing was done.")
    return page(
        request,
        "mapping_done.html",
        session=session,
        nav="mappings",
        now=state.now(),
        done=done,
        poll=state.settings.mappings_poll_seconds,
    )


async def _active(request: Request) -> int | None:
    async with reading(get_state(request).engine) as conn:
        return await store.active_number(conn)


def _confirm(
    request: Request, session: ConsoleSession, *, action: str, number: int | None, active: int | None, diff: Any
) -> HTMLResponse:
    return page(
        request,
        "mapping_confirm.html",
        session=session,
        nav="mappings",
        now=get_state(request).now(),
        action=action,
        number=number,
        active=active,
        diff=diff,
    )


def _refused(request: Request, session: ConsoleSession, status: int, heading: str, message: str) -> HTMLResponse:
    return page(
        request,
        "refused.html",
        session=session,
        status_code=status,
        heading=heading,
        message=message,
        back="/console/mappings",
    )
