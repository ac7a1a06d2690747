"""The THL document structures (Sosmeta asiakirjarakenteet) this adapter writes, and the code systems it uses.

One entry per ``payload["document"]`` value that ``gateway.plan.rules`` produces. The OID names the
structure *and* its version (``…19001.2023.10.30`` = version of 30.10.2023); the JSON Schema of
that version ships in ``schemas/sosmeta/<oid>.json`` and decides the field names.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import RenderError


@dataclass(frozen=True, slots=True)
class Structure:
    """One Sosmeta structure: its OID (with version), the JSON root property and its Finnish title."""

    document: str
    oid: str
    root: str
    title: str


STRUCTURES: dict[str, Structure] = {
    s.document: s
    for s in (
        Structure(
            "initiation",
            "1.2.246.537.6.1506.19001.2023.10.30",
            "merkinta_asian_vireilletulosta",
            "Merkintä asian vireilletulosta",
        ),
        Structure(
            "guidance_record",
            "1.2.246.537.6.1506.19003.2022.1.10",
            "merkinta_ohjauksesta_ja_neuvonnasta",
            "Merkintä ohjauksesta ja neuvonnasta",
        ),
        Structure(
            "authority_contact",
            "1.2.246.537.6.1506.4018.2022.9.28",
            "yhteydenotto_sosiaalihuollosta_vastaavaan_viranomaiseen",
            "Yhteydenotto sosiaalihuollosta vastaavaan viranomaiseen",
        ),
        Structure(
            "need_notice",
            "1.2.246.537.6.1506.4006.2023.5.31",
            "ilmoitus_sosiaalihuollon_tarpeesta",
            "Ilmoitus sosiaalihuollon tarpeesta",
        ),
        Structure(
            "child_welfare_notice",
            "1.2.246.537.6.1506.4009.2023.4.28",
            "lastensuojeluilmoitus",
            "Lastensuojeluilmoitus",
        ),
    )
}
BY_OID: dict[str, Structure] = {s.oid: s for s in STRUCTURES.values()}


def structure_for(document: object) -> Structure:
    """The structure for a payload's ``document`` value; :class:`RenderError` for anything else."""
    if not isinstance(document, str) or document not in STRUCTURES:
        known = ", ".join(sorted(STRUCTURES))
        raise RenderError(f"payload.document {document!r} is not a social care document this adapter writes ({known})")
    return STRUCTURES[document]


# -- code systems (OIDs, without the ``urn:oid:`` prefix the Sosmeta JSON uses) ---------------------

HETU = "1.2.246.21"  # henkilötunnus
SERVICE_TASK = "1.2.246.537.6.1221"  # Sosiaalihuolto - Palvelutehtävä
SOCIAL_SERVICE = "1.2.246.537.6.1222"  # Sosiaalihuolto - Sosiaalipalvelut (no mapping yet: not written)
SUPPORT_NEED = "1.2.246.537.6.1282"  # Sosiaalihuolto - Tuen tarve
CHANNEL = "1.2.246.537.6.1250"  # Sosiaalihuolto - Asiointitapa
SOTE_ORGANISATION = "1.2.246.537.6.202"  # THL - SOTE-organisaatiorekisteri
REGISTER_TYPE = "1.2.246.537.6.1264"  # rekisterityyppi: code 1 = sosiaalihuollon asiakasrekisteri
# Kanta's own code systems, as the reference messages and documents carry them (published).
CONFIDENTIALITY = "1.2.246.777.5.99902.2006"  # KanTa-palvelut - Asiakirjan luottamuksellisuus
FILE_FORMAT = "1.2.246.537.5.40179.2008"  # eArkisto - Asiakirjan tiedostomuoto
RECORD_STATUS = "1.2.246.537.5.40154.2008"  # eArkisto - Asiakirjan valmistumisen tila
CUSTODIAN_TYPE = "1.2.246.537.5.40172.2008"  # eArkisto - Rekisteripitäjän laji
SIGNATURE_TYPE = "1.2.246.537.5.40127.2006"  # KanTa-palvelut - Sähköisen allekirjoituksen tyyppi
SERVICE_REQUEST = "1.2.246.537.5.40157.2008"  # eArkisto - Arkistosanomien palvelupyynnöt
COMPLETION = "1.2.246.537.5.40115.2006"  # KanTa-palvelut - Dokumentin valmiusaste
STORAGE = "1.2.246.537.5.40116.2006"  # KanTa-palvelut - Dokumentin arkistointikoodi (DocumentStorage)
REPLACEMENT_REASON = "1.2.246.537.5.40178.2008"  # eArkisto - Asiakirjan korvauksen syy
HL7_TRIGGER_EVENT = "2.16.840.1.113883.1.18"  # HL7 trigger event ids
ACT_PRIORITY = "2.16.840.1.113883.5.7"  # HL7 ActPriority
HL7_INTERACTION = "2.16.840.1.113883.1.6"  # HL7 interaction ids
CDA_TYPE_ID = "2.16.840.1.113883.1.3"  # HL7 registered models (typeId of a CDA R2 document)

