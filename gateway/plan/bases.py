"""Every register rule of the planner, with the law or guidance behind it: the one table.

Each action and each rule hit of a plan takes its legal basis from here (``basis``), and so do
the actions made outside an outcome: a consent registered or revoked through the consent API, a
booking made through the booking API. A test plans every shipped example and checks that every
rule id it meets is in this table and carries exactly this basis.

Rule ids are stable: they are stored with each delivery (``deliveries.rule``) and shown to
operators and auditors, so a rule is renamed only with a migration of the stored ids.
"""

from __future__ import annotations

from dataclasses import dataclass

THL_324 = "THL: Kirjaaminen monialaisessa yhteistyössä (2022), 3.2.4"


@dataclass(frozen=True, slots=True)
class RegisterRule:
    """One row of the table: what the rule decides (in English) and its legal basis (in Finnish, as the law reads)."""

    decides: str
    legal_basis: str


RULES: dict[str, RegisterRule] = {
    "anonymous": RegisterRule(
        "Anonymous guidance becomes anonymous statistics only.",
        f"{THL_324}: nimettömästä asiakasohjauksesta ei tallenneta henkilötietoja",
    ),
    "advice-only": RegisterRule(
        "Advice alone, nothing initiated or booked, becomes anonymous statistics only.",
        f"Sosiaalihuoltolaki 1301/2014 2 luku (neuvonta ja ohjaus ei ole sosiaalipalvelua); {THL_324}",
    ),
    "third-sector-referral": RegisterRule(
        "A referral to a third-sector service becomes anonymous statistics only.",
        f"{THL_324}: ohjaus ilman vireilletuloa tai ajanvarausta",
    ),
    "social-care-initiation": RegisterRule(
        "A social care matter initiated (vireilletulo): a record of initiation and a guidance record in Kanta.",
        f"Sosiaalihuoltolaki 1301/2014 34 § ja 36 §; {THL_324}",
    ),
    "authority-contact": RegisterRule(
        "An authority or professional contacted social care with the person's consent: a record of the contact.",
        "Sosiaalihuoltolaki 1301/2014 35 § (yhteydenotto asiakkaan suostumuksella)",
    ),
    "need-notice": RegisterRule(
        "A professional reported a need for social care without the person's consent: a notice.",
        "Sosiaalihuoltolaki 1301/2014 35 § (ilmoitus ilman suostumusta) ja 48 §",
    ),
    "pending-social-care-matter": RegisterRule(
        "Guidance about a pending social care matter: a guidance record in Kanta.",
        f"{THL_324}: ohjaus liittyy vireillä olevaan sosiaalihuollon asiaan",
    ),
    "child-welfare-notice": RegisterRule(
        "A child welfare notice (lastensuojeluilmoitus): recorded in child welfare; its deadlines start.",
        "Lastensuojelulaki 417/2007 25 § ja 26 §",
    ),
    "patient-register": RegisterRule(
        "A hand-over to health care or a direct booking: one FHIR transaction in the patient register.",
        f"Laki potilaan asemasta ja oikeuksista 785/1992 12 §; STM:n asetus 94/2022; {THL_324}",
    ),
    "both-registers": RegisterRule(
        "An outcome touching both registers: each receives only its own data.",
        "Laki sosiaali- ja terveydenhuollon asiakastietojen käsittelystä 703/2023: "
        "sosiaalihuollon asiakasrekisteri ja potilasrekisteri ovat erilliset",
    ),
    "kela-booking": RegisterRule(
        "A Kela phone appointment booked for the client, under the client's consent.",
        "Asiakkaan suostumus (Kela Y100 tai suullinen, yhteen asiointiin); "
        "Laki sosiaali- ja terveydenhuollon asiakastietojen käsittelystä 703/2023",
    ),
    "kela-consent": RegisterRule(
        "A durable consent naming Kela is registered with Kela (and its revocation told to Kela).",
        "Kela Y100: suostumus henkilötietojen vaihtoon ja käsittelyyn (Kelan on saatava suostumus itse)",
    ),
    "health-consent": RegisterRule(
        "A consent covering health data is recorded as a FHIR Consent in the patient register (inactive when revoked).",
        "Laki sosiaali- ja terveydenhuollon asiakastietojen käsittelystä 703/2023; "
        "EU:n tietosuoja-asetus 9 art. (terveystiedot erityisenä henkilötietoryhmänä)",
    ),
}


def basis(rule: str) -> str:
    """The legal basis of ``rule``; a KeyError names a rule missing from the table (a programming error)."""
    return RULES[rule].legal_basis
