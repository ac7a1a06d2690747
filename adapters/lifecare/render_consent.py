"""Render a consent covering health data as one FHIR R4 transaction Bundle. Pure: no I/O.

The transaction holds the Patient (conditional create on the hetu, as for a patient record), the
Consent and a Provenance (author = the worker who recorded the consent, custodian = the patient
register keeper), built with the same :class:`TransactionContext` as the patient record so the
gateway identifiers, ``urn:uuid`` full URLs and conditional creates are derived the same way.

Where FHIR R4 leaves the choice open, this module chooses:

- the data categories are ``provision.class`` codings in the gateway's local code system (``class``
  is "the type of information the consent relates to"; ``provision.code`` would instead match codes
  found inside the data);
- the purpose is free text, and no v3-ActReason code says the same thing, so it is not coded in
  ``provision.purpose``: it goes to the narrative (``Consent.text``, status ``additional`` because
  the narrative carries what the structured elements do not); R4 Consent has no ``note``;
- a revocation keeps everything as first recorded, turns ``status`` to ``inactive`` and adds the
  revocation reason to the narrative (no extension);
- the parties are logical references (identifier and display): the register keepers of the
  county's own registers by their SOTE-organisation-register OIDs, Kela by its business id under
  the JHS 159 business-id arc, the others by display only;
- the signed form is ``sourceReference`` to a DocumentReference identified by the form reference,
  without a system: the source system's archive namespace is not in the payload.

A revocation updates the Consent and the Provenance of the first version by id and keeps their
identifiers, so the register holds one Consent that turns inactive. The Patient stays a conditional
create on the hetu: it matches the patient the first version found or created and changes nothing,
where a PUT would replace the register's patient with the two fields a consent knows.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from adapters.lifecare.render import ACT_CODE, RenderedBundle, TransactionContext, oid_ref
from gateway.contract.hetu import HETU_SYSTEM
from gateway.errors import RenderError
from gateway.mappings import MappingSet

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
BUSINESS_ID_SYSTEM = "urn:oid:1.2.246.10"
"""JHS 159: the OID arc of organisations by business id (y-tunnus)."""
KELA_BUSINESS_ID = "0246246-0"
RECORDER = "Asiakasohjauksen työntekijä"
"""The author's display: a consent payload names the worker by id, not by profession."""

FORMS = {
    "signed_y100": "Kela Y100 -suostumus, allekirjoitettu lomake",
    "electronic": "Kela Y100 -suostumus, annettu sähköisesti",
    "verbal": "Suullinen suostumus (kattaa yhden tiedonvaihdon)",
}
CATEGORIES = {
    "identity_and_contact": "Henkilö- ja yhteystiedot",
    "social_care": "Sosiaalihuollon asiakastiedot",
    "health": "Terveystiedot (erityinen henkilötietoryhmä)",
    "financial": "Taloudelliset tiedot",
    "employment": "Työllisyystiedot",
    "benefits": "Etuustiedot",
}
OTHER_PARTIES = {
    "employment_services": "Työllisyyspalvelut",
    "third_sector": "Järjestöt (kolmas sektori)",
}
STATUSES = {"active": "active", "inactive": "inactive"}


def render_consent(
    payload: Mapping[str, Any],
    mappings: MappingSet,
    *,
    delivery_id: str,
    identifier_root: str | None = None,
    previous: Mapping[str, str] | None = None,
) -> RenderedBundle:
    """The transaction for one consent delivery. ``previous`` maps roles to ids the first version created."""
    consent = payload["consent"]
    if "health" not in consent["data_categories"]:
        raise RenderError("only a consent covering health data is recorded in the patient register")
    if payload["unit"] not in mappings.units:
        raise RenderError(f"unit {payload['unit']!r} is not in the mappings")
    updates = {role: ref for role, ref in (previous or {}).items() if role != "Patient"}
    ctx = TransactionContext(_as_record(payload), mappings, identifier_root or delivery_id, updates)
    ctx.add_patient()
    ctx.add_identified("Consent", _consent(payload, mappings, patient=ctx.patient))
    ctx.add_provenance()
    return ctx.bundle()


