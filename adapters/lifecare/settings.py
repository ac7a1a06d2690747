"""Settings of the Lifecare (patient register, FHIR R4) adapter."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator


class LifecareSettings(BaseModel):
    """TLS is always verified; there is no setting that turns it off (``verify_tls`` is refused, not ignored)."""

    enabled: bool = True
    base_url: str | None = Field(
        default=None, description="FHIR base URL, e.g. https://lifecare.example.fi/fhir/R4; unset: the simulator."
    )
    timeout_seconds: float = Field(default=10, gt=0)
    connect_timeout_seconds: float = Field(default=5, gt=0)
    bearer_token: SecretStr | None = None
    client_cert: str | None = Field(
        default=None, description="PEM client certificate (mutual TLS), with its key unless client_key is set."
    )
    client_key: str | None = Field(default=None, description="PEM private key of the client certificate.")
    ca_bundle: str | None = Field(
        default=None, description="CA bundle that signs Lifecare's certificate; unset: the system's CA store."
    )
    max_response_bytes: int = Field(
        default=4 * 1024 * 1024,
        gt=0,
        description="The largest answer body read; a larger one is refused unread (a transaction-response "
        "Bundle of one outcome is a few kilobytes).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_unverified_tls(cls, data: Any) -> Any:
        if isinstance(data, dict) and "verify_tls" in data:
            raise ValueError(
                "lifecare.verify_tls no longer exists: TLS is always verified; set lifecare.ca_bundle to the CA "
                "that signs the server's certificate"
            )
        return data
