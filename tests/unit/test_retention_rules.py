"""The retention rules as a specification: when a hold ends, when a payload or a consent's detail goes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.outbox.retention import RetentionPolicy, hold_expiry, window_end
from gateway.settings import WorkerSettings

HELD_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WAIT = timedelta(hours=168)


def booking(latest: str) -> dict[str, object]:
    return {
        "client": {},
        "request": {"kind": "kela_booking_request", "window": {"earliest": "2026-11-24", "latest": latest}},
    }


def test_a_kela_booking_waits_until_the_end_of_its_windows_last_day_in_finnish_time() -> None:
    # 27.11. ends at midnight Helsinki time (UTC+2 in November): 22:00 UTC.
    assert hold_expiry(booking("2026-11-27"), held_at=HELD_AT, wait=WAIT) == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_a_window_ends_the_wait_even_when_it_is_sooner_than_the_consent_wait() -> None:
    assert hold_expiry(booking("2026-11-23"), held_at=HELD_AT, wait=WAIT) < HELD_AT + WAIT


def test_summer_time_is_minded_at_the_window_end() -> None:
    assert window_end(booking("2026-06-30")) == datetime(2026, 6, 30, 21, 0, tzinfo=UTC)


def test_an_action_without_a_window_waits_the_consent_wait_from_the_hold() -> None:
    assert hold_expiry({"client": {}}, held_at=HELD_AT, wait=WAIT) == HELD_AT + WAIT
    assert hold_expiry(None, held_at=HELD_AT, wait=WAIT) == HELD_AT + WAIT


def test_a_malformed_window_falls_back_to_the_consent_wait() -> None:
    assert hold_expiry(booking("not a day"), held_at=HELD_AT, wait=WAIT) == HELD_AT + WAIT


def test_failed_payloads_are_kept_longer_than_delivered_ones_for_an_operator() -> None:
    policy = RetentionPolicy.from_settings(WorkerSettings())
    before = policy.purge_before(HELD_AT)
    assert before["delivered"] == before["cancelled"] == HELD_AT - timedelta(hours=72)
    assert before["failed"] == HELD_AT - timedelta(days=14)
    assert "held" not in before and "held_for_consent" not in before


def test_a_consent_is_minimised_a_whole_retention_after_the_end_of_its_last_valid_day() -> None:
    policy = RetentionPolicy.from_settings(WorkerSettings(consent_retention_hours=720))
    moment, day = policy.consent_cutoff(datetime(2026, 12, 31, 12, 0, tzinfo=UTC))
    assert moment == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    # valid_until < day: a consent valid until 30.11. is minimised, one valid until 1.12. not yet.
    assert day == date(2026, 12, 1)


def test_statistics_links_are_cut_by_whole_finnish_days() -> None:
    policy = RetentionPolicy.from_settings(WorkerSettings(statistics_link_days=30))
    # 31.12. 01:30 in Helsinki is still 30.12. in UTC: the Finnish day decides.
    cutoff = policy.statistics_day_cutoff(datetime(2026, 12, 30, 23, 30, tzinfo=UTC))
    assert cutoff == datetime(2026, 12, 1, 0, 0, tzinfo=UTC) - timedelta(hours=2)
