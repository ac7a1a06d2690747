"""The deliveries list's filter fields: parsed once, written back the same, junk ignored rather than trusted."""

from __future__ import annotations

from urllib.parse import parse_qs

from gateway.console.selection import filter_fields, filter_from, is_empty, query
from gateway.ops.queries import DeliveryFilter


def test_filter_fields_read_back_into_the_same_filter() -> None:
    chosen = DeliveryFilter(
        statuses=("held", "failed"),
        backend="kanta",
        kind="social_care_document",
        source_system="asiakasohjaus-crm",
        outcome_id="CRM-1",
        older_than_seconds=3600,
        error_contains="SOAP fault",
    )

    assert filter_from(parse_qs(query(chosen))) == chosen


def test_unknown_statuses_odd_ages_and_blank_text_are_ignored() -> None:
    parsed = filter_from({"status": ["held", "on_fire"], "older_than_seconds": ["17"], "kind": ["  "], "backend": [""]})

    assert parsed == DeliveryFilter(statuses=("held",))


def test_no_fields_is_no_filter_and_long_text_is_cut() -> None:
    assert is_empty(filter_from({}))
    assert filter_fields(filter_from({"error_contains": ["x" * 1000]})) == [("error_contains", "x" * 200)]
