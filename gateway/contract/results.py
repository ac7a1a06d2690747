"""What a guidance contact led to: the results a source system reports, any number of them.

Each result is one variant of a tagged union on ``kind``. The register rules in
``gateway/plan/rules.py`` decide what each becomes; the contract only says what it is.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.contract.fields import Code, Day, HetuStr, LanguageCode, MunicipalityCode, Name, Text, Zoned
from gateway.contract.vocabulary import Notification, ReporterType, Urgency


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdviceOnly(_Result):
    """Neuvonta ja ohjaus: advice was enough; nothing is initiated or booked."""

    kind: Literal["advice_only"]
    topic: Code | None = Field(default=None, description="Local reason code of what the advice was about.")


class SocialCareInitiation(_Result):
    """Vireilletulo: the client applies for a social service or wants a social care matter initiated."""

    kind: Literal["social_care_initiation"]
    service_area: Code = Field(description="Receiving social care service area (mapped in service_areas).")
    urgency: Urgency
    reasons: list[Code] = Field(
        default_factory=list, max_length=20, description="Local reason codes of the support need."
    )
    description: Text | None = Field(default=None, json_schema_extra={"x-personal": True})
    highest_care_allowance: bool = Field(
        default=False, description="Receives the highest care allowance (SHL 36 §: assessment by day 7)."
    )
    child_needs_special_support: bool = Field(
        default=False, description="A child in need of special support (SHL 36 §: assessment by day 7)."
    )
    child_welfare_concern: bool = False
    made_with_consent: bool = Field(
        default=True,
        description="When an authority or professional contacts social care on the person's behalf: "
        "whether it was done with the person's consent (SHL 35 §).",
    )


class PendingSocialCareMatter(_Result):
    """The guidance concerns a social care matter already pending (vireillä oleva asia)."""

    kind: Literal["pending_social_care_matter"]
    service_area: Code
    matter_reference: Code | None = Field(default=None, description="The pending matter's case number.")
    note: Text | None = Field(default=None, json_schema_extra={"x-personal": True})


class HealthCareHandover(_Result):
    """The client is handed over to health care: HTA (care-needs assessment) or another receiving unit."""

    kind: Literal["health_care_handover"]
    receiving: Code = Field(description="'hta' or a receiving health care unit code (mapped).")
    urgency: Urgency
    note: Text | None = Field(default=None, json_schema_extra={"x-personal": True})


class DirectHealthCareBooking(_Result):
    """A health care appointment booked directly during the contact (suora ajanvaraus)."""

    kind: Literal["direct_health_care_booking"]
    unit: Code = Field(description="The receiving health care unit (mapped).")
    starts_at: Zoned
    ends_at: Zoned
    service_type: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    booking_reference: Code | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> DirectHealthCareBooking:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class Child(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hetu: HetuStr
    given_names: Name
    family_name: Name
    municipality: MunicipalityCode | None = None


class ChildWelfareNotice(_Result):
    """Lastensuojeluilmoitus (Lastensuojelulaki 25 §): starts the 7-working-day decision clock."""

    kind: Literal["child_welfare_notice"]
    child: Child
    reporter_type: ReporterType
    reporter_name: Name | None = None
    concern: Text = Field(json_schema_extra={"x-personal": True})
    urgent: bool = False
    child_informed: bool = False
    guardian_informed: bool = False


class BookingWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    earliest: Day
    latest: Day

    @model_validator(mode="after")
    def _ordered(self) -> BookingWindow:
        if self.latest < self.earliest:
            raise ValueError("latest must not be before earliest")
        return self


class KelaBookingRequest(_Result):
    """Book a Kela phone appointment for the client, with their permission (modelled Kela interface)."""

    kind: Literal["kela_booking_request"]
    topic: Code = Field(description="Kela phone-service topic (the simulator's modelled codes).")
    language: LanguageCode = "fi"
    interpreter_language: LanguageCode | None = None
    municipality: MunicipalityCode | None = None
    window: BookingWindow
    notification: Notification = Notification.SMS
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = Field(
        default=None, json_schema_extra={"x-personal": True}
    )


class ThirdSectorReferral(_Result):
    """Ohjaus kolmannelle sektorille: the client was pointed to an NGO's service."""

    kind: Literal["third_sector_referral"]
    organisation: Annotated[str, Field(min_length=1, max_length=200)]


Result = Annotated[
    AdviceOnly
    | SocialCareInitiation
    | PendingSocialCareMatter
    | HealthCareHandover
    | DirectHealthCareBooking
    | ChildWelfareNotice
    | KelaBookingRequest
    | ThirdSectorReferral,
    Field(discriminator="kind"),
]

RESULTS_WITHOUT_PERSONAL_RECORD = frozenset({"advice_only", "third_sector_referral"})
