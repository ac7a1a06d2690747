"""Answers that can carry personal data: masked without ``personal:read``, logged with it.

The access log (käyttöloki) must hold every read of a client's data, so the rows are written,
in their own transaction, before the unmasked answer leaves: if the log cannot be written, the
data is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from fastapi import Request

from gateway.audit.access import record_access
from gateway.masking import mask_answer
from gateway.problems import Problem
from gateway.security.tokens import Principal
from gateway.state import GatewayState
from gateway.store.retrying import retry_transient

T = TypeVar("T")
MAX_HEADER = 200


@dataclass(frozen=True, slots=True)
class PersonalRecord:
    """One record in an answer: what the access log names (never the personal data itself)."""

    record_type: str
    record_id: str
    subject_key: str | None


async def shown_to(
    state: GatewayState, request: Request, principal: Principal, answer: T, records: list[PersonalRecord]
) -> T:
    """``answer`` as ``principal`` may see it; an unmasked answer's records are logged first."""
    if not principal.sees_personal:
        masked: T = mask_answer(answer)
        return masked
    if not records:
        return answer
    purpose = _header(request, "X-Purpose")
    user = principal.user or _header(request, "X-User")
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    acting = replace(principal, user=user)

    async def log_reads() -> None:
        async with state.engine.begin() as conn:
            for record in records:
                await record_access(
                    conn,
                    acting,
                    record_type=record.record_type,
                    record_id=record.record_id,
                    subject_key=record.subject_key,
                    route=f"{request.method} {template}",
                    purpose=purpose,
                    now=state.now(),
                )

    await retry_transient(log_reads, operation="log personal data reads")
    return answer


def _header(request: Request, name: str) -> str | None:
    """An optional header for the access log: the calling system's user (``X-User``) or purpose (``X-Purpose``)."""
    value = request.headers.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > MAX_HEADER or not value.isprintable():
        raise Problem(
            422,
            "invalid-header",
            "Invalid header",
            f"The {name} header must be printable text of at most {MAX_HEADER} characters.",
        )
    return value.strip()
