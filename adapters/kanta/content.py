"""The structured content: a delivery payload as the Sosmeta JSON of its THL structure. Pure.

Field names, nesting and code systems are THL's (``schemas/sosmeta/<oid>.json``); every value comes
from the payload (``gateway.plan.payloads.social_care_document``) or the mapping set. The payload carries
exactly what its document shows, as ``gateway.plan.payloads.SOCIAL_CARE_DOCUMENTS`` lists it: a field read
here must be listed there, and one listed there must show here, or a correction would re-version a
document that did not change (``tests/unit/test_payloads.py`` holds the two together). The guidance
summary a document shows (``payload.guidance.summary``) is already the social care register's own
text, chosen by the planner. Where a structure wants something the gateway does not know, the choice
is written here:

* **Names we do not have.** The inbound contract carries the guidance worker's id and profession but
  not their name, and an authority's kind and organisation but not the contacting person. Where a
  structure *requires* such a name (``laatija`` of the two asiakaskertomusmerkintä structures,
  ``yhteydenottaja.henkilo`` of the authority contact, with its required phone number) the field
  says :data:`NOT_REPORTED` ("Ei ilmoitettu") rather than inventing one; where it is optional it is
  left out. The worker's id travels in the CDA header (``author/assignedAuthor/id``).
* **Code systems without a mapping** are not written: palvelutarpeen ilmoittaja (1.2.246.537.6.1243),
  sosiaalipalvelut (…1222), kiireellisyyden arvio (…1252), lastensuojeluasian syy (…1251) and lapsen
  asuminen (…1203). Their plain-language counterparts go to the free-text fields that exist for them.
* **Support needs** (tuen tarve, 1.2.246.537.6.1282) are the ``support_need`` codes of the result's
  own reason codes, then of the outcome's reasons (main reason first), one entry per code; the
  display is the local reason's display (the mapping set has no THL display for the code).
* **Dates** are Finnish calendar dates (Europe/Helsinki) of the payload's timestamps; date-times
  keep their instant, written in Finnish time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from adapters.kanta import structures as cs
from adapters.kanta.structures import Structure, structure_for
from gateway.errors import RenderError
from gateway.mappings import Coding, MappingSet, Unit

FINNISH_TIME = ZoneInfo("Europe/Helsinki")
NOT_REPORTED = "Ei ilmoitettu"

PROFESSION_TITLES = {
    "social_worker": "Sosiaalityöntekijä",
    "social_instructor": "Sosiaaliohjaaja",
    "service_coordinator": "Palveluohjaaja",
    "nurse": "Sairaanhoitaja",
    "public_health_nurse": "Terveydenhoitaja",
    "physician": "Lääkäri",
    "other": "Muu ammattihenkilö",
}
AUTHORITY_NAMES = {
    "school": "Koulu",
    "early_childhood_education": "Varhaiskasvatus",
    "police": "Poliisi",
    "kela": "Kela",
    "health_care": "Terveydenhuolto",
    "social_care": "Sosiaalihuolto",
    "employment_services": "Työllisyyspalvelut",
    "emergency_services": "Pelastustoimi tai hätäkeskus",
    "other": "Muu viranomainen",
}
REPORTER_NAMES = {
    "private_person": "Yksityishenkilö",
    "anonymous": "Nimetön ilmoittaja",
    "school": "Koulu",
    "early_childhood_education": "Varhaiskasvatus",
    "police": "Poliisi",
    "health_care": "Terveydenhuolto",
    "social_care": "Sosiaalihuolto",
    "other_authority": "Muu viranomainen",
}


@dataclass(frozen=True, slots=True)
class Deadline:
    """A statutory deadline the document carries (in the CDA body: an intended act with its due date)."""

    rule: str
    due: date
    description: str
    legal_basis: str


@dataclass(frozen=True, slots=True)
class Content:
    """The Sosmeta JSON of one document and what the CDA header and body need besides it."""

    structure: Structure
    data: dict[str, Any]
    service_task: Coding
    deadlines: tuple[Deadline, ...]
    urgent: bool


def build_content(payload: Mapping[str, Any], mappings: MappingSet) -> Content:
    """Map ``payload`` to its structure's JSON; :class:`RenderError` names the first field that cannot be."""
    structure = structure_for(payload.get("document"))
    builder = _BUILDERS[structure.document]
    data, service_task = builder(payload, mappings)
    result = payload.get("result") or {}
    return Content(
        structure=structure,
        data={structure.root: data},
        service_task=service_task,
        deadlines=tuple(_deadline(d) for d in payload.get("deadlines") or ()),
        urgent=bool(result.get("urgent")) or result.get("urgency") == "urgent",
    )


