"""What the worker asks before sending a delivery that a consent authorised.

The consent registry answers it (``gateway.consents.service.refusal_for_delivery``); the worker
is given that function when it is built, so the outbox never imports the registry that itself
asks the outbox to hold and release deliveries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class ConsentCheck(Protocol):
    async def __call__(self, conn: AsyncConnection, *, delivery_id: str, consent_id: str, now: datetime) -> str | None:
        """Why the bound consent no longer authorises the delivery (expired, revoked), or None."""
        ...
