"""What each register may receive from an outcome: the minimised, JSON-ready delivery payloads.

Three rules, none of which depends on which other registers the outcome touches:

1. **Each register receives only its own data.** The social care client register
   (sosiaalihuollon asiakasrekisteri, Kanta) and the patient register (potilasrekisteri,
   Lifecare) are legally separate. Every payload is built from the outcome afresh for one record,
   from that register's results and the outcome's common facts only: adding or removing another
   register's results never changes it.

2. **Free text.** A register receives its own summary if the source gave one
   (``guidance.social_care_summary`` in the social care client register,
   ``guidance.health_care_summary`` in the patient register), else the generic
   ``guidance.summary``; never the other register's own summary. A source whose text speaks of
   both sides sends register-specific summaries. :func:`register_summary` decides, and the plan
   explains each record's choice (:meth:`FreeText.explain`).

3. **A payload carries exactly what its record shows.** A correction compares payload digests
   (:func:`gateway.outbox.corrections.diff`), so a record is re-versioned if and only if what it
   shows changed. :data:`SOCIAL_CARE_DOCUMENTS` names what each Kanta document shows (the CDA
   header of ``adapters/kanta/cda.py`` plus its THL structure in ``adapters/kanta/content.py``);
   :func:`patient_record` holds what ``adapters/lifecare/render.py`` shows. The payloads keep the
   key names the renderers read, so they are projections: a payload queued before a field was
   narrowed away renders the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gateway.contract.outcome_v1 import Client, Guidance, OutcomeV1
from gateway.contract.results import (
    ChildWelfareNotice,
    DirectHealthCareBooking,
    HealthCareHandover,
    KelaBookingRequest,
    PendingSocialCareMatter,
    SocialCareInitiation,
)
from gateway.deadlines import Deadline
from gateway.mappings import MappingSet

Register = Literal["social_care", "patient"]
SocialCareResult = SocialCareInitiation | PendingSocialCareMatter | ChildWelfareNotice

# -- free text -----------------------------------------------------------------------------------------

OWN_SUMMARY: dict[Register, str] = {"social_care": "social_care_summary", "patient": "health_care_summary"}
REGISTER_NAMES: dict[Register, str] = {"social_care": "social care", "patient": "health care"}


@dataclass(frozen=True, slots=True)
class FreeText:
    """The guidance summary one record carries: the text, the contract field it came from, and why."""

    text: str | None
    source: str | None  # "guidance.social_care_summary", "guidance.summary", ... or None
    reason: str

    def explain(self) -> str:
        if self.source is None:
            return f"Free text: no guidance summary ({self.reason})."
        return f"Free text: {self.source} ({self.reason})."


def register_summary(guidance: Guidance, register: Register) -> FreeText:
    """The summary ``register`` receives: its own if given, else the generic one, never the other's."""
    field = OWN_SUMMARY[register]
    name = REGISTER_NAMES[register]
    own: str | None = getattr(guidance, field)
    if own:
        return FreeText(own, f"guidance.{field}", "given for this register")
    if guidance.summary:
        return FreeText(guidance.summary, "guidance.summary", f"no {name} summary given")
    return FreeText(None, None, "none given")


# -- what each record shows ------------------------------------------------------------------------------

HEADER_CLIENT = ("hetu", "given_names", "family_name", "birth_date")  # recordTarget
HEADER_GUIDANCE = ("started_at", "ended_at", "worker_id")  # effectiveTime, author, componentOf
URGENCY = ("urgency", "urgent")  # shown with the deadlines (priority of the intended acts), only there


@dataclass(frozen=True, slots=True)
class Shows:
    """What one social care document shows of an outcome, beyond its CDA header (unit, client, contact period).

    ``summary`` says when the guidance summary is shown: always, only when the result has no
    ``description`` of its own (the structure's one description field falls back to it), or never.
    """

    title: str
    contact: tuple[str, ...]
    result: tuple[str, ...]
    client_contacts: tuple[str, ...] = ()  # the client's phone, guardian (with_contacts in content.py)
    author_title: bool = False  # laatija.tehtavanimike: the worker's profession
    service_area: bool = True  # the receiving area's service task (palvelutehtävä)
    support_needs: bool = False  # the reasons as tuen tarve (1.2.246.537.6.1282)
    summary: Literal["always", "without_description", "never"] = "never"


