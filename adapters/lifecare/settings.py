"""Settings of the Lifecare (patient register, FHIR R4) adapter."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class LifecareSettings(BaseModel):
    enabled: bool = True
    base_url: str | None = Field(
        default=None, description="FHIR base URL, e.g. https://lifecare.example.fi/fhir/R4; unset: the simulator."
    )
    timeout_seconds: float = Field(default=10, gt=0)
    connect_timeout_seconds: float = Field(default=5, gt=0)
    bearer_token: SecretStr | None = None
    verify_tls: bool = True
    client_cert: str | None = Field(default=None, description="PEM file with the client certificate and key.")
    max_response_bytes: int = Field(
        default=4 * 1024 * 1024,
        gt=0,
        description="The largest answer body read; a larger one is refused unread (a transaction-response "
        "Bundle of one outcome is a few kilobytes).",
    )
