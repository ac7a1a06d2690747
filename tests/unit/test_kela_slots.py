"""The modelled phone service's slots follow the Finnish working-day calendar and the service hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from adapters.kela.phone_service import (
    CLOSES,
    HELSINKI,
    INTERPRETER_STARTS,
    OPENS,
    PhoneSlot,
    free_slots,
    offered_slot,
)
from gateway.mappings import MappingSet

TOPIC, LANGUAGE, MUNICIPALITY = "KELA-ASUMISTUKI", "fi", "179"


def slots_on(first: date, last: date | None = None) -> list[PhoneSlot]:
    return free_slots(TOPIC, LANGUAGE, MUNICIPALITY, first, last or first)


def test_no_slots_on_christmas_eve_christmas_or_boxing_day() -> None:
    assert slots_on(date(2026, 12, 24), date(2026, 12, 26)) == []


def test_no_slots_on_midsummer_eve_2026_though_the_day_before_has_some() -> None:
    assert slots_on(date(2026, 6, 19)) == []  # juhannusaatto, a Friday
    assert slots_on(date(2026, 6, 18)) != []


def test_no_slots_on_a_weekend_though_the_friday_before_has_some() -> None:
    assert slots_on(date(2026, 11, 21), date(2026, 11, 22)) == []
    assert slots_on(date(2026, 11, 20)) != []


def test_no_slots_on_independence_day() -> None:
    assert slots_on(date(2025, 12, 6)) == []
    assert slots_on(date(2027, 12, 6)) == []  # a Monday


def test_every_slot_lies_within_service_hours_in_finnish_time_across_the_dst_change() -> None:
    slots = free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 3, 23), date(2026, 4, 3))

    assert {s.start.utcoffset() for s in slots} == {timedelta(hours=2), timedelta(hours=3)}
    for slot in slots:
        start, end = slot.start.astimezone(HELSINKI), slot.end.astimezone(HELSINKI)
        assert start.date() == end.date()
        assert start.time() >= OPENS and end.time() <= CLOSES
        assert end - start == timedelta(minutes=30)


def test_slots_are_the_same_every_time_they_are_asked_for() -> None:
    first = free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 27))

    assert first == free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 27))
    assert [s.start for s in first] == sorted(s.start for s in first)


def test_slots_differ_by_topic() -> None:
    window = (date(2026, 11, 23), date(2026, 11, 27))

    pensions = [s.start for s in free_slots("KELA-ELAKE", "fi", MUNICIPALITY, *window)]
    housing = [s.start for s in free_slots("KELA-ASUMISTUKI", "fi", MUNICIPALITY, *window)]

    assert pensions != housing


def test_an_unknown_language_has_no_slots() -> None:
    assert free_slots(TOPIC, "de", MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 27)) == []


def test_with_an_interpreter_only_the_interpreter_starts_are_offered() -> None:
    slots = free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 12, 4), interpreter=True)

    assert slots
    assert {s.start.astimezone(HELSINKI).time() for s in slots} <= INTERPRETER_STARTS


def test_slots_before_not_before_are_left_out() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki

    slots = free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 23), not_before=now)

    assert all(s.start > now for s in slots)
    assert len(slots) < len(free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 23)))


def test_a_listed_slot_is_offered_by_its_id() -> None:
    slot = free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 23))[0]

    offered = offered_slot(slot.slot_id, topic=TOPIC, language=LANGUAGE, municipality=MUNICIPALITY, interpreter=False)

    assert offered == slot


def test_a_slot_id_is_not_offered_for_another_topic_or_municipality() -> None:
    slot = free_slots(TOPIC, LANGUAGE, MUNICIPALITY, date(2026, 11, 23), date(2026, 11, 23))[0]

    assert offered_slot(slot.slot_id, topic="KELA-ELAKE", language="fi", municipality="179", interpreter=False) is None
    assert offered_slot(slot.slot_id, topic=TOPIC, language="fi", municipality="091", interpreter=False) is None


def test_no_slot_id_on_a_holiday_is_offered() -> None:
    starts = [f"{hour:02d}{minute:02d}" for hour in range(9, 16) for minute in (0, 30)]
    forged = [f"{TOPIC}.{LANGUAGE}.{MUNICIPALITY}.20261224T{start}" for start in starts]

    offered = [
        offered_slot(f, topic=TOPIC, language=LANGUAGE, municipality=MUNICIPALITY, interpreter=False) for f in forged
    ]

    assert offered == [None] * 14


def test_every_topic_is_labelled_in_finnish_and_english(mappings: MappingSet) -> None:
    topics = mappings.kela.topics
    assert all(code.startswith("KELA-") and t.fi and t.en for code, t in topics.items())
    assert {"KELA-ELAKE", "KELA-TOIMEENTULO", "KELA-ASUMISTUKI", "KELA-OPISKELU"} <= set(topics)
