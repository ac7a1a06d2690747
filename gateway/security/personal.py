"""Answers that can carry personal data: masked without ``personal:read``, logged with it.

The access log (käyttöloki) must hold every read of a client's data, so the rows are written,
in their own transaction, before the unmasked answer leaves: if the log cannot be written, the
data is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request

from gateway.audit.access import record_access
from gateway.masking import mask_answer
from gateway.security.tokens import Principal
from gateway.state import GatewayState
from gateway.store.retrying import retry_transient

T = TypeVar("T")
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


@dataclass(frozen=True, slots=True)
class PersonalRecord:
    """One record in an answer: what the access log names (never the personal data itself)."""

    record_type: str
    record_id: str
    subject_key: str | None


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What the access log records about a read besides the caller: the route, the person, the purpose."""

    route: str
    user: str | None
    purpose: str | None


def read_context(
    request: Request,
    x_user: Annotated[
        str | None,
        Header(
            max_length=128,
            pattern=PRINTABLE,
            description="The calling system's user on whose behalf personal data is read (access log).",
        ),
    ] = None,
    x_purpose: Annotated[
        str | None,
        Header(
            max_length=200,
            pattern=PRINTABLE,
            description="Why personal data is read, e.g. 'asiakkaan neuvonta' (access log).",
        ),
    ] = None,
) -> ReadContext:
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    return ReadContext(
        f"{request.method} {template}", (x_user or "").strip() or None, (x_purpose or "").strip() or None
    )


Reads = Annotated[ReadContext, Depends(read_context)]


def masked_for(principal: Principal, answer: T) -> T:
    """An answer to a write: the caller sent the data itself, so nothing is logged, but it is masked alike."""
    if principal.sees_personal:
        return answer
    masked: T = mask_answer(answer)
    return masked


async def shown_to(
    state: GatewayState, reads: ReadContext, principal: Principal, answer: T, records: list[PersonalRecord]
) -> T:
    """``answer`` as ``principal`` may see it; an unmasked answer's records are logged first."""
    if not principal.sees_personal:
        return masked_for(principal, answer)
    # A person's identity from the identity provider outranks what the calling system says.
    acting = replace(principal, user=principal.user or reads.user)

    async def log_reads() -> None:
        async with state.engine.begin() as conn:
            for record in records:
                await record_access(
                    conn,
                    acting,
                    record_type=record.record_type,
                    record_id=record.record_id,
                    subject_key=record.subject_key,
                    route=reads.route,
                    purpose=reads.purpose,
                    now=state.now(),
                )

    await retry_transient(log_reads, operation="log personal data reads")
    return answer
