"""The retry policy: a pure decision from attempt, error and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.errors import BackendRejected, BackendThrottled, BackendUnavailable
from gateway.outbox.retry import Budget, RetryPolicy, charge, decide

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(horizon=3600, base_delay=2, max_delay=60, max_retry_after=600)


def delay(decision_time: datetime | None) -> float:
    assert decision_time is not None
    return (decision_time - NOW).total_seconds()


def test_a_permanent_error_fails_at_once() -> None:
    d = decide(POLICY, attempt=1, error=BackendRejected("no"), now=NOW, rand=lambda: 0.5)
    assert d.outcome == "fail" and d.not_before is None


def test_backoff_doubles_within_jitter_bounds() -> None:
    for attempt, ceiling in ((1, 2), (2, 4), (3, 8)):
        low = decide(POLICY, attempt=attempt, error=BackendUnavailable("x"), now=NOW, rand=lambda: 0.0)
        high = decide(POLICY, attempt=attempt, error=BackendUnavailable("x"), now=NOW, rand=lambda: 1.0)
        assert delay(low.not_before) == ceiling / 2 and delay(high.not_before) == ceiling


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(horizon=86400, base_delay=2, max_delay=60)
    d = decide(policy, attempt=20, error=BackendUnavailable("x"), now=NOW, rand=lambda: 1.0)
    assert delay(d.not_before) == 60


def test_retry_after_is_honoured() -> None:
    d = decide(POLICY, attempt=1, error=BackendThrottled("slow", retry_after=30), now=NOW, rand=lambda: 0.0)
    assert delay(d.not_before) == 30


def test_retry_after_is_capped() -> None:
    d = decide(POLICY, attempt=1, error=BackendThrottled("slow", retry_after=86400), now=NOW, rand=lambda: 0.0)
    assert delay(d.not_before) == 600


def test_a_delivery_that_spent_its_budget_is_held_for_an_operator() -> None:
    d = decide(POLICY, attempt=30, error=BackendUnavailable("down"), now=NOW, rand=lambda: 0.5, spent=3600)
    assert d.outcome == "hold" and "1.0 h of retrying (30 attempts)" in d.reason


def test_many_attempts_within_the_budget_are_still_retried() -> None:
    d = decide(POLICY, attempt=500, error=BackendUnavailable("down"), now=NOW, rand=lambda: 0.5, spent=3599)
    assert d.outcome == "retry" and d.not_before is not None and d.not_before > NOW + timedelta(seconds=0)


def test_the_first_failure_starts_the_budget_clock_without_spending() -> None:
    assert charge(Budget(None, 0.0), now=NOW, counted=True) == Budget(NOW, 0.0)


def test_a_counted_failure_spends_the_time_since_the_last_one() -> None:
    later = NOW + timedelta(minutes=10)
    assert charge(Budget(NOW, 60.0), now=later, counted=True) == Budget(later, 660.0)


def test_a_failure_while_the_circuit_is_not_closed_pauses_the_budget() -> None:
    later = NOW + timedelta(hours=3)
    assert charge(Budget(NOW, 60.0), now=later, counted=False) == Budget(None, 60.0)


def test_a_decisions_reason_never_repeats_what_the_back_end_said() -> None:
    said = "Patient Minna ASIAKAS not found"
    for error in (BackendRejected(said), BackendUnavailable(said)):
        for spent in (0.0, POLICY.horizon):
            reason = decide(POLICY, attempt=3, error=error, now=NOW, rand=lambda: 0.5, spent=spent).reason
            assert "ASIAKAS" not in reason and "Minna" not in reason
