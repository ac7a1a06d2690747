"""The consent API's contract (pydantic at the boundary)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gateway.contract.fields import Code, Day, HetuStr, Name, Text
from gateway.contract.vocabulary import ConsentForm, ConsentParty, DataCategory


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Person(_Model):
    hetu: HetuStr
    given_names: Name
    family_name: Name


class RecordedBy(_Model):
    unit: Code = Field(description="The guidance unit recording the consent (mapped in units.yaml).")
    worker_id: Code


class ConsentIn(_Model):
    """A consent to record: Kela Y100 (signed), electronic, or verbal (one transaction only)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, title="ConsentV1")

    consenter: Person
    guardian: Person | None = Field(default=None, description="The guardian giving consent for a minor.")
    parties: list[ConsentParty] = Field(min_length=1, max_length=len(ConsentParty))
    purpose: Text
    data_categories: list[DataCategory] = Field(
        min_length=1,
        max_length=len(DataCategory),
        description="Special categories (health) must be named explicitly to be covered.",
    )
    valid_from: Day | None = Field(default=None, description="Default: the day it is recorded.")
    valid_until: Day | None = None
    form: ConsentForm
    form_reference: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Reference to the signed Y100 form; required for signed_y100."
    )
    recorded_by: RecordedBy
    # Whether the consent can be recorded at all (who consented, the signed form, its dates) is
    # checked by ``gateway.plan.consent_validity.consent_problems``, the same check an outcome's consents get.


class RevokeIn(_Model):
    reason: Text
    revoked_by: RecordedBy


class ClientQuery(_Model):
    """Consents are found by the client's hetu in a body, never in a URL."""

    hetu: HetuStr
