"""Small pieces of plumbing: problem field paths, log redaction, named queries."""

from __future__ import annotations

import pytest

from gateway.logs import redact_text
from gateway.outbox.queries import names, query
from gateway.problems import field_path


def test_field_paths_read_like_the_body() -> None:
    assert (
        field_path(("results", 0, "health_care_handover", "receiving"), skip=frozenset({"health_care_handover"}))
        == "results[0].receiving"
    )
    assert field_path(("body", "client", "hetu")) == "client.hetu"
    assert field_path(()) == "(body)"


def test_hetus_and_phone_numbers_are_masked_in_log_text() -> None:
    assert redact_text("client 131052-308T called from +358 40 123 4567") == "client <hetu> called from <phone>"


def test_uuids_and_timestamps_are_not_mistaken_for_hetus() -> None:
    text = "delivery 3f1b2c4d-0000-4000-8000-000000000001 at 2026-11-23T09:05:00+02:00"
    assert redact_text(text) == text


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_every_named_query_compiles_for_both_dialects(dialect: str) -> None:
    assert names() == [
        "claim_due",
        "claim_one",
        "claim_taken",
        "complete",
        "expire_leases",
        "hold_for_consent",
        "park",
        "pause_retry_budgets",
        "record_abandoned",
        "record_released",
        "release_awaiting_adapter",
        "release_lease",
        "renew_leases",
        "reschedule",
    ]
    for name in names():
        sql = str(query(name, dialect))
        assert ("SKIP LOCKED" in sql) == (dialect == "postgresql" and name in ("claim_due", "record_abandoned"))


def test_a_logged_failure_names_its_type_and_place_but_never_its_message() -> None:
    from gateway.logs import failure

    try:
        raise ValueError("INSERT failed for Aino Helena Testinen")
    except ValueError as exc:
        logged = failure(exc)
    assert logged["error_type"] == "ValueError" and "test_plumbing.py" in logged["at"][-1]
    assert "Aino" not in str(logged)
