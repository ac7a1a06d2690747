"""An outcome's non-personal planning facts, and a plannable outcome rebuilt from them. Pure.

``planning_facts`` keeps everything the register rules read except personal data: no hetu, name,
phone, e-mail, birth date or free text (summaries, descriptions, notes, a consent's purpose, form
references, case numbers). What the rules need of those is kept as a flag: that a client was
identified, that a summary was given, whether the client was 75 or older on the contact day (SHL
36 §). ``outcome_from_facts`` fills the gaps with neutral placeholders (a synthetic test hetu of the
right age), so a stored outcome can be planned again with another mapping version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from gateway.contract.hetu import CHECK_CHARACTERS
from gateway.contract.outcome_v1 import OutcomeV1

FACTS_VERSION = 1
PRIORITY_AGE = 75
PLACEHOLDER_TEXT = "(dry run)"
PLACEHOLDER_NAMES = ("Testi", "Henkilö")
PLACEHOLDER_PHONE = "+358401234567"
PLACEHOLDER_EMAIL = "asiakas@example.invalid"
PLACEHOLDER_WORKER = "dry-run"
CLIENT_FLAGS = ("hetu", "given_names", "family_name", "birth_date", "phone")
# Result fields kept as they are (codes, flags, times); every other field of a result is personal or free text.
KEPT: dict[str, tuple[str, ...]] = {
    "advice_only": ("topic",),
    "social_care_initiation": (
        "service_area",
        "urgency",
        "reasons",
        "highest_care_allowance",
        "child_needs_special_support",
        "child_welfare_concern",
        "made_with_consent",
    ),
    "pending_social_care_matter": ("service_area",),
    "health_care_handover": ("receiving", "urgency"),
    "direct_health_care_booking": ("unit", "starts_at", "ends_at"),
    "child_welfare_notice": ("reporter_type", "urgent", "child_informed", "guardian_informed"),
    "kela_booking_request": ("topic", "language", "interpreter_language", "municipality", "window", "notification"),
    "third_sector_referral": (),
}
# Optional free-text or identifying fields of a result: only whether they were given is kept.
FLAGGED: dict[str, tuple[str, ...]] = {
    "social_care_initiation": ("description",),
    "pending_social_care_matter": ("matter_reference", "note"),
    "health_care_handover": ("note",),
    "direct_health_care_booking": ("service_type", "booking_reference"),
    "child_welfare_notice": ("reporter_name",),
    "kela_booking_request": ("email",),
}
PLACEHOLDERS: dict[str, Any] = {
    "description": PLACEHOLDER_TEXT,
    "matter_reference": "DRY-RUN",
    "note": PLACEHOLDER_TEXT,
    "service_type": PLACEHOLDER_TEXT,
    "booking_reference": "DRY-RUN",
    "reporter_name": " ".join(PLACEHOLDER_NAMES),
    "email": PLACEHOLDER_EMAIL,
}


def planning_facts(outcome: OutcomeV1) -> dict[str, Any]:
    """What planning reads of ``outcome``, without personal data (JSON-ready)."""
    day = outcome.contact.received_at.astimezone(_finnish()).date()
    client = outcome.client
    birth = client.birth
    data = outcome.model_dump(mode="json")
    return {
        "facts_version": FACTS_VERSION,
        "unit": outcome.unit,
        "contact": {
            "received_at": data["contact"]["received_at"],
            "channel": outcome.contact.channel.value,
            "contacted_by": outcome.contact.contacted_by.value,
            "authority_kind": outcome.contact.authority.kind.value if outcome.contact.authority else None,
            "authority_named": bool(outcome.contact.authority and outcome.contact.authority.organisation),
        },
        "client": {
            "anonymous": client.anonymous,
            "given": [name for name in CLIENT_FLAGS if getattr(client, name) is not None],
            "aged_75_or_over": None if birth is None else _age_on(birth, day) >= PRIORITY_AGE,
            "municipality": client.municipality,
            "language": client.language,
            "guardian": None if client.guardian is None else {"hetu": client.guardian.hetu is not None},
        },
        "reasons": data["reasons"],
        "guidance": {
            "started_at": data["guidance"]["started_at"],
            "ended_at": data["guidance"]["ended_at"],
            "profession": outcome.guidance.worker.profession.value,
            "summaries": [
                name
                for name in ("summary", "social_care_summary", "health_care_summary")
                if getattr(outcome.guidance, name)
            ],
        },
        "results": [_result_facts(result) for result in data["results"]],
        "consents": [
            {
                "form": c["form"],
                "parties": c["parties"],
                "data_categories": c["data_categories"],
                "valid_until": c["valid_until"],
                "given_by_guardian": c["given_by_guardian"],
                "form_reference": c["form_reference"] is not None,
            }
            for c in data["consents"]
        ],
        "led_to_client_relationship": outcome.led_to_client_relationship,
    }


def _result_facts(result: dict[str, Any]) -> dict[str, Any]:
    kind = result["kind"]
    facts = {"kind": kind, **{key: result.get(key) for key in KEPT.get(kind, ())}}
    facts["given"] = [key for key in FLAGGED.get(kind, ()) if result.get(key) is not None]
    return facts


def outcome_from_facts(facts: dict[str, Any], *, outcome_id: str = "dry-run") -> OutcomeV1:
    """A plannable outcome with ``facts``' codes and placeholder personal values."""
    contact = facts["contact"]
    received = datetime.fromisoformat(contact["received_at"])
    day = received.astimezone(_finnish()).date()
    client_facts = facts["client"]
    given = set(client_facts["given"])
    aged = client_facts.get("aged_75_or_over")
    born = _birth_for(day, aged) if aged is not None else None
    client: dict[str, Any] = {"anonymous": client_facts["anonymous"]}
    if "hetu" in given and born is not None:
        client["hetu"] = synthetic_hetu(born)
    if "given_names" in given:
        client["given_names"] = PLACEHOLDER_NAMES[0]
    if "family_name" in given:
        client["family_name"] = PLACEHOLDER_NAMES[1]
    if "birth_date" in given and born is not None:
        client["birth_date"] = born.isoformat()
    if "phone" in given:
        client["phone"] = PLACEHOLDER_PHONE
    for key in ("municipality", "language"):
        if client_facts.get(key) is not None:
            client[key] = client_facts[key]
    if client_facts.get("guardian") is not None:
        client["guardian"] = {
            "given_names": PLACEHOLDER_NAMES[0],
            "family_name": PLACEHOLDER_NAMES[1],
            **({"hetu": synthetic_hetu(_birth_for(day, False))} if client_facts["guardian"]["hetu"] else {}),
        }
    authority = None
    if contact.get("authority_kind") is not None:
        authority = {"kind": contact["authority_kind"]}
        if contact.get("authority_named"):
            authority["organisation"] = PLACEHOLDER_TEXT
    guidance = facts["guidance"]
    body = {
        "source": {"system": "dry-run", "outcome_id": outcome_id},
        "unit": facts["unit"],
        "contact": {
            "received_at": contact["received_at"],
            "channel": contact["channel"],
            "contacted_by": contact["contacted_by"],
            **({"authority": authority} if authority else {}),
        },
        "client": client,
        "reasons": facts["reasons"],
        "guidance": {
            "started_at": guidance["started_at"],
            "ended_at": guidance["ended_at"],
            "worker": {"id": PLACEHOLDER_WORKER, "profession": guidance["profession"]},
            **dict.fromkeys(guidance["summaries"], PLACEHOLDER_TEXT),
        },
        "results": [_result_body(result, day) for result in facts["results"]],
        "consents": [
            {
                "form": c["form"],
                "parties": c["parties"],
                "data_categories": c["data_categories"],
                "purpose": PLACEHOLDER_TEXT,
                "given_by_guardian": c["given_by_guardian"],
                **({"valid_until": c["valid_until"]} if c["valid_until"] else {}),
                **({"form_reference": "DRY-RUN"} if c["form_reference"] else {}),
            }
            for c in facts["consents"]
        ],
        "led_to_client_relationship": facts["led_to_client_relationship"],
    }
    return OutcomeV1.model_validate(body)


