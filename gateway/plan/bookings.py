"""A Kela phone appointment booked through the booking API: the same rule as an outcome's booking request.

The booking API (``gateway.bookings``) books while the caller waits, for a consent it names; the
delivery it queues is this action, so its rule and legal basis are those of the table, and an
auditor sees one ``kela-booking`` rule whichever way the booking came.
"""

from __future__ import annotations

from typing import Any

from gateway.contract.vocabulary import DataCategory
from gateway.plan.bases import basis
from gateway.plan.model import Action, ConsentNeed

BOOKING_KEY = "kela:booking"


def kela_booking_consent() -> ConsentNeed:
    """What a booking on the client's behalf needs: a consent naming Kela for identity and contact data."""
    return ConsentNeed(
        "kela",
        (DataCategory.IDENTITY_AND_CONTACT.value,),
        "Kela booking on the client's behalf needs the client's consent.",
    )


def booking_action(payload: dict[str, Any], *, key: str = BOOKING_KEY) -> Action:
    return Action(
        key,
        "kela",
        "kela_booking",
        "kela-booking",
        basis("kela-booking"),
        "Book a Kela phone appointment for the client in their preferred window.",
        payload,
        kela_booking_consent(),
    )
