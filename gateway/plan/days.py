"""The contact day: statutory clocks run on Finnish calendar days, whatever the zone of the timestamp."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from gateway.contract.outcome_v1 import OutcomeV1

FINNISH_TIME = ZoneInfo("Europe/Helsinki")


def contact_day(outcome: OutcomeV1) -> date:
    """The contact date in Finnish time: a contact at 22:30 UTC in summer is already the next day."""
    return outcome.contact.received_at.astimezone(FINNISH_TIME).date()
