"""Which statutory family each deadline rule belongs to, and the law that family names. Pure.

A rule's id starts with its family (``shl-36-needs-assessment`` is SHL 36 §), so a new dated
version of a rule in the mappings joins its family without an edit here. A rule no family claims
is shown as a family of its own, under its own id: a deadline is never hidden because this table
does not know its rule yet.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Family:
    key: str
    label: str
    legal_basis: str


# By rule id prefix. The legal basis is the section the family stands for; each deadline also
# carries its own rule's exact basis (moment, version in force) from the mappings.
FAMILIES: tuple[tuple[str, Family], ...] = (
    (
        "shl-36",
        Family("shl-36", "SHL 36 §", "Sosiaalihuoltolaki 1301/2014 36 § (palvelutarpeen arviointi)"),
    ),
    (
        "lsl-26",
        Family("lsl-26", "LSL 26 §", "Lastensuojelulaki 417/2007 26 § (lastensuojeluasian vireilletulo)"),
    ),
    (
        "thl-51",
        Family("thl-51", "THL 51 §", "Terveydenhuoltolaki 1326/2010 51 § (hoidon tarpeen arviointi)"),
    ),
    (
        "service-promise",
        Family(
            "service-promise",
            "Palvelulupaus",
            "Hyvinvointialueen palvelulupaus (sosiaali- ja terveydenhuollon järjestämislaki 612/2021 6 §)",
        ),
    ),
)
KNOWN: tuple[str, ...] = tuple(family.key for _, family in FAMILIES)


def family_of(rule_id: str) -> Family:
    """The family of a rule: the first prefix that matches at a word boundary, else the rule on its own."""
    for prefix, family in FAMILIES:
        if rule_id == prefix or rule_id.startswith(prefix + "-"):
            return family
    return Family(rule_id, rule_id, "")


def rules_of(family: str, rule_ids: list[str]) -> list[str]:
    """Those of ``rule_ids`` that belong to ``family``."""
    return [rule_id for rule_id in rule_ids if family_of(rule_id).key == family]