def _result_body(facts: dict[str, Any], day: date) -> dict[str, Any]:
    kind = facts["kind"]
    body = {key: value for key, value in facts.items() if key != "given" and value is not None}
    body.update({key: PLACEHOLDERS[key] for key in facts.get("given", ())})
    if kind == "child_welfare_notice":
        body["child"] = {
            "hetu": synthetic_hetu(_years_before(day, 10)),
            "given_names": PLACEHOLDER_NAMES[0],
            "family_name": PLACEHOLDER_NAMES[1],
        }
        body["concern"] = PLACEHOLDER_TEXT
    elif kind == "third_sector_referral":
        body["organisation"] = PLACEHOLDER_TEXT
    return body


def synthetic_hetu(born: date) -> str:
    """A valid temporary (test) hetu of a birth date: individual number 900, never a real person's."""
    sign = {18: "+", 19: "-", 20: "A"}[born.year // 100]
    digits = f"{born:%d%m}{born.year % 100:02d}"
    individual = "900"
    return f"{digits}{sign}{individual}{CHECK_CHARACTERS[int(digits + individual) % 31]}"


def _birth_for(day: date, aged_75_or_over: bool | None) -> date:
    # Well inside the group or well outside it: a placeholder must not sit on the birthday boundary.
    return _years_before(day, 80 if aged_75_or_over else 40)


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=28 if (day.month, day.day) == (2, 29) else day.day)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _finnish() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Helsinki")
