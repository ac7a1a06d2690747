"""Statistics figures against a hand-built set of events: buckets, counts, suppression, shares and medians."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.statistics.aggregate import ALL_UNITS, WHOLE_RANGE, Window, aggregate
from gateway.statistics.periods import Period, bucket, buckets
from gateway.statistics.report import Report, build_report
from gateway.statistics.suppression import Line, complementary, primary
from gateway.statistics.tally import Event, tally_events


def event(day: date, **changes: Any) -> Event:
    fields: dict[str, Any] = {
        "contact_date": day,
        "unit": "A",
        "main_reason": "ASUMINEN",
        "additional_reasons": (),
        "contacted_by": "client",
        "authority_kind": None,
        "channel": "phone",
        "ended_how": ("advice_sufficient",),
        "duration_minutes": 15,
        "led_to_client_relationship": False,
        "anonymous": False,
    }
    fields.update(changes)
    return Event(**fields)


KNOWN_CHANNELS = {"channel": ("phone", "chat", "walk_in")}


def report(events: list[Event], window: Window, k: int = 5) -> Report:
    return build_report(aggregate(tally_events(events), window, KNOWN_CHANNELS), k)


NEW_YEAR = (
    [event(date(2026, 12, 31)) for _ in range(6)]
    + [event(date(2027, 1, 2), main_reason="TALOUS", channel="chat") for _ in range(2)]
    + [event(date(2027, 1, 4)) for _ in range(5)]
)
YEAR_END = (date(2026, 12, 28), date(2027, 1, 10))


def test_iso_week_53_of_2026_runs_into_january_and_week_1_of_2027_starts_on_the_fourth() -> None:
    assert bucket(date(2026, 12, 31), Period.WEEK) == "2026-W53"
    assert bucket(date(2027, 1, 3), Period.WEEK) == "2026-W53"
    assert bucket(date(2027, 1, 4), Period.WEEK) == "2027-W01"
    assert buckets(*YEAR_END, Period.WEEK) == ("2026-W53", "2027-W01")


def test_months_and_days_are_calendar_buckets() -> None:
    assert buckets(date(2026, 12, 30), date(2027, 1, 1), Period.MONTH) == ("2026-12", "2027-01")
    assert buckets(date(2026, 12, 30), date(2027, 1, 1), Period.DAY) == ("2026-12-30", "2026-12-31", "2027-01-01")


def test_events_are_counted_by_iso_week_across_the_year_boundary() -> None:
    figures = report(NEW_YEAR, Window(*YEAR_END, Period.WEEK, unit="A"))

    assert figures.columns == ("2026-W53", "2027-W01", WHOLE_RANGE)
    assert figures.events[0].values == (8, 5, 13)


def test_events_are_counted_by_month_for_every_unit_and_all_units() -> None:
    figures = report(NEW_YEAR, Window(*YEAR_END, Period.MONTH))

    assert figures.units == (ALL_UNITS, "A")
    assert [row.values for row in figures.events] == [(6, 7, 13), (6, 7, 13)]


def test_a_small_cell_is_suppressed_and_so_is_the_cell_it_could_be_computed_from() -> None:
    figures = report(NEW_YEAR, Window(*YEAR_END, Period.WEEK, unit="A"))
    reasons = figures.table("main_reason")

    # TALOUS had 2 contacts in week 53: hidden. Week 53's 8 contacts minus ASUMINEN's 6 would give
    # it back, so ASUMINEN's 6 is hidden too; ASUMINEN's whole-range 11 minus week 1's 5 would give
    # the 6 back, and week 1's 5 cannot be hidden (it equals that week's shown event count with
    # TALOUS at 0), so the whole-range total is hidden instead.
    assert reasons.row("A", "TALOUS").values == (None, 0, None)
    assert reasons.row("A", "ASUMINEN").values == (None, 5, None)


def test_the_same_rule_holds_in_every_single_valued_dimension() -> None:
    figures = report(NEW_YEAR, Window(*YEAR_END, Period.WEEK, unit="A"))

    assert figures.table("channel").row("A", "chat").values == (None, 0, None)
    assert figures.table("channel").row("A", "phone").values == (None, 5, None)


def test_a_unit_that_alone_is_hidden_beside_all_units_hides_the_next_smallest_unit_too() -> None:
    day = date(2026, 6, 1)
    events = [event(day, unit="A") for _ in range(6)] + [event(day, unit="B") for _ in range(3)]

    figures = report(events, Window(day, day, Period.DAY))

    assert [(row.unit, row.values) for row in figures.events] == [
        (ALL_UNITS, (9, 9)),
        ("A", (None, None)),
        ("B", (None, None)),
    ]


def test_zero_is_shown_as_zero_and_k_is_configurable() -> None:
    day = date(2026, 6, 1)
    events = [event(day) for _ in range(3)] + [event(day, channel="chat") for _ in range(3)]

    with_k3 = report(events, Window(day, day, Period.MONTH, unit="A"), k=3)
    with_k5 = report(events, Window(day, day, Period.MONTH, unit="A"), k=5)

    assert with_k3.value("channel", "A", "phone", WHOLE_RANGE) == 3
    assert with_k3.value("channel", "A", "walk_in", WHOLE_RANGE) == 0
    assert with_k5.value("channel", "A", "walk_in", WHOLE_RANGE) == 0
    assert with_k5.value("channel", "A", "phone", WHOLE_RANGE) is None
    assert with_k5.events[0].values == (6, 6)


def test_an_additional_reason_counts_once_per_event_and_each_reason_of_an_event_counts() -> None:
    day = date(2026, 6, 1)
    events = [event(day, additional_reasons=("ARKI", "TALOUS", "TALOUS")) for _ in range(6)]

    figures = report(events, Window(day, day, Period.MONTH, unit="A"))

    assert figures.value("additional_reasons", "A", "ARKI", WHOLE_RANGE) == 6
    assert figures.value("additional_reasons", "A", "TALOUS", WHOLE_RANGE) == 6
    assert figures.events[0].values == (6, 6)


def test_where_guidance_ended_counts_every_ending_of_an_event() -> None:
    day = date(2026, 6, 1)
    events = [event(day, ended_how=("handed_to_pta", "kela")) for _ in range(5)] + [event(day) for _ in range(5)]

    figures = report(events, Window(day, day, Period.MONTH, unit="A"))

    assert figures.value("ended_how", "A", "handed_to_pta", WHOLE_RANGE) == 5
    assert figures.value("ended_how", "A", "kela", WHOLE_RANGE) == 5
    assert figures.value("ended_how", "A", "advice_sufficient", WHOLE_RANGE) == 5


def test_authority_contacts_are_counted_by_the_kind_of_authority() -> None:
    day = date(2026, 6, 1)
    events = [event(day, contacted_by="authority", authority_kind="police") for _ in range(5)] + [
        event(day) for _ in range(5)
    ]

    figures = report(events, Window(day, day, Period.MONTH, unit="A"))

    assert figures.value("contacted_by", "A", "authority", WHOLE_RANGE) == 5
    assert figures.value("authority_kind", "A", "police", WHOLE_RANGE) == 5
    assert figures.value("authority_kind", "A", "none", WHOLE_RANGE) == 5


SHARES_DAY = date(2026, 6, 1)
SHARES = [
    event(SHARES_DAY, duration_minutes=minutes, anonymous=i < 5, led_to_client_relationship=i < 3)
    for i, minutes in enumerate((5, 5, 10, 12, 15, 20, 25, 30, 61, 90))
]


def test_the_anonymous_share_and_the_median_duration_of_ten_contacts_are_shown() -> None:
    summary = report(SHARES, Window(SHARES_DAY, SHARES_DAY, Period.MONTH, unit="A")).summary_of("A", WHOLE_RANGE)

    assert summary.events == 10
    assert summary.anonymous == 5
    assert summary.anonymous_share == 0.5
    assert summary.median_minutes == 17.5


def test_a_share_whose_count_is_small_is_suppressed_with_its_complement() -> None:
    figures = report(SHARES, Window(SHARES_DAY, SHARES_DAY, Period.MONTH, unit="A"))
    summary = figures.summary_of("A", WHOLE_RANGE)

    assert summary.client_relationship is None
    assert summary.client_relationship_share is None
    assert {"client_relationship", "client_relationship_share"} <= summary.suppressed
    assert figures.table("client_relationship").row("A", "no").values == (None, None)


def test_the_duration_distribution_is_binned_and_its_small_bins_suppressed() -> None:
    events = [*SHARES, *(event(SHARES_DAY, duration_minutes=3) for _ in range(3))]  # 0-9 min: 5 in all

    figures = report(events, Window(SHARES_DAY, SHARES_DAY, Period.MONTH, unit="A"))

    assert figures.value("duration", "A", "0-9", WHOLE_RANGE) == 5
    assert figures.value("duration", "A", "10-19", WHOLE_RANGE) is None


def test_shares_and_medians_of_fewer_than_k_contacts_are_suppressed() -> None:
    summary = report(SHARES[:4], Window(SHARES_DAY, SHARES_DAY, Period.MONTH, unit="A")).summary_of("A", WHOLE_RANGE)

    assert summary.events is None
    assert summary.anonymous_share is None and summary.median_minutes is None
    assert {"events", "anonymous_share", "median_minutes"} <= summary.suppressed


def test_primary_suppression_hides_one_to_k_minus_one_and_never_zero() -> None:
    assert primary({"a": 0, "b": 1, "c": 4, "d": 5}, 5) == {"b", "c"}


def test_complementary_suppression_never_leaves_one_hidden_cell_beside_a_shown_total() -> None:
    counts = {"total": 20, "a": 2, "b": 7, "c": 11}

    hidden = complementary(counts, primary(counts, 5), [Line("total", ("a", "b", "c"))])

    assert hidden == {"a", "b"}
