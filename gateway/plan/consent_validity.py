"""When a consent authorises a delivery. Pure: the legal invariants of consent live here.

- A revoked consent authorises nothing, from the moment of revocation.
- A consent outside its validity period authorises nothing.
- A consent authorises disclosure only to the parties it names and only of the data categories
  it names; special categories (health data) must be named explicitly.
- A verbal consent covers one transaction only: once it has authorised a delivery, it is used.
- A consent needs someone who consented: an identified consenter (the client), or an identified
  guardian acting for them; a signed Y100 is recorded with the reference of the signed form.
  ``consent_problems`` is the one check of a consent before it is recorded, whichever way it
  arrives (``POST /v1/consents`` or an outcome's ``consents``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True, slots=True)
class ConsentView:
    id: str
    parties: frozenset[str]
    categories: frozenset[str]
    form: str
    valid_from: date
    valid_until: date | None
    status: str  # active | used | revoked
    used_by_delivery: str | None = None


def refusal(
    consent: ConsentView, *, party: str, categories: Iterable[str], on: date, delivery_id: str | None = None
) -> str | None:
    """Why ``consent`` does not authorise this delivery, or None when it does."""
    if consent.status == "revoked":
        return f"consent {consent.id} was revoked"
    if consent.status == "used" and consent.used_by_delivery != delivery_id:
        return f"verbal consent {consent.id} was already used for one transaction"
    if on < consent.valid_from:
        return f"consent {consent.id} is valid only from {consent.valid_from.isoformat()}"
    if consent.valid_until is not None and on > consent.valid_until:
        return f"consent {consent.id} expired on {consent.valid_until.isoformat()}"
    if party not in consent.parties:
        return f"consent {consent.id} does not name {party}"
    missing = sorted(set(categories) - consent.categories)
    if missing:
        return f"consent {consent.id} does not cover {', '.join(missing)}"
    return None


def choose(consents: Iterable[ConsentView], *, party: str, categories: Iterable[str], on: date) -> ConsentView | None:
    """The consent to use: a durable (signed or electronic) one before a single-use verbal one."""
    wanted = list(categories)
    usable = [c for c in consents if refusal(c, party=party, categories=wanted, on=on) is None]
    usable.sort(key=lambda c: (c.form == "verbal", c.valid_from))
    return usable[0] if usable else None


ConsentPart = Literal["consenter", "guardian", "form_reference", "valid_until"]


@dataclass(frozen=True, slots=True)
class ConsentProblem:
    """Why a consent cannot be recorded; ``part`` is named by each caller in its own contract's terms."""

    part: ConsentPart
    code: str
    message: str


def consent_problems(
    *,
    form: str,
    form_reference: str | None,
    consenter_hetu: str | None,
    given_by_guardian: bool,
    guardian_hetu: str | None,
    valid_from: date,
    valid_until: date | None,
) -> list[ConsentProblem]:
    """Every reason this consent cannot be recorded (empty when it can)."""
    problems: list[ConsentProblem] = []
    if not consenter_hetu:
        # The registry finds a consent by its client; one nobody can be matched to authorises nothing.
        problems.append(
            ConsentProblem("consenter", "consenter_not_identified", "a consent needs an identified client (hetu)")
        )
    if given_by_guardian and not guardian_hetu:
        problems.append(
            ConsentProblem(
                "guardian", "guardian_not_identified", "a consent given by a guardian needs the identified guardian"
            )
        )
    if form == "signed_y100" and not form_reference:
        problems.append(
            ConsentProblem("form_reference", "form_reference_missing", "a signed Y100 consent needs form_reference")
        )
    if valid_until is not None and valid_until < valid_from:
        problems.append(
            ConsentProblem(
                "valid_until",
                "valid_until_before_from",
                f"valid_until is before the consent's first day {valid_from.isoformat()}",
            )
        )
    return problems