SOCIAL_CARE_DOCUMENTS: dict[str, Shows] = {
    "initiation": Shows(
        "the record of initiation",
        contact=("received_at",),
        result=("description",),
        author_title=True,
        support_needs=True,
    ),
    "guidance_record": Shows(
        "the guidance record",
        contact=("channel",),
        result=("note", "matter_reference"),
        author_title=True,
        service_area=False,  # the guidance unit's own service task, from the mappings
        summary="always",
    ),
    "authority_contact": Shows(
        "the authority's contact",
        contact=("received_at", "authority"),
        result=("description", "made_with_consent"),
        client_contacts=("phone", "guardian"),
        support_needs=True,
        summary="without_description",
    ),
    "need_notice": Shows(
        "the notice of need",
        contact=("received_at", "authority"),
        result=("description",),
        client_contacts=("phone",),  # structure 4006 has no guardian for the client
        support_needs=True,
        summary="without_description",
    ),
    "child_welfare_notice": Shows(
        "the child welfare notice",
        contact=("received_at",),
        result=("reporter_type", "reporter_name", "concern", "child_informed", "guardian_informed"),
    ),
}

PATIENT_CLIENT = (*HEADER_CLIENT, "phone", "language", "municipality")  # the Patient resource


def document_free_text(document: str, outcome: OutcomeV1, result: SocialCareResult | None) -> FreeText:
    """The guidance summary ``document`` shows, if any, and why."""
    shows = SOCIAL_CARE_DOCUMENTS[document]
    if shows.summary == "never":
        return FreeText(None, None, f"{shows.title} does not show one")
    if shows.summary == "without_description" and getattr(result, "description", None):
        return FreeText(None, None, "the result's own description is shown instead")
    return register_summary(outcome.guidance, "social_care")


# -- parts -------------------------------------------------------------------------------------------------


def client_part(client: Client) -> dict[str, Any]:
    return {
        "hetu": client.hetu,
        "given_names": client.given_names,
        "family_name": client.family_name,
        "birth_date": client.birth.isoformat() if client.birth else None,
        "municipality": client.municipality,
        "language": client.language,
        "phone": client.phone,
        "guardian": client.guardian.model_dump(mode="json") if client.guardian else None,
    }


def contact_part(outcome: OutcomeV1) -> dict[str, Any]:
    return {
        "received_at": outcome.contact.received_at.isoformat(),
        "channel": outcome.contact.channel.value,
        "contacted_by": outcome.contact.contacted_by.value,
        "authority": outcome.contact.authority.model_dump(mode="json") if outcome.contact.authority else None,
    }


def guidance_part(outcome: OutcomeV1) -> dict[str, Any]:
    """The guidance facts every record may show; free text is added per record (:class:`FreeText`)."""
    g = outcome.guidance
    return {
        "started_at": g.started_at.isoformat(),
        "ended_at": g.ended_at.isoformat(),
        "worker_id": g.worker.id,
        "profession": g.worker.profession.value,
    }


def reasons_of(outcome: OutcomeV1, mappings: MappingSet, areas: set[str]) -> list[str]:
    """The outcome's reason codes that belong to ``areas`` (main reason first)."""
    codes = [outcome.reasons.main, *outcome.reasons.additional]
    return [code for code in dict.fromkeys(codes) if mappings.reasons[code].area in areas]


def support_need_reasons(codes: list[str], mappings: MappingSet) -> list[str]:
    """The first code of each support need (tuen tarve) among ``codes``: the ones a document shows."""
    first: dict[str, str] = {}
    for code in codes:
        need = mappings.reasons[code].support_need
        if need and need not in first:
            first[need] = code
    return list(first.values())


def deadline_part(deadline: Deadline) -> dict[str, Any]:
    return {
        "rule": deadline.rule_id,
        "due": deadline.due.isoformat(),
        "description": deadline.description,
        "legal_basis": deadline.legal_basis,
    }


def _pick(part: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: part[k] for k in fields}


# -- the patient register ------------------------------------------------------------------------------------


