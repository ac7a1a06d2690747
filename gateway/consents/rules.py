"""When a consent authorises a delivery. Pure: the legal invariants of consent live here.

- A revoked consent authorises nothing, from the moment of revocation.
- A consent outside its validity period authorises nothing.
- A consent authorises disclosure only to the parties it names and only of the data categories
  it names; special categories (health data) must be named explicitly.
- A verbal consent covers one transaction only: once it has authorised a delivery, it is used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


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
