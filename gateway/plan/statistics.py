"""The anonymous statistics event of an outcome: codes, counts and flags, never a person.

Part of the plan (every outcome, anonymous or not, becomes one event); what the guidance units
keep in their statistics sheet (seed 004) and THL's list asks for: main and additional reasons,
who contacted, channel, where the guidance ended, how long it took, whether it led to a client
relationship.
"""

from __future__ import annotations

from datetime import date

from gateway.contract.fields import duration_minutes
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.contract.results import HealthCareHandover, SocialCareInitiation
from gateway.contract.vocabulary import ContactedBy
from gateway.mappings import MappingSet
from gateway.plan.model import StatisticsEvent


def build_statistics(outcome: OutcomeV1, mappings: MappingSet, day: date) -> StatisticsEvent:
    """The anonymous statistics event: codes, counts and flags only.

    Where the guidance ended is the mapping set's code list (``statistics.ended_how``), by result kind.
    """
    ended_how = mappings.statistics.ended_how
    ended: list[str] = []
    for result in outcome.results:
        if isinstance(result, HealthCareHandover) and result.receiving == "hta":
            ended.append(ended_how["health_care_handover_hta"])
        else:
            ended.append(ended_how[result.kind])
    if outcome.contact.contacted_by in (ContactedBy.AUTHORITY, ContactedBy.PROFESSIONAL) and any(
        isinstance(r, SocialCareInitiation) and r.made_with_consent for r in outcome.results
    ):
        ended.append(ended_how["authority_contact_with_consent"])
    authority = outcome.contact.authority
    return StatisticsEvent(
        contact_date=day,
        unit=outcome.unit,
        main_reason=outcome.reasons.main,
        additional_reasons=tuple(outcome.reasons.additional),
        contacted_by=outcome.contact.contacted_by.value,
        authority_kind=authority.kind.value if authority else None,
        channel=outcome.contact.channel.value,
        ended_how=tuple(dict.fromkeys(ended)),
        duration_minutes=duration_minutes(outcome.guidance.started_at, outcome.guidance.ended_at),
        led_to_client_relationship=outcome.led_to_client_relationship,
        anonymous=outcome.client.anonymous,
    )
