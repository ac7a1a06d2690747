"""The audit API's contract: searches of the käyttöloki and luovutusloki, and what they answer.

A search names the client by hetu in the body (never in a URL); the logs hold only its keyed
hash. What is answered is meant to be given to the client as it is: who read their data, when,
in which record and why; which register or service received it, when and on what legal basis.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.contract.fields import HetuStr, Zoned

MAX_PAGE = 500


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    hetu: HetuStr | None = Field(default=None, description="The client whose data was read or disclosed.")
    since: Zoned | None = Field(default=None, alias="from", description="From this moment on (inclusive).")
    until: Zoned | None = Field(default=None, alias="to", description="Before this moment (exclusive).")
    cursor: str | None = Field(
        default=None, min_length=1, max_length=64, description="`next_cursor` of the previous page."
    )
    limit: int = Field(default=100, ge=1, le=MAX_PAGE, description="Entries per page (JSON; CSV has every entry).")

    @model_validator(mode="after")
    def _ordered(self) -> _Query:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("'to' must be later than 'from'")
        return self


class AccessQuery(_Query):
    """Search the käyttöloki: by client (hetu), time and the API client that read."""

    client: str | None = Field(
        default=None, min_length=1, max_length=128, description="The reading API client (its name or id)."
    )


class DisclosureQuery(_Query):
    """Search the luovutusloki: by client (hetu), time and recipient back-end."""

    recipient: str | None = Field(
        default=None, min_length=1, max_length=16, description="The receiving back-end: lifecare, kanta or kela."
    )


class AccessEntry(BaseModel):
    """One read of a client's data (käyttöloki)."""

    id: int
    accessed_at: datetime
    client: str = Field(description="The organisation's system that read the data (API client).")
    client_id: str
    actor: str = Field(description="The token or identity that read.")
    user: str | None = Field(description="The person who read, when the caller named one.")
    purpose: str | None
    record_type: str = Field(description="What was read, e.g. outcome, consent, booking.")
    record_id: str
    route: str


class DisclosureEntry(BaseModel):
    """One disclosure of a client's data to a register or service (luovutusloki)."""

    id: int
    disclosed_at: datetime
    recipient: str = Field(description="The receiving back-end: lifecare, kanta or kela.")
    recipient_title: str = Field(description="The recipient in words, e.g. 'Lifecare (patient register, FHIR R4)'.")
    kind: str = Field(description="What was disclosed (the kind of record).")
    legal_basis: str = Field(description="The legal basis, or the consent, the disclosure was made on.")
    consent_id: str | None
    outcome_id: str | None
    delivery_id: str
    actor: str = Field(description="The gateway worker that made the delivery.")


class AccessPage(BaseModel):
    items: list[AccessEntry]
    total: int = Field(description="Entries matching the search, on every page.")
    next_cursor: str | None = Field(description="Send it as `cursor` for the next page; null on the last.")


class DisclosurePage(BaseModel):
    items: list[DisclosureEntry]
    total: int = Field(description="Entries matching the search, on every page.")
    next_cursor: str | None = Field(description="Send it as `cursor` for the next page; null on the last.")
