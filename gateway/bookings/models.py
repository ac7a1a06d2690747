"""The booking API's contract (pydantic at the boundary), and the window checks it shares with outcomes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gateway.contract.fields import Code, HetuStr, LanguageCode, MunicipalityCode, Name, PhoneStr
from gateway.contract.results import BookingWindow
from gateway.contract.vocabulary import Notification
from gateway.deadlines import working_days_between


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Actor(_Model):
    unit: Code = Field(description="The guidance unit (mapped in units.yaml).")
    worker_id: Code = Field(description="The acting professional; Kela records them as the X-Road userId.")


class SlotSearch(_Model):
    topic: Code = Field(description="Kela phone-service topic (modelled codes, see GET /v1/kela/topics).")
    language: LanguageCode = "fi"
    municipality: MunicipalityCode | None = None
    interpreter_language: LanguageCode | None = None
    window: BookingWindow
    searched_by: Actor


class BookingClient(_Model):
    hetu: HetuStr
    given_names: Name
    family_name: Name
    phone: PhoneStr
    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None


class BookingIn(_Model):
    """Book a Kela phone appointment for a client, with their consent."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="BookingV1")

    client: BookingClient
    topic: Code
    language: LanguageCode = "fi"
    municipality: MunicipalityCode | None = None
    interpreter_language: LanguageCode | None = None
    window: BookingWindow = Field(description="The client's preferred window; the first free slot in it is booked.")
    slot_id: Code | None = Field(default=None, description="A slot chosen from a search; booked exactly, or 409.")
    notification: Notification = Notification.SMS
    consent_id: Code | None = Field(default=None, description="Use this consent; default: any valid one.")
    booked_by: Actor


class CancelIn(_Model):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    cancelled_by: Actor


def window_problems(earliest: date, latest: date, today: date, field: str) -> list[dict[str, str]]:
    """A window must not be in the past and must hold at least one working day."""
    if latest < today:
        return [{"field": field, "code": "window_in_past", "message": f"the window ends before {today.isoformat()}"}]
    if not any(working_days_between(max(earliest, today), latest)):
        return [
            {
                "field": field,
                "code": "window_without_working_day",
                "message": "the window holds no working day (weekends and public holidays are not)",
            }
        ]
    return []
