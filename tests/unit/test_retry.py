"""The retry policy: a pure decision from attempt, error and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.errors import BackendRejected, BackendThrottled, BackendUnavailable
from gateway.outbox.retry import RetryPolicy, decide

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_delay=2, max_delay=60, max_retry_after=600)


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
    policy = RetryPolicy(max_attempts=50, base_delay=2, max_delay=60)
    d = decide(policy, attempt=20, error=BackendUnavailable("x"), now=NOW, rand=lambda: 1.0)
    assert delay(d.not_before) == 60


def test_retry_after_is_honoured() -> None:
    d = decide(POLICY, attempt=1, error=BackendThrottled("slow", retry_after=30), now=NOW, rand=lambda: 0.0)
    assert delay(d.not_before) == 30


def test_retry_after_is_capped() -> None:
    d = decide(POLICY, attempt=1, error=BackendThrottled("slow", retry_after=86400), now=NOW, rand=lambda: 0.0)
    assert delay(d.not_before) == 600


def test_exhausted_attempts_are_held_for_an_operator() -> None:
    d = decide(POLICY, attempt=5, error=BackendUnavailable("down"), now=NOW, rand=lambda: 0.5)
    assert d.outcome == "hold" and "5 attempts" in d.reason


def test_the_last_allowed_retry_is_still_a_retry() -> None:
    d = decide(POLICY, attempt=4, error=BackendUnavailable("down"), now=NOW, rand=lambda: 0.5)
    assert d.outcome == "retry" and d.not_before is not None and d.not_before > NOW + timedelta(seconds=0)
