"""Settings of the Kela (consent and phone-appointment booking over X-Road) adapter.

Kela is reached over Suomi.fi-palveluväylä (X-Road): every call names our client subsystem and
Kela's service in the X-Road header. The defaults point at the FI-DEV instance and the modelled
service the simulator provides; production sets the instance, our member code (the wellbeing
services county's business id, y-tunnus) and the subsystem registered for us.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from adapters.kela.xroad import ClientId, Instance, MemberClass, ServiceId

KELA_MEMBER_CODE = "0246246-0"
"""Kela's business id (y-tunnus): its member code on X-Road."""
KELA_SUBSYSTEM = "kela-ajanvaraus"
"""The subsystem of the modelled booking and consent service (our assumption: Kela's real one has no public API)."""
SERVICE_VERSION = "v1"

_IDENTIFIER = r"^[A-Za-z0-9'()+,\-.=?]+$"  # X-Road message protocol 4.0, 2.7: identifier characters


class XRoadClientSettings(BaseModel):
    """Our side: the subsystem the gateway calls from (palveluväylän asiakasjärjestelmä)."""

    instance: Instance = "FI-DEV"
    member_class: MemberClass = "MUN"
    member_code: str = Field(default="3221999-8", pattern=_IDENTIFIER, description="Our business id (y-tunnus).")
    subsystem: str | None = Field(default="asiakasohjaus", pattern=_IDENTIFIER)

    def identifier(self) -> ClientId:
        return ClientId(self.instance, self.member_class, self.member_code, self.subsystem)


class XRoadServiceSettings(BaseModel):
    """Kela's side: the service provider's subsystem and the version of the (modelled) service."""

    instance: Instance = "FI-DEV"
    member_class: MemberClass = "GOV"
    member_code: str = Field(default=KELA_MEMBER_CODE, pattern=_IDENTIFIER)
    subsystem: str | None = Field(default=KELA_SUBSYSTEM, pattern=_IDENTIFIER)
    version: str | None = Field(default=SERVICE_VERSION, pattern=_IDENTIFIER)

    def identifier(self, operation: str) -> ServiceId:
        return ServiceId(self.instance, self.member_class, self.member_code, self.subsystem, operation, self.version)


class KelaSettings(BaseModel):
    enabled: bool = True
    wsdl_url: str | None = Field(default=None, description="The X-Road service WSDL; unset: the simulator.")
    security_server_url: str | None = Field(
        default=None, description="Our X-Road security server endpoint; unset: the WSDL's soap:address."
    )
    ca_bundle: str | None = Field(
        default=None,
        description="CA bundle that signs the security server's certificate; unset: the system's CA store. "
        "TLS is always verified.",
    )
    client_cert: str | None = Field(
        default=None,
        description="PEM client certificate for the security server's internal TLS (mutual TLS), when it demands one.",
    )
    client_key: str | None = Field(default=None, description="PEM key of client_cert, unless the PEM holds it.")
    timeout_seconds: float = Field(default=15, gt=0)
    connect_timeout_seconds: float = Field(default=5, gt=0)
    client: XRoadClientSettings = XRoadClientSettings()
    service: XRoadServiceSettings = XRoadServiceSettings()
    max_response_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="The largest answer (or WSDL) read; a larger one is refused unread. A slot list, the "
        "largest answer, is a few tens of kilobytes.",
    )
    slot_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="How many slots a booking tries when the one chosen is taken meanwhile, before retrying later.",
    )