def _as_record(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The consent seen through what the context reads: client, unit, and the recording as the guidance."""
    return {
        "client": payload["client"],
        "unit": payload["unit"],
        "guidance": {"worker_id": payload["worker_id"], "profession": RECORDER, "ended_at": payload["given_at"]},
    }


def _lookup(table: Mapping[str, str], code: str, what: str) -> str:
    if code not in table:
        raise RenderError(f"{what} {code!r} has no FHIR rendering")
    return table[code]


def _consent(payload: Mapping[str, Any], mappings: MappingSet, *, patient: str) -> dict[str, Any]:
    consent = payload["consent"]
    form = _lookup(FORMS, consent["form"], "consent form")
    keeper = mappings.registers.patient
    period = {"start": consent["valid_from"]}
    if consent.get("valid_until"):
        period["end"] = consent["valid_until"]
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "text": _narrative(payload, mappings),
        "status": _lookup(STATUSES, payload["status"], "consent status"),
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}], "text": form}],
        "patient": {"reference": patient},
        "dateTime": payload["given_at"],
        "performer": [_performer(payload, patient)],
        "organization": [oid_ref(keeper.keeper_oid, keeper.keeper_name, "Organization")],
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}]},
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [
                {
                    "role": {
                        "coding": [{"system": PARTICIPATION_TYPE, "code": "IRCP", "display": "information recipient"}]
                    },
                    "reference": _party(party, mappings),
                }
                for party in consent["parties"]
            ],
            "class": [
                {
                    "system": mappings.gateway.local_code_system,
                    "code": category,
                    "display": _lookup(CATEGORIES, category, "data category"),
                }
                for category in consent["data_categories"]
            ],
        },
    }
    if consent.get("form_reference"):
        resource["sourceReference"] = {
            "type": "DocumentReference",
            "identifier": {"value": consent["form_reference"]},
            "display": form,
        }
    return resource


def _performer(payload: Mapping[str, Any], patient: str) -> dict[str, Any]:
    """Who gave the consent: the patient, or the guardian acting for them."""
    guardian = payload.get("guardian")
    if not (payload["consent"].get("given_by_guardian") and guardian):
        return {"reference": patient}
    performer: dict[str, Any] = {
        "type": "RelatedPerson",
        "display": f"{guardian['given_names']} {guardian['family_name']} (huoltaja)",
    }
    if guardian.get("hetu"):
        performer["identifier"] = {"system": HETU_SYSTEM, "value": guardian["hetu"]}
    return performer


def _party(party: str, mappings: MappingSet) -> dict[str, Any]:
    """A party the consent lets receive the data, as a logical reference."""
    if party == "kela":
        # JHS 159 writes the business id under its arc without the leading zero; people read it with it.
        return {
            "type": "Organization",
            "identifier": {"system": BUSINESS_ID_SYSTEM, "value": KELA_BUSINESS_ID.lstrip("0")},
            "display": f"Kansaneläkelaitos (Kela, Y-tunnus {KELA_BUSINESS_ID})",
        }
    if party in ("social_care", "health_care"):
        keeper = mappings.registers.social_care if party == "social_care" else mappings.registers.patient
        return oid_ref(keeper.keeper_oid, keeper.keeper_name, "Organization")
    return {"type": "Organization", "display": _lookup(OTHER_PARTIES, party, "consent party")}


def _narrative(payload: Mapping[str, Any], mappings: MappingSet) -> dict[str, str]:
    """What a reader of the register sees; it also carries the purpose and a revocation's reason."""
    consent = payload["consent"]
    until = consent.get("valid_until") or "toistaiseksi"
    lines = [
        _lookup(FORMS, consent["form"], "consent form"),
        f"Käyttötarkoitus: {consent['purpose']}",
        f"Osapuolet: {'; '.join(_party(p, mappings)['display'] for p in consent['parties'])}",
        f"Tietoryhmät: {', '.join(_lookup(CATEGORIES, c, 'data category') for c in consent['data_categories'])}",
        f"Voimassa: {consent['valid_from']} – {until}",
    ]
    if payload["status"] == "inactive":
        reason = payload.get("revocation_reason")
        lines.append(f"Suostumus peruttu: {reason}" if reason else "Suostumus peruttu.")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return {"status": "additional", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}
