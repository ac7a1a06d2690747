"""The register rules, in one pure place: what a guidance outcome must become, and why.

"Why did this go to the social care register?" is answered here:

- ``bases``: the one table of rule ids and their legal bases; every action's explanation names one.
- ``rules``: ``plan_outcome``, from an outcome and a mapping set to a :class:`Plan` (THL 3.2.4).
- ``payloads``: what each register may receive (minimised, each register only its own data).
- ``consents``: what a recorded or revoked consent becomes (Kela Y100, FHIR Consent).
- ``consent_validity``: when a consent authorises a delivery.
- ``bookings``: a Kela phone appointment booked through the booking API.
- ``statistics``: the anonymous statistics event every outcome becomes.
- ``days``: the contact day in Finnish time, on which the statutory clocks run.

Nothing in this package does I/O; the code lists it reads (reasons, units, channels, deadlines,
Kela's topics) are data in the mapping set.
"""

from gateway.plan.model import BACKENDS, Action, Backend, ConsentNeed, Plan, PlannedDeadline, RuleHit, StatisticsEvent

__all__ = [
    "BACKENDS",
    "Action",
    "Backend",
    "ConsentNeed",
    "Plan",
    "PlannedDeadline",
    "RuleHit",
    "StatisticsEvent",
]