# -- the five structures -------------------------------------------------------------------------------


def _initiation(payload: Mapping[str, Any], mappings: MappingSet) -> tuple[dict[str, Any], Coding]:
    result = _result(payload)
    task = _area_task(payload, mappings)
    data: dict[str, Any] = {
        "asiakas": [_person(payload, with_contacts=False)],
        "palvelutehtava": [coded(cs.SERVICE_TASK, task)],
        "vireilletulopaiva": finnish_date(_text(payload, "contact", "received_at")),
        "vireilletulon_syyt": support_needs(_reason_codes(payload, result), mappings),
        "paivamaara": finnish_date(_text(payload, "guidance", "ended_at")),
        "laatija": _author(payload, mappings),
    }
    _put(data, "kuvaus_asian_vireilletulosta", result.get("description"))
    return _without_empty(data), task


def _guidance_record(payload: Mapping[str, Any], mappings: MappingSet) -> tuple[dict[str, Any], Coding]:
    # The guidance unit's own record: its service task, not the receiving area's (mappings).
    task = mappings.guidance_service_task
    result = payload.get("result") or {}
    channel = _text(payload, "contact", "channel")
    if channel not in mappings.channels:
        raise RenderError(f"payload.contact.channel {channel!r} has no asiointitapa mapping")
    mapped = mappings.channels[channel]
    description = [_section(payload, "guidance").get("summary"), result.get("note")]
    if result.get("matter_reference"):
        description.append(f"Vireillä olevan asian tunnus: {result['matter_reference']}")
    entry: dict[str, Any] = {
        "palvelutehtava": coded(cs.SERVICE_TASK, task),
        "tapahtuma": {
            "ajanjakso": {
                "alkamishetki": finnish_datetime(_text(payload, "guidance", "started_at")),
                "paattymishetki": finnish_datetime(_text(payload, "guidance", "ended_at")),
            },
            "asiointitapa": [coded(cs.CHANNEL, Coding(code=mapped.asiointitapa, display=mapped.display))],
        },
    }
    _put(entry["tapahtuma"], "kuvaus", "\n".join(str(p) for p in description if p) or None)
    data = {
        "asiakas": [_person(payload, with_contacts=False)],
        "asiakaskertomusmerkinta": entry,
        "paivamaara": finnish_date(_text(payload, "guidance", "ended_at")),
        "laatija": _author(payload, mappings),
    }
    return data, task


def _authority_contact(payload: Mapping[str, Any], mappings: MappingSet) -> tuple[dict[str, Any], Coding]:
    result = _result(payload)
    kind, organisation = _authority(payload)
    needs = support_needs(_reason_codes(payload, result), mappings)
    if not needs:
        raise RenderError(
            "no reason of the outcome maps to a support need (1.2.246.537.6.1282): asiasisalto is required"
        )
    contact: dict[str, Any] = {
        "henkilo": {
            "sukunimi": NOT_REPORTED,
            "etunimet": NOT_REPORTED,
            "organisaatio": organisation or kind,
            "yhteystiedot": {"puhelinnumero": NOT_REPORTED},
        },
        "kuvaus": kind,
    }
    data: dict[str, Any] = {
        "asiakas": [_person(payload, with_contacts=True)],
        "yhteydenottaja": [contact],
        "yhteydenoton_paivamaara": finnish_date(_text(payload, "contact", "received_at")),
        "asiasisalto": needs,
        "yhteydenotto_on_tehty_henkilon_suostumuksella": bool(result.get("made_with_consent")),
    }
    _put(data, "kuvaus_tilanteesta_ja_huolesta", result.get("description") or _summary(payload))
    return data, _area_task(payload, mappings)


