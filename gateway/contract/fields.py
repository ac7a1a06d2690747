"""Reusable annotated field types of the contract: hetu, phone, codes, zoned timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, AwareDatetime, Field, WithJsonSchema

from gateway.contract.hetu import InvalidHetu, parse_hetu


def _check_hetu(value: str) -> str:
    try:
        return parse_hetu(value).code
    except InvalidHetu as exc:
        raise ValueError(f"invalid hetu: {exc}") from None


def _check_phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "FI")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number (Finnish or international with +country code)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


HetuStr = Annotated[
    str,
    AfterValidator(_check_hetu),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{6}[+\-YXWVUABCDEF]\d{3}[0-9A-Y]$",
            "description": "Finnish personal identity code (hetu) with a valid check character.",
            "examples": ["131052-308T"],
            "x-personal": True,
        }
    ),
]
PhoneStr = Annotated[
    str,
    AfterValidator(_check_phone),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Phone number; Finnish numbers may omit +358. Stored as E.164.",
            "examples": ["+358401234567"],
            "x-personal": True,
        }
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200, json_schema_extra={"x-personal": True})]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
# Times and days of people's lives and of services: bounded so that converting any of them between
# zones or adding days to it cannot leave the calendar.
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)
Zoned = Annotated[
    AwareDatetime,
    Field(
        ge=EARLIEST_TIME,
        lt=LATEST_TIME,
        description="ISO 8601 timestamp with a zone offset, e.g. 2026-11-23T09:15:00+02:00; years 1900-2199.",
    ),
]
Day = Annotated[date, Field(ge=date(1800, 1, 1), lt=date(2200, 1, 1), description="A calendar day, years 1800-2199.")]
MunicipalityCode = Annotated[
    str, Field(pattern=r"^\d{3}$", description="Statistics Finland municipality code, e.g. 179 (Jyväskylä).")
]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code, e.g. fi, sv, en.")]


def duration_minutes(start: datetime, end: datetime) -> int:
    return max(0, round((end - start).total_seconds() / 60))
