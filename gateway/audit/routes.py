"""HTTP routes of the käyttöloki and luovutusloki: search by client, time and reader or recipient; CSV export.

The client is named by hetu in the JSON body only; a URL (which proxies and access logs keep)
never carries one, so any query parameter but ``format`` is refused. A search by hetu is itself a
read of the client's data and is written to the käyttöloki (with ``X-User`` and ``X-Purpose``,
as every read of personal data): the client sees who looked them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import RowMapping

from gateway.audit import search
from gateway.audit.access import record_access
from gateway.audit.export import csv_stream
from gateway.audit.models import (
    AccessEntry,
    AccessPage,
    AccessQuery,
    DisclosureEntry,
    DisclosurePage,
    DisclosureQuery,
)
from gateway.bodies import openapi_body, parse
from gateway.consents.service import client_key
from gateway.logs import get_logger
from gateway.openapi import AUTHENTICATED, JSON_BODY, problem_responses
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.personal import ReadContext, Reads
from gateway.security.tokens import Principal
from gateway.state import GatewayState, State
from gateway.store.engine import reading

router = APIRouter(prefix="/v1/audit", tags=["audit"])
log = get_logger("gateway.audit")

CanRead = Annotated[Principal, Depends(require("audit:read"))]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv` for a CSV export of every matching entry (or send `Accept: text/csv`)."),
]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8; header=present"


def _invalid(field: str, code: str, message: str) -> Problem:
    return Problem(
        422, "invalid-request", "The request is not valid", errors=[{"field": field, "code": code, "message": message}]
    )


def no_identifiers_in_url(request: Request) -> None:
    """422 for any query parameter but ``format``: a hetu sent in a URL is refused, not looked up."""
    for name in request.query_params:
        if name != "format":
            raise _invalid(
                f"query.{name}" if name.isidentifier() else "query",
                "not_supported",
                "search terms go in the JSON body; a hetu is never sent in a URL",
            )


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "").lower()
    return "text/csv" in accept and "application/json" not in accept


def _responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": f"A page of entries (JSON), or every entry as CSV ({CSV_MEDIA_TYPE})",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(*AUTHENTICATED, *JSON_BODY),
    }


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return search.decode_cursor(cursor)
    except ValueError:
        raise _invalid("cursor", "invalid_cursor", "not a next_cursor this API gave") from None


async def _search(
    state: GatewayState,
    principal: Principal,
    *,
    chain: str,
    filters: search.Filters,
    before_id: int | None,
    limit: int | None,
    reads: ReadContext,
) -> tuple[list[Any], int, str | None]:
    """Read a page (or nothing, for an export) and log the read when it concerns one client."""
    found: tuple[list[Any], int, str | None] = ([], 0, None)
    if filters.subject_key is None:
        if limit is not None:
            async with reading(state.engine) as conn:
                found = await search.page(conn, chain, filters, before_id=before_id, limit=limit)
        return found
    async with state.engine.begin() as conn:
        if limit is not None:
            found = await search.page(conn, chain, filters, before_id=before_id, limit=limit)
        await record_access(
            conn,
            replace(principal, user=principal.user or reads.user),
            record_type=chain,
            record_id="search" if limit is not None else "export",
            subject_key=filters.subject_key,
            route=reads.route,
            purpose=reads.purpose or "audit",
            now=state.now(),
        )
    return found


def _csv(
    state: GatewayState,
    chain: str,
    filters: search.Filters,
    before_id: int | None,
    entries: tuple[type[BaseModel], Callable[[RowMapping], BaseModel]],
) -> StreamingResponse:
    name = "kayttoloki" if chain == "access_log" else "luovutusloki"
    rows = search.batches(state.engine, chain, filters, before_id=before_id)
    return StreamingResponse(
        csv_stream(entries[0], rows, entries[1]),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.post(
    "/access/search",
    summary="Search the access log (käyttöloki): who read a client's data",
    response_model=AccessPage,
    dependencies=[Depends(no_identifiers_in_url)],
    openapi_extra=openapi_body("AccessQuery"),
    responses=_responses(),
    description="By client (hetu in the body), time range and reading API client; newest first, "
    "paged by `next_cursor`, with the total. `Accept: text/csv` or `?format=csv` exports every "
    "matching entry. A search by hetu is itself logged.",
)
async def search_access(request: Request, state: State, principal: CanRead, reads: Reads, format: Format = None) -> Any:
    query = await parse(request, AccessQuery, limit=state.settings.max_body_bytes)
    filters = search.Filters(
        subject_key=client_key(state.fingerprints, query.hetu) if query.hetu else None,
        since=query.since,
        until=query.until,
        who=query.client,
    )
    before_id = _cursor(query.cursor)
    csv = _wants_csv(request, format)
    rows, total, next_cursor = await _search(
        state,
        principal,
        chain="access_log",
        filters=filters,
        before_id=before_id,
        limit=None if csv else query.limit,
        reads=reads,
    )
    log.info("access log searched", by_client=query.hetu is not None, csv=csv, client=principal.name)
    if csv:
        return _csv(state, "access_log", filters, before_id, (AccessEntry, search.access_entry))
    return AccessPage(items=[search.access_entry(r) for r in rows], total=total, next_cursor=next_cursor)


@router.post(
    "/disclosures/search",
    summary="Search the disclosure log (luovutusloki): who received a client's data",
    response_model=DisclosurePage,
    dependencies=[Depends(no_identifiers_in_url)],
    openapi_extra=openapi_body("DisclosureQuery"),
    responses=_responses(),
    description="By client (hetu in the body), time range and recipient back-end; newest first, "
    "paged by `next_cursor`, with the total. Each entry names the recipient in words and the legal "
    "basis or consent. `Accept: text/csv` or `?format=csv` exports every matching entry.",
)
async def search_disclosures(
    request: Request, state: State, principal: CanRead, reads: Reads, format: Format = None
) -> Any:
    query = await parse(request, DisclosureQuery, limit=state.settings.max_body_bytes)
    if query.recipient is not None and query.recipient not in search.recipients():
        raise _invalid("recipient", "unknown_code", f"not a back-end; known: {', '.join(search.recipients())}")
    filters = search.Filters(
        subject_key=client_key(state.fingerprints, query.hetu) if query.hetu else None,
        since=query.since,
        until=query.until,
        who=query.recipient,
    )
    before_id = _cursor(query.cursor)
    csv = _wants_csv(request, format)
    rows, total, next_cursor = await _search(
        state,
        principal,
        chain="disclosures",
        filters=filters,
        before_id=before_id,
        limit=None if csv else query.limit,
        reads=reads,
    )
    log.info("disclosure log searched", by_client=query.hetu is not None, csv=csv, client=principal.name)
    if csv:
        return _csv(state, "disclosures", filters, before_id, (DisclosureEntry, search.disclosure_entry))
    return DisclosurePage(items=[search.disclosure_entry(r) for r in rows], total=total, next_cursor=next_cursor)