def _need_notice(payload: Mapping[str, Any], mappings: MappingSet) -> tuple[dict[str, Any], Coding]:
    result = _result(payload)
    needs = support_needs(_reason_codes(payload, result), mappings)
    situation = result.get("description") or _summary(payload)
    if not situation and needs:
        # The structure requires a description; restate the coded support needs rather than leave it empty.
        situation = "Ilmoitettu tuen tarve: " + ", ".join(n["display"] for n in needs)
    if not situation:
        raise RenderError("the need notice has no description, summary or support need: kuvaus is required")
    data: dict[str, Any] = {
        # Structure 4006 has no guardian (huoltajuus) for the client: contact details only.
        "asiakas": [_person(payload, with_contacts=True, with_guardian=False)],
        "ilmoittaja": [{"kuvaus": ", ".join(p for p in _authority(payload) if p)}],
        "ilmoittamispaivamaara": finnish_date(_text(payload, "contact", "received_at")),
        "asiasisalto": needs,
        "kuvaus_tilanteesta_ja_huolesta": situation,
    }
    return _without_empty(data), _area_task(payload, mappings)


def _child_welfare_notice(payload: Mapping[str, Any], mappings: MappingSet) -> tuple[dict[str, Any], Coding]:
    result = _result(payload)
    reporter_type = str(result.get("reporter_type") or "")
    anonymous = reporter_type == "anonymous"
    data: dict[str, Any] = {
        "asiakas": _person(payload, with_contacts=False),
        "anonyymi_ilmoitus": anonymous,
        "ilmoittamispaivamaara": finnish_date(_text(payload, "contact", "received_at")),
        "asiasisalto": _required(result.get("concern"), "payload.result.concern"),
        "lapselle_on_kerrottu_lastensuojeluilmoituksesta": bool(result.get("child_informed")),
        "ainakin_toiselle_huoltajalle_on_kerrottu_lastensuojeluilmoituksesta": bool(result.get("guardian_informed")),
    }
    if not anonymous:
        # The reporter's name is one free-text field in the contract, so it is not split into the
        # structure's sukunimi/etunimet (henkilo is optional): the description names the reporter.
        who = REPORTER_NAMES.get(reporter_type, reporter_type or NOT_REPORTED)
        if result.get("reporter_name"):
            who = f"{who}: {result['reporter_name']}"
        data["ilmoittaja"] = [{"kuvaus": who}]
    return data, _area_task(payload, mappings)


_BUILDERS = {
    "initiation": _initiation,
    "guidance_record": _guidance_record,
    "authority_contact": _authority_contact,
    "need_notice": _need_notice,
    "child_welfare_notice": _child_welfare_notice,
}


# -- parts ---------------------------------------------------------------------------------------------


def coded(system_oid: str, coding: Coding) -> dict[str, str]:
    return {"system": cs.urn(system_oid), "code": coding.code, "display": coding.display}


def support_needs(reason_codes: list[str], mappings: MappingSet) -> list[dict[str, str]]:
    """Tuen tarve entries for local reason codes, in order, one per support-need code."""
    needs: dict[str, dict[str, str]] = {}
    for code in reason_codes:
        reason = mappings.reasons.get(code)
        if reason is None:
            raise RenderError(f"reason code {code!r} is not in the mapping set")
        if reason.support_need and reason.support_need not in needs:
            needs[reason.support_need] = coded(
                cs.SUPPORT_NEED, Coding(code=reason.support_need, display=reason.display)
            )
    return list(needs.values())


def finnish_date(iso: str) -> str:
    return _instant(iso).astimezone(FINNISH_TIME).date().isoformat()


def finnish_datetime(iso: str) -> str:
    return _instant(iso).astimezone(FINNISH_TIME).isoformat(timespec="seconds")


def _instant(iso: str) -> datetime:
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        raise RenderError("a timestamp of the payload is not ISO 8601") from None
    if value.tzinfo is None:
        raise RenderError("a timestamp of the payload has no time zone")
    return value


