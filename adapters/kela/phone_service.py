"""Kela's phone service as the simulator models it: topics, languages, opening hours, free slots.

MODELLED, NOT KELA'S: Kela books phone appointments (puhelinajat) in a web application with no
public interface, so the topic codes, the hours and which slots are free are ours. The topics are
data in the mapping set (``mappings/default/kela.yaml``), which the gateway and this simulator
both read. What follows
the real world is the calendar: appointments only on Finnish working days (no Saturdays, Sundays
or public holidays, Midsummer Eve and Christmas Eve included; ``gateway.deadlines``), and only
inside the phone service's hours in Finnish time.

Free slots are generated deterministically from (topic, language, municipality, start), so the
same question always gets the same answer and tests can rely on it; bookings then take slots out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.deadlines import working_days_between

HELSINKI = ZoneInfo("Europe/Helsinki")

LANGUAGES: dict[str, int] = {
    # The phone service's languages, and out of 256 how many slots are free in each (modelled).
    "fi": 128,
    "sv": 64,
    "en": 48,
}

OPENS = time(9, 0)
CLOSES = time(16, 0)
SLOT_MINUTES = 30
INTERPRETER_STARTS = frozenset({time(10, 0), time(11, 0), time(13, 0), time(14, 0)})
"""An interpreter joins only at these starts (modelled: interpreters are booked by the hour)."""
NATIONWIDE = "000"
"""Slot-id municipality part when the request names none: the national queue."""
MAX_WINDOW_DAYS = 92


@dataclass(frozen=True, slots=True)
class PhoneSlot:
    slot_id: str
    start: datetime
    end: datetime
    topic: str
    language: str
    municipality: str | None
    interpreter_available: bool


def slot_id(topic: str, language: str, municipality: str | None, start: datetime) -> str:
    local = start.astimezone(HELSINKI)
    return f"{topic}.{language}.{municipality or NATIONWIDE}.{local:%Y%m%dT%H%M}"


def _starts(day: date) -> list[datetime]:
    starts = []
    moment = datetime.combine(day, OPENS, HELSINKI)
    closing = datetime.combine(day, CLOSES, HELSINKI)
    while moment + timedelta(minutes=SLOT_MINUTES) <= closing:
        starts.append(moment)
        moment += timedelta(minutes=SLOT_MINUTES)
    return starts


def _is_free(topic: str, language: str, municipality: str | None, start: datetime) -> bool:
    digest = hashlib.sha256(slot_id(topic, language, municipality, start).encode()).digest()
    return digest[0] < LANGUAGES.get(language, 0)


def _slot(topic: str, language: str, municipality: str | None, start: datetime) -> PhoneSlot:
    return PhoneSlot(
        slot_id=slot_id(topic, language, municipality, start),
        start=start,
        end=start + timedelta(minutes=SLOT_MINUTES),
        topic=topic,
        language=language,
        municipality=municipality,
        interpreter_available=start.time() in INTERPRETER_STARTS,
    )


def free_slots(
    topic: str,
    language: str,
    municipality: str | None,
    earliest: date,
    latest: date,
    *,
    interpreter: bool = False,
    not_before: datetime | None = None,
) -> list[PhoneSlot]:
    """The phone service's free slots in ``[earliest, latest]`` (Finnish dates), earliest first.

    Only working days, only within opening hours, only after ``not_before``; with ``interpreter``
    only the starts an interpreter can join. Slots already booked are the simulator's business.
    """
    slots = []
    for day in working_days_between(earliest, latest):
        for start in _starts(day):
            if not_before is not None and start <= not_before:
                continue
            if not _is_free(topic, language, municipality, start):
                continue
            slot = _slot(topic, language, municipality, start)
            if interpreter and not slot.interpreter_available:
                continue
            slots.append(slot)
    return slots


def offered_slot(
    identifier: str, *, topic: str, language: str, municipality: str | None, interpreter: bool
) -> PhoneSlot | None:
    """The slot ``identifier`` names, if the phone service offers it for this request; else None."""
    try:
        slot_topic, slot_language, slot_municipality, stamp = identifier.split(".")
        local = datetime.strptime(stamp, "%Y%m%dT%H%M")  # Finnish local time
    except ValueError:
        return None
    if (slot_topic, slot_language, slot_municipality) != (topic, language, municipality or NATIONWIDE):
        return None
    start = local.replace(tzinfo=HELSINKI)
    day = start.date()
    candidates = free_slots(topic, language, municipality, day, day, interpreter=interpreter)
    return next((s for s in candidates if s.start == start), None)


def utcnow() -> datetime:
    return datetime.now(UTC)
