"""Settings of the Kanta (social care client register archive, SOAP) adapter."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KantaSettings(BaseModel):
    enabled: bool = True
    wsdl_url: str | None = Field(default=None, description="The archive service's WSDL; unset: the simulator.")
    timeout_seconds: float = Field(default=20, gt=0)
    client_cert: str | None = Field(default=None, description="PEM client certificate (mutual TLS).")
    client_key: str | None = Field(default=None, description="PEM private key of the client certificate.")
    ca_bundle: str | None = Field(default=None, description="CA bundle that signs the archive's certificate.")
    max_response_bytes: int = Field(
        default=4 * 1024 * 1024, gt=0, description="The largest reply (or WSDL) read; a larger one is refused unread."
    )