def _person(payload: Mapping[str, Any], *, with_contacts: bool, with_guardian: bool = True) -> dict[str, Any]:
    client = _section(payload, "client")
    person: dict[str, Any] = {
        "sukunimi": _required(client.get("family_name"), "payload.client.family_name"),
        "etunimet": _required(client.get("given_names"), "payload.client.given_names"),
    }
    if client.get("hetu"):
        person["henkilotunnus"] = {"system": cs.urn(cs.HETU), "value": client["hetu"]}
    if with_contacts and client.get("phone"):
        person["yhteystiedot"] = {"puhelinnumero": client["phone"]}
    guardian = client.get("guardian")
    if with_contacts and with_guardian and guardian:
        keeper: dict[str, Any] = {"sukunimi": guardian["family_name"], "etunimet": guardian["given_names"]}
        if guardian.get("phone"):
            keeper["yhteystiedot"] = {"puhelinnumero": guardian["phone"]}
        person["huoltajuus"] = [{"huoltaja": keeper}]
    return person


def _author(payload: Mapping[str, Any], mappings: MappingSet) -> dict[str, Any]:
    unit = _unit(payload, mappings)
    profession = str(_section(payload, "guidance").get("profession") or "other")
    return {
        "sukunimi": NOT_REPORTED,
        "etunimet": NOT_REPORTED,
        "tehtavanimike": PROFESSION_TITLES.get(profession, PROFESSION_TITLES["other"]),
        "palveluyksikko": coded(cs.SOTE_ORGANISATION, Coding(code=unit.oid, display=unit.name)),
    }


def _unit(payload: Mapping[str, Any], mappings: MappingSet) -> Unit:
    code = payload.get("unit")
    if not isinstance(code, str) or code not in mappings.units:
        raise RenderError(f"payload.unit {code!r} is not one of the mapping set's units")
    return mappings.units[code]


def _area_task(payload: Mapping[str, Any], mappings: MappingSet) -> Coding:
    area = payload.get("service_area")
    if not isinstance(area, str) or area not in mappings.service_areas:
        raise RenderError(f"payload.service_area {area!r} is not one of the mapping set's service areas")
    return mappings.service_areas[area].service_task


def _authority(payload: Mapping[str, Any]) -> tuple[str, str | None]:
    """(what kind of authority, which organisation) of the contact, in Finnish."""
    authority = _section(payload, "contact").get("authority") or {}
    kind = str(authority.get("kind") or "other")
    organisation = authority.get("organisation")
    return AUTHORITY_NAMES.get(kind, AUTHORITY_NAMES["other"]), str(organisation) if organisation else None


def _reason_codes(payload: Mapping[str, Any], result: Mapping[str, Any]) -> list[str]:
    return [*(result.get("reasons") or ()), *(payload.get("reasons") or ())]


def _summary(payload: Mapping[str, Any]) -> str | None:
    summary = _section(payload, "guidance").get("summary")
    return str(summary) if summary else None


def _deadline(raw: Mapping[str, Any]) -> Deadline:
    try:
        return Deadline(str(raw["rule"]), date.fromisoformat(str(raw["due"])), raw["description"], raw["legal_basis"])
    except (KeyError, ValueError):
        raise RenderError(
            "payload.deadlines holds an entry without rule, due date, description and legal basis"
        ) from None


def _result(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    result = payload.get("result")
    if not isinstance(result, Mapping):
        raise RenderError(f"payload.result is required for a {payload.get('document')} document")
    return result


def _section(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    part = payload.get(name)
    if not isinstance(part, Mapping):
        raise RenderError(f"payload.{name} is missing")
    return part


def _text(payload: Mapping[str, Any], section: str, field: str) -> str:
    return _required(_section(payload, section).get(field), f"payload.{section}.{field}")


def _required(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RenderError(f"{name} is required")
    return value


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value:
        target[key] = value


def _without_empty(data: dict[str, Any]) -> dict[str, Any]:
    """Drop empty optional lists: the schemas allow them, but an empty list says nothing."""
    return {k: v for k, v in data.items() if v != []}
