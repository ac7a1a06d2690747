"""Every problem of a mapping document at once: pydantic's own errors and the cross-reference checks.

Pure. Each check is a small function from the raw document to problems, so that a check runs even
when another part of the document does not parse, and a new field (Kela's topics, say) gets its
check by adding one function to :data:`CHECKS`. Locations are JSON pointers into the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from pydantic import ValidationError

from gateway.contract.results import Result
from gateway.contract.vocabulary import AuthorityKind, Channel, ContactedBy
from gateway.mappings import Area, mappings_from_document

# The label is stored in mapping_versions.label and outcomes.mapping_version, both String(64).
MAX_LABEL = 64
HASH_SUFFIX = 13  # "+" and 12 hex digits
OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
# Organisation OIDs of the SOTE organisation register: 1.2.246.10.<y-tunnus digits>.10.<n>.
SOTE_ORGANISATION = re.compile(r"^1\.2\.246\.10\.(\d{8})\.10\.\d+$")
URN_OID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9]\d*))+$")
# FHIR R4 Encounter.class: the v3 ActEncounterCode value set.
ENCOUNTER_CLASSES = frozenset({"AMB", "EMER", "FLD", "HH", "IMP", "ACUTE", "NONAC", "OBSENC", "PRENC", "SS", "VR"})
DIGITS = re.compile(r"^\d{1,3}$")
# A deadline rule's family: the provision it implements (law, section and any subsection).
PROVISION = re.compile(r"^(.*?§(?:\s*\d+\s*mom\.)?)")


@dataclass(frozen=True, slots=True)
class MappingProblem:
    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


Check = Callable[[Mapping[str, Any]], Iterator[MappingProblem]]


def pointer(*parts: object) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else ""


def _table(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return {k: v for k, v in value.items() if isinstance(v, dict)} if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _oid_problem(where: str, value: Any, what: str) -> Iterator[MappingProblem]:
    if not isinstance(value, str) or not OID.match(value):
        yield MappingProblem(where, f"{what} {value!r} is not a well-formed OID")


def check_version(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    declared = document.get("version")
    if not isinstance(declared, str) or not declared.strip():
        yield MappingProblem("/version", "declare the set's version (e.g. 2026.12.1)")
    elif len(declared) + HASH_SUFFIX > MAX_LABEL:
        yield MappingProblem("/version", f"the declared version is longer than {MAX_LABEL - HASH_SUFFIX} characters")


def check_organisation(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """The organisation and register-keeper identifiers every record carries (Kanta and Lifecare both need them)."""
    organisation = document.get("organisation")
    if isinstance(organisation, dict):
        yield from _oid_problem("/organisation/oid", organisation.get("oid"), "organisation OID")
    registers = document.get("registers")
    for register in ("patient", "social_care"):
        keeper = registers.get(register) if isinstance(registers, dict) else None
        if not isinstance(keeper, dict):
            yield MappingProblem(pointer("registers", register), f"the {register} register needs its keeper")
            continue
        yield from _oid_problem(pointer("registers", register, "keeper_oid"), keeper.get("keeper_oid"), "keeper OID")
        if not _text(keeper.get("keeper_name")):
            yield MappingProblem(pointer("registers", register, "keeper_name"), "name the register keeper")
    identifiers = document.get("gateway")
    if isinstance(identifiers, dict):
        yield from _oid_problem("/gateway/document_oid_root", identifiers.get("document_oid_root"), "document OID root")
        for key in ("identifier_system", "local_code_system", "worker_identifier_system"):
            value = identifiers.get(key)
            if isinstance(value, str) and value.startswith("urn:oid:") and not URN_OID.match(value):
                yield MappingProblem(pointer("gateway", key), f"{value!r} is not a well-formed urn:oid")


def check_units(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Guidance, service-area and health care units: well-formed OIDs of the organisation's own register."""
    organisation = document.get("organisation")
    business_id = _text(organisation.get("business_id")) if isinstance(organisation, dict) else ""
    digits = business_id.replace("-", "")
    for table, key in (("units", "oid"), ("service_areas", "unit_oid"), ("health_units", "oid")):
        for code, unit in _table(document, table).items():
            where = pointer(table, code, key)
            oid = unit.get(key)
            problems = list(_oid_problem(where, oid, "unit OID"))
            yield from problems
            match = SOTE_ORGANISATION.match(oid) if isinstance(oid, str) and not problems else None
            if not problems and digits and (match is None or match.group(1) != digits):
                yield MappingProblem(where, f"unit OID {oid} is not under the organisation's 1.2.246.10.{digits}.10")


