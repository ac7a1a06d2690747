"""Finnish displays of the statistics' codes: reasons, channels and units from the active mappings, the rest here. Pure.

A code the mappings no longer know (an old unit, a retired reason) is shown as the code itself:
statistics span mapping versions, and a figure must not vanish because its display did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.contract.vocabulary import AuthorityKind, Channel, ContactedBy
from gateway.mappings import MappingSet
from gateway.statistics.aggregate import ALL_UNITS, WHOLE_RANGE
from gateway.statistics.tally import DURATION_BINS, NO, NO_AUTHORITY, YES

CONTACTED_BY: Mapping[str, str] = {
    ContactedBy.CLIENT: "Asiakas itse",
    ContactedBy.RELATIVE: "Omainen tai läheinen",
    ContactedBy.AUTHORITY: "Viranomainen",
    ContactedBy.PROFESSIONAL: "Ammattilainen",
    ContactedBy.ANONYMOUS: "Anonyymi yhteydenottaja",
}
AUTHORITY_KIND: Mapping[str, str] = {
    AuthorityKind.SCHOOL: "Koulu",
    AuthorityKind.EARLY_CHILDHOOD_EDUCATION: "Varhaiskasvatus",
    AuthorityKind.POLICE: "Poliisi",
    AuthorityKind.KELA: "Kela",
    AuthorityKind.HEALTH_CARE: "Terveydenhuolto",
    AuthorityKind.SOCIAL_CARE: "Sosiaalihuolto",
    AuthorityKind.EMPLOYMENT_SERVICES: "Työllisyyspalvelut",
    AuthorityKind.EMERGENCY_SERVICES: "Pelastus- ja ensihoitopalvelut",
    AuthorityKind.OTHER: "Muu viranomainen",
    NO_AUTHORITY: "Ei viranomaisen yhteydenotto",
}
# The codes gateway.plan.statistics.build_statistics writes into ended_how.
ENDED_HOW: Mapping[str, str] = {
    "advice_sufficient": "Neuvonta riitti",
    "handed_to_pta": "Siirretty palvelutarpeen arviointiin",
    "handed_to_hta": "Siirretty hoidon tarpeen arviointiin",
    "message_to_receiving_service": "Viesti vastaanottavalle palvelulle",
    "direct_booking": "Suora ajanvaraus",
    "child_welfare_notice": "Lastensuojeluilmoitus",
    "kela": "Ohjattu Kelaan",
    "third_sector": "Ohjattu järjestöön",
    "referred_with_contact_made": "Ohjattu eteenpäin, yhteys otettu",
}
YES_NO: Mapping[str, str] = {YES: "Kyllä", NO: "Ei"}
DURATION: Mapping[str, str] = {label: f"{label} min" for _, label in DURATION_BINS}
ALL_UNITS_NAME = "Kaikki yksiköt"
WHOLE_RANGE_NAME = "Yhteensä"


@dataclass(frozen=True, slots=True)
class Labels:
    """Displays by dimension and code, and unit names."""

    by_dimension: Mapping[str, Mapping[str, str]]
    unit_names: Mapping[str, str]

    def label(self, dimension: str, code: str) -> str:
        return self.by_dimension.get(dimension, {}).get(code, code)

    def unit(self, code: str) -> str:
        return ALL_UNITS_NAME if code == ALL_UNITS else self.unit_names.get(code, code)

    def known(self) -> dict[str, tuple[str, ...]]:
        """The categories every report lists, with zeros when nothing happened (reasons only when they occur)."""
        return {key: tuple(labels) for key, labels in self.by_dimension.items() if key not in REASON_DIMENSIONS}


REASON_DIMENSIONS = frozenset({"main_reason", "additional_reasons"})


def period_name(period: str) -> str:
    return WHOLE_RANGE_NAME if period == WHOLE_RANGE else period


def labels_for(mappings: MappingSet) -> Labels:
    reasons = {code: reason.display for code, reason in mappings.reasons.items()}
    channels = {str(code): code.value for code in Channel} | {
        code: channel.display for code, channel in mappings.channels.items()
    }
    return Labels(
        by_dimension={
            "main_reason": reasons,
            "additional_reasons": reasons,
            "contacted_by": dict(CONTACTED_BY),
            "authority_kind": dict(AUTHORITY_KIND),
            "channel": channels,
            "ended_how": dict(ENDED_HOW),
            "duration": dict(DURATION),
            "client_relationship": dict(YES_NO),
            "anonymous": dict(YES_NO),
        },
        unit_names={code: unit.name for code, unit in mappings.units.items()},
    )