def patient_record(
    outcome: OutcomeV1,
    mappings: MappingSet,
    *,
    handovers: list[tuple[HealthCareHandover, list[Deadline]]],
    bookings: list[DirectHealthCareBooking],
) -> dict[str, Any]:
    """The patient-register side: one FHIR transaction's worth of data, exactly what it shows.

    The guardian, who made the contact and when it arrived are not shown in the transaction; of a
    hand-over's deadlines the first one is (the ServiceRequest's occurrence and the Task's
    restriction), without the gateway's rule id.
    """
    return {
        "client": _pick(client_part(outcome.client), PATIENT_CLIENT),
        "unit": outcome.unit,
        "contact": {"channel": outcome.contact.channel.value},
        "guidance": {**guidance_part(outcome), "summary": register_summary(outcome.guidance, "patient").text},
        "reasons": reasons_of(outcome, mappings, {"health_care", "kela", "other"}),
        "handovers": [
            {
                "receiving": h.receiving,
                "urgency": h.urgency.value,
                "note": h.note,
                "deadlines": [
                    {"due": d.due.isoformat(), "description": d.description, "legal_basis": d.legal_basis}
                    for d in deadlines[:1]
                ],
            }
            for h, deadlines in handovers
        ],
        "bookings": [
            {
                "unit": b.unit,
                "starts_at": b.starts_at.isoformat(),
                "ends_at": b.ends_at.isoformat(),
                "service_type": b.service_type,
                "booking_reference": b.booking_reference,
            }
            for b in bookings
        ],
    }


# -- the social care client register ---------------------------------------------------------------------------


def social_care_document(
    outcome: OutcomeV1,
    mappings: MappingSet,
    *,
    document: str,
    service_area: str | None,
    result: SocialCareResult | None,
    deadlines: list[Deadline],
) -> dict[str, Any]:
    """One social care document (Kanta), exactly what it shows. ``document`` names the THL structure."""
    shows = SOCIAL_CARE_DOCUMENTS[document]
    if isinstance(result, ChildWelfareNotice):
        # The notice is about the child; the caller (client) is recorded only as the reporter.
        client = {**_pick(result.child.model_dump(mode="json"), HEADER_CLIENT[:3]), "birth_date": None}
    else:
        full = client_part(outcome.client)
        client = _pick(full, HEADER_CLIENT + shows.client_contacts)
        if client.get("guardian"):
            client["guardian"] = {k: v for k, v in client["guardian"].items() if k != "hetu"}
    guidance = _pick(guidance_part(outcome), HEADER_GUIDANCE + (("profession",) if shows.author_title else ()))
    free_text = document_free_text(document, outcome, result)
    if free_text.text is not None:
        guidance["summary"] = free_text.text
    payload: dict[str, Any] = {
        "document": document,
        "client": client,
        "unit": outcome.unit,
        "contact": _pick(contact_part(outcome), shows.contact),
        "guidance": guidance,
        "deadlines": [deadline_part(d) for d in deadlines],
        "result": _result_part(shows, result, with_deadlines=bool(deadlines)),
    }
    if shows.service_area:
        payload["service_area"] = service_area
    if shows.support_needs:
        # The result's own reasons first, then the outcome's social care side (content.py's order).
        own = list(getattr(result, "reasons", None) or [])
        payload["reasons"] = support_need_reasons(
            own + reasons_of(outcome, mappings, {"social_care", "kela", "other"}), mappings
        )
    return payload


def _result_part(shows: Shows, result: SocialCareResult | None, *, with_deadlines: bool) -> dict[str, Any] | None:
    if result is None:
        return None
    dumped = result.model_dump(mode="json")
    fields = shows.result + (URGENCY if with_deadlines else ())
    part = {k: v for k, v in dumped.items() if k in fields}
    if dumped.get("reporter_type") == "anonymous":
        part.pop("reporter_name", None)  # an anonymous notice names no reporter
    return part


# -- Kela ----------------------------------------------------------------------------------------------------


def kela_booking(outcome: OutcomeV1, request: KelaBookingRequest) -> dict[str, Any]:
    """A booking an outcome asks for; the booking API builds the same shape with ``kela_booking_payload``."""
    client = outcome.client
    return kela_booking_payload(
        client={
            "hetu": client.hetu,
            "given_names": client.given_names,
            "family_name": client.family_name,
            "phone": client.phone,
            "municipality": client.municipality,
        },
        unit=outcome.unit,
        worker_id=outcome.guidance.worker.id,
        request=request.model_dump(mode="json"),
    )


def kela_booking_payload(
    *, client: dict[str, Any], unit: str, worker_id: str, request: dict[str, Any]
) -> dict[str, Any]:
    """The ``kela_booking`` payload: who, for whom, and the request (topic, window, contact, slot)."""
    return {"client": client, "unit": unit, "worker_id": worker_id, "request": request}
