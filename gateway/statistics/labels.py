"""Finnish displays of the statistics' codes, from the active mappings (``statistics.yaml`` and the others). Pure.

A code the mappings no longer know (an old unit, a retired reason) is shown as the code itself:
statistics span mapping versions, and a figure must not vanish because its display did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.contract.vocabulary import Channel
from gateway.mappings import MappingSet
from gateway.statistics.aggregate import ALL_UNITS, WHOLE_RANGE
from gateway.statistics.tally import DURATION_BINS, NO, NO_AUTHORITY, YES

NO_AUTHORITY_NAME = "Ei viranomaisen yhteydenotto"
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
    displays = mappings.statistics.displays
    channels = {str(code): code.value for code in Channel} | {
        code: channel.display for code, channel in mappings.channels.items()
    }
    return Labels(
        by_dimension={
            "main_reason": reasons,
            "additional_reasons": reasons,
            "contacted_by": dict(displays.get("contacted_by", {})),
            "authority_kind": {**displays.get("authority_kind", {}), NO_AUTHORITY: NO_AUTHORITY_NAME},
            "channel": channels,
            "ended_how": dict(displays.get("ended_how", {})),
            "duration": dict(DURATION),
            "client_relationship": dict(YES_NO),
            "anonymous": dict(YES_NO),
        },
        unit_names={code: unit.name for code, unit in mappings.units.items()},
    )