def check_references(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Codes that name other codes: the child welfare area, the HTA unit, reasons' areas and support needs."""
    areas = _table(document, "service_areas")
    child_welfare = document.get("child_welfare_area")
    if child_welfare not in areas:
        yield MappingProblem("/child_welfare_area", f"{child_welfare!r} is not one of service_areas")
    if "hta" not in _table(document, "health_units"):
        yield MappingProblem("/health_units", "define 'hta' (the care-needs assessment unit)")
    known_areas = set(get_args(Area))
    for code, reason in _table(document, "reasons").items():
        area = reason.get("area")
        if area not in known_areas:
            yield MappingProblem(
                pointer("reasons", code, "area"), f"unknown area {area!r}; one of {sorted(known_areas)}"
            )
        need = reason.get("support_need")
        if need is None and area == "social_care":
            yield MappingProblem(
                pointer("reasons", code, "support_need"),
                "a social care reason needs its THL support-need code (1.2.246.537.6.1282)",
            )
        elif need is not None and (not isinstance(need, str) or not DIGITS.match(need)):
            yield MappingProblem(pointer("reasons", code, "support_need"), f"{need!r} is not a support-need code")


def check_channels(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Every channel of the contract is mapped (and nothing else is), to an asiointitapa and an encounter class."""
    channels = _table(document, "channels")
    contract = {channel.value for channel in Channel}
    for missing in sorted(contract - set(channels)):
        yield MappingProblem(pointer("channels", missing), f"channel {missing!r} of the contract is not mapped")
    for code, channel in channels.items():
        if code not in contract:
            yield MappingProblem(pointer("channels", code), f"{code!r} is not a channel of the contract")
        if not DIGITS.match(_text(channel.get("asiointitapa"))):
            yield MappingProblem(
                pointer("channels", code, "asiointitapa"), "give the asiointitapa code (1.2.246.537.6.1250)"
            )
        if channel.get("encounter_class") not in ENCOUNTER_CLASSES:
            yield MappingProblem(
                pointer("channels", code, "encounter_class"),
                f"{channel.get('encounter_class')!r} is not a FHIR encounter class "
                f"({', '.join(sorted(ENCOUNTER_CLASSES))})",
            )


def check_deadline_rules(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Rules parse, are dated, have one measure, unique ids, and one provision's versions never overlap."""
    rules = document.get("rules")
    if not isinstance(rules, list):
        yield MappingProblem("/rules", "give the deadline rules as a list")
        return
    seen: dict[str, int] = {}
    periods: list[tuple[tuple[str, str, str], date, date | None, int, str]] = []
    for i, rule in enumerate(rules):
        where = pointer("rules", i)
        if not isinstance(rule, dict):
            yield MappingProblem(where, "a deadline rule is a mapping")
            continue
        rule_id = _text(rule.get("id"))
        if rule_id in seen:
            yield MappingProblem(pointer("rules", i, "id"), f"rule id {rule_id!r} is also rule {seen[rule_id]}")
        seen.setdefault(rule_id, i)
        if (rule.get("working_days") is None) == (rule.get("months") is None):
            yield MappingProblem(where, "give exactly one of working_days and months")
        start, end = _day(rule.get("valid_from")), _day(rule.get("valid_until"))
        if start is None:
            yield MappingProblem(pointer("rules", i, "valid_from"), "date the rule (valid_from, YYYY-MM-DD)")
            continue
        if rule.get("valid_until") is not None and end is None:
            yield MappingProblem(pointer("rules", i, "valid_until"), "not a date (YYYY-MM-DD)")
            continue
        if end is not None and end < start:
            yield MappingProblem(pointer("rules", i, "valid_until"), "ends before valid_from")
            continue
        match = PROVISION.match(_text(rule.get("legal_basis")))
        family = (str(rule.get("applies_to")), str(rule.get("when", "always")), match.group(1) if match else rule_id)
        for other_family, other_start, other_end, j, other_id in periods:
            if other_family == family and start <= (other_end or date.max) and other_start <= (end or date.max):
                yield MappingProblem(
                    where,
                    f"rule {rule_id!r} is in force on the same days as rule {other_id!r} (rules/{j}) "
                    f"for {family[0]}/{family[1]} under {family[2]}",
                )
        periods.append((family, start, end, i, rule_id))


def check_translations(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Code translations are unambiguous: displays given, no codes differing only in case, one display per target."""
    for table, label in (("reasons", "display"), ("channels", "display"), ("units", "name"), ("service_areas", "name")):
        folded: dict[str, str] = {}
        for code, entry in _table(document, table).items():
            if not _text(entry.get(label)):
                yield MappingProblem(pointer(table, code, label), "give a non-empty display")
            key = code.strip().casefold()
            if key in folded:
                yield MappingProblem(
                    pointer(table, code), f"{code!r} and {folded[key]!r} differ only in case or spaces"
                )
            folded.setdefault(key, code)
    tasks: dict[str, tuple[str, str]] = {}
    sources = [
        (pointer("service_areas", c, "service_task"), a.get("service_task"))
        for c, a in _table(document, "service_areas").items()
    ]
    sources.append(("/guidance_service_task", document.get("guidance_service_task")))
    for where, task in sources:
        if not isinstance(task, dict):
            continue
        code, display = _text(task.get("code")), _text(task.get("display"))
        if not code or not display:
            yield MappingProblem(where, "a service task needs a code and a display")
        elif code in tasks and tasks[code][1] != display:
            yield MappingProblem(
                where, f"service task {code} is {display!r} here but {tasks[code][1]!r} at {tasks[code][0]}"
            )
        else:
            tasks.setdefault(code, (where, display))


def check_kela_topics(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Kela's phone-service topics: each named in Finnish, no two codes differing only in case."""
    kela = document.get("kela")
    topics = kela.get("topics") if isinstance(kela, dict) else None
    if not isinstance(topics, dict):
        return
    folded: dict[str, str] = {}
    for code, names in topics.items():
        if not isinstance(names, dict) or not _text(names.get("fi")):
            yield MappingProblem(pointer("kela", "topics", code, "fi"), "name the topic in Finnish")
        key = code.strip().casefold()
        if key in folded:
            yield MappingProblem(pointer("kela", "topics", code), f"{code!r} and {folded[key]!r} differ only in case")
        folded.setdefault(key, code)


# Keys of statistics.ended_how that are not result kinds: the hand-over to the care-needs assessment
# and the authority's contact made with consent (see gateway.plan.statistics).
ENDED_HOW_SPECIAL = ("health_care_handover_hta", "authority_contact_with_consent")


def _result_kinds() -> set[str]:
    return {kind for model in get_args(get_args(Result)[0]) for kind in get_args(model.model_fields["kind"].annotation)}


def check_statistics_codes(document: Mapping[str, Any]) -> Iterator[MappingProblem]:
    """Every result kind says where the guidance ended; every contacting party and authority kind is displayed."""
    statistics = document.get("statistics")
    if not isinstance(statistics, dict):
        return
    ended = statistics.get("ended_how")
    if isinstance(ended, dict):
        for kind in sorted(_result_kinds() | set(ENDED_HOW_SPECIAL)):
            if not _text(ended.get(kind)):
                yield MappingProblem(pointer("statistics", "ended_how", kind), "say where this kind of result ends")
    displays = statistics.get("displays")
    if not isinstance(displays, dict):
        return
    for name, vocabulary in (("contacted_by", ContactedBy), ("authority_kind", AuthorityKind)):
        shown = displays.get(name)
        for member in vocabulary:
            if not isinstance(shown, dict) or not _text(shown.get(member.value)):
                yield MappingProblem(pointer("statistics", "displays", name, member.value), "give a Finnish display")


CHECKS: tuple[Check, ...] = (
    check_version,
    check_organisation,
    check_units,
    check_references,
    check_channels,
    check_deadline_rules,
    check_translations,
    check_kela_topics,
    check_statistics_codes,
)


def validate_document(document: Any) -> list[MappingProblem]:
    """Every problem of ``document``; an empty list means it can be stored and activated."""
    if not isinstance(document, dict):
        return [MappingProblem("", "a mapping document is a JSON object")]
    found = [problem for check in CHECKS for problem in check(document)]
    located = {p.location for p in found}
    try:
        mappings_from_document(document)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            where = pointer(*error["loc"])
            # The model's own cross-checks say what a check above already said, less precisely.
            if where in located or (not error["loc"] and found):
                continue
            found.append(MappingProblem(where, _message(error)))
    return found


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
