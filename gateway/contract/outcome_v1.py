"""Inbound contract v1: one guidance outcome, as a source system posts it to ``POST /v1/outcomes``.

Validation that needs only the body lives in the models; the codes that must exist in the active
mapping set are checked by ``gateway.contract.codes`` in the same request, so that one answer
names every bad field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from gateway.contract.fields import (
    Code,
    Day,
    HetuStr,
    LanguageCode,
    MunicipalityCode,
    Name,
    PhoneStr,
    Text,
    Zoned,
)
from gateway.contract.hetu import parse_hetu
from gateway.contract.results import RESULTS_WITHOUT_PERSONAL_RECORD, Result
from gateway.contract.vocabulary import (
    AuthorityKind,
    Channel,
    ConsentForm,
    ConsentParty,
    ContactedBy,
    DataCategory,
    Profession,
)

REVISION_MAX = 2**31 - 1
"""Revisions are stored in a 32-bit integer column."""
PERSONAL_CLIENT_FIELDS = ("hetu", "given_names", "family_name", "birth_date", "phone", "guardian")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Source(_Model):
    system: Code = Field(description="The posting system's registered name.")
    outcome_id: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="The outcome's id in the source system; with `system` it is the idempotency key."
    )
    revision: Annotated[int, Field(ge=1, le=REVISION_MAX)] = Field(
        default=1, description="Corrections post the same outcome with a higher revision."
    )


class Authority(_Model):
    kind: AuthorityKind
    organisation: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class Contact(_Model):
    received_at: Zoned
    channel: Channel
    contacted_by: ContactedBy
    authority: Authority | None = Field(
        default=None, description="Required when contacted_by is authority or professional."
    )

    @model_validator(mode="after")
    def _authority_matches(self) -> Contact:
        needs = self.contacted_by in (ContactedBy.AUTHORITY, ContactedBy.PROFESSIONAL)
        if needs and self.authority is None:
            raise PydanticCustomError(
                "missing_authority", "name the authority when an authority or professional made the contact"
            )
        if not needs and self.authority is not None:
            raise PydanticCustomError(
                "unexpected_authority", "authority is only for contacts made by an authority or professional"
            )
        return self


class Guardian(_Model):
    hetu: HetuStr | None = None
    given_names: Name
    family_name: Name
    phone: PhoneStr | None = None


class Client(_Model):
    anonymous: bool = Field(default=False, description="Anonymous guidance: no personal field may be sent.")
    hetu: HetuStr | None = None
    given_names: Name | None = None
    family_name: Name | None = None
    birth_date: Day | None = Field(default=None, json_schema_extra={"x-personal": True})
    municipality: MunicipalityCode | None = None
    language: LanguageCode | None = None
    phone: PhoneStr | None = None
    guardian: Guardian | None = Field(default=None, description="The guardian acting for a minor.")

    @model_validator(mode="after")
    def _consistent(self) -> Client:
        if self.anonymous:
            present = [name for name in PERSONAL_CLIENT_FIELDS if getattr(self, name) is not None]
            if present:
                raise PydanticCustomError(
                    "personal_data_in_anonymous",
                    "an anonymous client must not carry personal fields: {fields}",
                    {"fields": ", ".join(present)},
                )
        if (
            self.hetu is not None
            and self.birth_date is not None
            and parse_hetu(self.hetu).birth_date != self.birth_date
        ):
            raise PydanticCustomError("birth_date_mismatch", "birth_date does not match the hetu")
        return self

    @property
    def birth(self) -> date | None:
        if self.birth_date is not None:
            return self.birth_date
        return parse_hetu(self.hetu).birth_date if self.hetu else None


class Reasons(_Model):
    main: Code = Field(description="Main reason code (pääsyy), local, mapped in reasons.yaml.")
    additional: list[Code] = Field(default_factory=list, max_length=20, description="Lisäsyyt.")


class Worker(_Model):
    id: Code = Field(description="The guidance worker's id in the source organisation.")
    profession: Profession


class Guidance(_Model):
    """The guidance given: when, by whom, and its free text.

    Free text reaches a register as that register's own summary if given, else as the generic
    ``summary``; never as the other register's own summary, whatever else the outcome touches.
    """

    started_at: Zoned
    ended_at: Zoned
    worker: Worker
    summary: Text | None = Field(
        default=None,
        description="Free text about the contact, for every register the outcome touches that is not given a "
        "summary of its own (`social_care_summary`, `health_care_summary`). Whether it is recorded in one "
        "register never depends on whether the outcome also touches the other. A text that speaks of both "
        "social care and health care belongs in the register-specific fields instead. Never in statistics.",
        json_schema_extra={"x-personal": True},
    )
    social_care_summary: Text | None = Field(
        default=None,
        description="Free text for the social care client register only (sosiaalihuollon asiakasrekisteri): "
        "recorded there instead of `summary`, never in the patient register. Never in statistics.",
        json_schema_extra={"x-personal": True},
    )
    health_care_summary: Text | None = Field(
        default=None,
        description="Free text for the patient register only (potilasrekisteri): recorded there instead of "
        "`summary`, never in the social care client register. Never in statistics.",
        json_schema_extra={"x-personal": True},
    )

    @model_validator(mode="after")
    def _ordered(self) -> Guidance:
        if self.ended_at < self.started_at:
            raise PydanticCustomError("end_before_start", "guidance ended_at is before started_at")
        return self


class ConsentGiven(_Model):
    """A consent the client gave during the contact (Kela Y100 or verbal)."""

    form: ConsentForm
    parties: list[ConsentParty] = Field(min_length=1, max_length=len(ConsentParty))
    purpose: Text
    data_categories: list[DataCategory] = Field(min_length=1, max_length=len(DataCategory))
    valid_until: Day | None = None
    form_reference: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="Reference to the signed Y100 form in the source system's archive."
    )
    given_by_guardian: bool = False


class OutcomeV1(_Model):
    """A guidance outcome (asiakasohjauksen lopputulos), contract version 1."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="OutcomeV1")

    source: Source
    unit: Code = Field(description="The guidance unit (mapped in units.yaml).")
    contact: Contact
    client: Client
    reasons: Reasons
    guidance: Guidance
    results: list[Result] = Field(min_length=1, max_length=20)
    consents: list[ConsentGiven] = Field(default_factory=list, max_length=10)
    led_to_client_relationship: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> OutcomeV1:
        kinds = {result.kind for result in self.results}
        if self.client.anonymous:
            recorded = sorted(kinds - RESULTS_WITHOUT_PERSONAL_RECORD)
            if recorded:
                raise PydanticCustomError(
                    "anonymous_with_record",
                    "an anonymous outcome cannot carry {kinds}: it would need personal data",
                    {"kinds": ", ".join(recorded)},
                )
            if self.consents:
                raise PydanticCustomError("anonymous_with_consent", "an anonymous client cannot give consents")
        elif kinds - RESULTS_WITHOUT_PERSONAL_RECORD - {"child_welfare_notice"}:
            missing = [f for f in ("hetu", "given_names", "family_name") if getattr(self.client, f) is None]
            if missing:
                raise PydanticCustomError(
                    "client_not_identified",
                    "these results are recorded on the client, who must be identified: missing {fields}",
                    {"fields": ", ".join(f"client.{name}" for name in missing)},
                )
        if "advice_only" in kinds and len(kinds) > 1:
            raise PydanticCustomError(
                "advice_only_with_other",
                "advice_only cannot be combined with other results; report what the contact led to instead",
            )
        return self