SOCIAL_CARE_REGISTER = ("1", "Sosiaalihuollon asiakasrekisteri")
# Social care client documents are confidential by law (laki sosiaalihuollon asiakkaan asemasta ja
# oikeuksista 812/2000 14 §). The code system is Kanta's (published: the reference documents carry
# it, with code 5 "Terveydenhuollon salassapidettävä" for health care); the code for a social care
# document is MODELLED: 3 "Salassa pidettävä", because the health care code cannot apply to the
# social care register and the social welfare archive's own value list is not public here.
RESTRICTED = ("3", "Salassa pidettävä")
# Finnish local header values (published codes, as the references carry them).
FILE_FORMAT_CDA = ("1", "CDA R2")
RECORD_READY = ("3", "Arkistointivalmis")
# MODELLED: a wellbeing services county is a public register keeper; a mapping would say otherwise.
CUSTODIAN_PUBLIC = ("1", "Julkinen")
SYSTEM_SIGNATURE = ("3", "Järjestelmäallekirjoitus / perusjärjestelmä")
ARCHIVE_OWN_DOCUMENTS = ("PP1", "Arkistoi palvelujen antajan omia asiakirjoja")
LEGALLY_AUTHENTICATED = ("LA", "Legally authenticated")
STORAGE_ACTIVE = ("AC", "Active")
CORRECTION = ("1", "Korjaus")

CODE_SYSTEM_NAMES: dict[str, str] = {
    HETU: "Henkilötunnus",
    SERVICE_TASK: "Sosiaalihuolto - Palvelutehtävä",
    SOCIAL_SERVICE: "Sosiaalihuolto - Sosiaalipalvelut",
    SUPPORT_NEED: "Sosiaalihuolto - Tuen tarve",
    CHANNEL: "Sosiaalihuolto - Asiointitapa",
    SOTE_ORGANISATION: "THL - SOTE-organisaatiorekisteri",
    REGISTER_TYPE: "Rekisterityyppi",
    CONFIDENTIALITY: "KanTa-palvelut - Asiakirjan luottamuksellisuus 2008",
    FILE_FORMAT: "eArkisto - Asiakirjan tiedostomuoto 2008",
    RECORD_STATUS: "eArkisto - Asiakirjan valmistumisen tila 2008",
    CUSTODIAN_TYPE: "eArkisto - Rekisteripitäjän laji 2008",
    SIGNATURE_TYPE: "KanTa-palvelut - Sähköisen allekirjoituksen tyyppi",
    SERVICE_REQUEST: "eArkisto - Arkistosanomien palvelupyynnöt 2008",
    COMPLETION: "KanTa-palvelut - Dokumentin valmiusaste 2006",
    STORAGE: "KanTa-palvelut - Dokumentin arkistointikoodi (DocumentStorage) 2006",
    REPLACEMENT_REASON: "eArkisto - Asiakirjan korvauksen syy 2008",
    ACT_PRIORITY: "HL7 ActPriority",
}


def urn(oid: str) -> str:
    return f"urn:oid:{oid}"


def bare_oid(system: str) -> str:
    """``1.2.3`` from ``urn:oid:1.2.3`` (and ``1.2.3`` unchanged)."""
    return system.removeprefix("urn:oid:")
