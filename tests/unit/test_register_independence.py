"""What a register receives never depends on whether another register is also involved.

The register table (THL 3.2.4) as a generated table of outcomes for one client: every combination
of a social care initiation, guidance about a pending matter, a child welfare notice, a health care
hand-over, a direct booking and a Kela booking request, an initiation also as an authority's
contact with and without the person's consent, advice only, and anonymous guidance. Then:

* every ordered pair (revision 1, revision 2) of the table is a correction: an action whose own
  inputs are the same in both is ``unchanged``, one whose inputs differ is ``changed``, and actions
  come and go as ``new`` and ``removed``;
* every outcome's actions for one register equal the actions of the same outcome with only that
  register's results.

Both run twice: with one generic summary, and with register-specific summaries beside it. The
table has 129 rows (128 for the identified client), so 2 × (128² + 1) = 32 770 ordered pairs.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.fingerprints import Fingerprinter
from gateway.mappings import MappingSet, load_mappings
from gateway.outbox.corrections import Previous, diff
from gateway.plan import Action, Plan
from gateway.plan.rules import plan_outcome

CLIENT = {
    "hetu": "210179-967X",
    "given_names": "Jari Tapani",
    "family_name": "Testaaja",
    "municipality": "179",
    "language": "fi",
    "phone": "+358401234572",
}
ANONYMOUS = {"anonymous": True}
GUIDANCE = {
    "started_at": "2026-11-23T09:05:00+02:00",
    "ended_at": "2026-11-23T09:25:00+02:00",
    "worker": {"id": "T-1042", "profession": "social_instructor"},
}
SUMMARIES = {
    "generic-summary": {"summary": "Asiakkaan tilanne käytiin läpi."},
    "register-summaries": {
        "summary": "Asiakkaan tilanne käytiin läpi.",
        "social_care_summary": "Vuokrarästejä; hakee toimeentulotukea.",
        "health_care_summary": "Mieliala laskenut, unettomuutta.",
    },
}
CONTACTS = {
    "client": {"received_at": "2026-11-23T09:05:00+02:00", "channel": "phone", "contacted_by": "client"},
    "authority": {
        "received_at": "2026-11-23T09:05:00+02:00",
        "channel": "phone",
        "contacted_by": "authority",
        "authority": {"kind": "police", "organisation": "Sisä-Suomen poliisilaitos"},
    },
    "professional": {
        "received_at": "2026-11-23T09:05:00+02:00",
        "channel": "phone",
        "contacted_by": "professional",
        "authority": {"kind": "health_care", "organisation": "Keskustan terveysasema"},
    },
}

# The results the table combines, each the same in every row it appears in.
RESULTS: dict[str, dict[str, Any]] = {
    "initiation": {
        "kind": "social_care_initiation",
        "service_area": "AIKUISSOSTYO",
        "urgency": "non_urgent",
        "reasons": ["TALOUS"],
        "description": "Toimeentulo-ongelmat, vuokrarästejä.",
        "highest_care_allowance": True,
    },
    "pending": {
        "kind": "pending_social_care_matter",
        "service_area": "IKAANTYNEET",
        "matter_reference": "SOS-2026-0042",
        "note": "Kysyi omaishoidon tuen päätöksen aikataulua.",
    },
    "notice": {
        "kind": "child_welfare_notice",
        "child": {"hetu": "070819A925P", "given_names": "Eetu", "family_name": "Testaaja"},
        "reporter_type": "private_person",
        "concern": "Lapsi usein yksin kotona.",
        "urgent": True,
    },
    "handover": {
        "kind": "health_care_handover",
        "receiving": "MIELENTERVEYS-AVO",
        "urgency": "non_urgent",
        "note": "Mieliala laskenut syksyn aikana.",
    },
    "booking": {
        "kind": "direct_health_care_booking",
        "unit": "TA-KESKUSTA",
        "starts_at": "2026-11-26T13:00:00+02:00",
        "ends_at": "2026-11-26T13:30:00+02:00",
        "service_type": "Sairaanhoitajan vastaanotto",
    },
    "kela": {
        "kind": "kela_booking_request",
        "topic": "KELA-TYOTTOMYYS",
        "window": {"earliest": "2026-11-24", "latest": "2026-11-27"},
    },
}
REGISTERS = {"kanta": {"initiation", "pending", "notice"}, "lifecare": {"handover", "booking"}, "kela": {"kela"}}


@dataclass(frozen=True, slots=True)
class Row:
    """One outcome of the table: who made the contact and which results it reports."""

    name: str
    contact: str
    parts: frozenset[str]
    anonymous: bool = False

    def body(self, summaries: str, *, only: set[str] | None = None) -> dict[str, Any]:
        parts = sorted(self.parts if only is None else self.parts & only)
        results = [copy.deepcopy(RESULTS[p]) for p in parts]
        for result in results:
            if result["kind"] == "social_care_initiation":
                result["made_with_consent"] = self.contact != "professional"
        if not results:
            results = [{"kind": "advice_only"}]
        return {
            "source": {"system": "test-crm", "outcome_id": "TABLE-1", "revision": 1},
            "unit": "ASOHJ-KESKITETTY",
            "contact": copy.deepcopy(CONTACTS[self.contact]),
            "client": dict(ANONYMOUS if self.anonymous else CLIENT),
            "reasons": {"main": "TALOUS", "additional": ["MIELI"]},
            "guidance": {**GUIDANCE, **({} if self.anonymous else SUMMARIES[summaries])},
            "results": results,
        }


def register_table() -> list[Row]:
    rows = [Row("anonymous", "client", frozenset(), anonymous=True), Row("advice-only", "client", frozenset())]
    for size in range(1, len(RESULTS) + 1):
        for parts in itertools.combinations(sorted(RESULTS), size):
            contacts = ["client", "authority", "professional"] if "initiation" in parts else ["client"]
            for contact in contacts:
                rows.append(Row(f"{contact}:{'+'.join(parts)}", contact, frozenset(parts)))
    return rows


TABLE = register_table()
FINGERPRINTS = Fingerprinter(b"register-table")


@cache
def _mappings() -> MappingSet:
    return load_mappings()


@cache
def planned(row: Row, summaries: str, only: frozenset[str] | None = None) -> Plan:
    body = row.body(summaries, only=set(only) if only is not None else None)
    return plan_outcome(OutcomeV1.model_validate(body), _mappings())


@cache
def digests(row: Row, summaries: str) -> dict[str, str]:
    return {a.key: FINGERPRINTS.of(a.payload) for a in planned(row, summaries).actions}


def own_inputs(row: Row, key: str) -> object:
    """What an action is made of. The patient record: the row's health care results. An authority's
    document (contact or notice of need): the initiation and who made the contact. Every other action:
    the one result it records, the same in every row (whether an authority's contact had the person's
    consent decides which authority document is written, not what the initiation record says)."""
    if key == "lifecare:patient-record":
        return row.parts & REGISTERS["lifecare"]
    if key.startswith(("kanta:authority-contact:", "kanta:need-notice:")):
        return row.contact
    return key


def expected_change(r1: Row, r2: Row, key: str, keys1: set[str], keys2: set[str]) -> str:
    if key not in keys1:
        return "new"
    if key not in keys2:
        return "removed"
    return "unchanged" if own_inputs(r1, key) == own_inputs(r2, key) else "changed"


def test_the_table_covers_every_row_of_the_register_table() -> None:
    names = {row.name for row in TABLE}
    for row in (
        "anonymous",
        "advice-only",
        "client:initiation",
        "authority:initiation",
        "professional:initiation",
        "client:pending",
        "client:notice",
        "client:handover",
        "client:booking",
        "client:kela",
        "client:handover+initiation",
        "client:booking+handover+initiation+kela+notice+pending",
    ):
        assert row in names
    assert len(TABLE) == 2 + (2**6 - 1) + 2 * 2**5


@pytest.mark.parametrize("summaries", list(SUMMARIES))
@pytest.mark.parametrize("r1", TABLE, ids=lambda row: row.name)
def test_a_correction_to_any_row_changes_only_the_actions_whose_own_inputs_changed(r1: Row, summaries: str) -> None:
    first = planned(r1, summaries)
    previous = {
        a.key: Previous(f"r1-{a.key}", a.key, FINGERPRINTS.of(a.payload), "delivered", 1, None) for a in first.actions
    }
    wrong = []
    for r2 in TABLE:
        if r2.anonymous != r1.anonymous:
            continue  # a correction is about the same client
        second = planned(r2, summaries)
        keys1, keys2 = set(previous), {a.key for a in second.actions}
        for step in diff(second.actions, previous, digests(r2, summaries)):
            expected = expected_change(r1, r2, step.key, keys1, keys2)
            if step.change != expected:
                wrong.append(f"{r1.name} -> {r2.name}: {step.key} {step.change}, expected {expected}")
    assert wrong == []


@pytest.mark.parametrize("summaries", list(SUMMARIES))
@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.name)
def test_each_registers_actions_are_those_of_its_own_results_alone(row: Row, summaries: str) -> None:
    whole = planned(row, summaries)
    for backend, kinds in REGISTERS.items():
        mine: list[Action] = [a for a in whole.actions if a.backend == backend]
        if not row.parts & kinds:
            assert mine == []
            continue
        alone = planned(row, summaries, frozenset(kinds))
        assert mine == [a for a in alone.actions if a.backend == backend], backend
