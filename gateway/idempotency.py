"""``Idempotency-Key`` handling shared by the consent and booking APIs.

A key is scoped to the API client that sent it, remembered with a keyed fingerprint of the body:
the same key and body again answer with the resource as it is now; the same key with another
body is a 409, never a second resource.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from gateway.problems import Problem


def scoped_key(client: str, key: str | None) -> str | None:
    return f"{client}:{key}" if key else None


def replay(stored_fingerprint: str | None, fingerprint: str, *, noun: str) -> None:
    """Raise 409 when the key was used with a different body."""
    if stored_fingerprint != fingerprint:
        raise Problem(
            409,
            "idempotency-conflict",
            "Idempotency key reused",
            f"This Idempotency-Key was used earlier with a different {noun}.",
        )


def replayed(found: dict[str, Any], *, location: str, status_code: int) -> JSONResponse:
    return JSONResponse(found, status_code=status_code, headers={"Location": location, "Idempotent-Replayed": "true"})
