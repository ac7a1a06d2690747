"""Settings of the Kela (consent and phone-appointment booking over X-Road) adapter."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KelaSettings(BaseModel):
    enabled: bool = True
    wsdl_url: str | None = Field(default=None, description="The X-Road service WSDL; unset: the simulator.")
    security_server_url: str | None = Field(default=None, description="Our X-Road security server endpoint.")
    timeout_seconds: float = Field(default=15, gt=0)
