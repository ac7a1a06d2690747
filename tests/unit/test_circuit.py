"""The circuit breaker's state machine: pure transitions, read as its specification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.outbox.circuit import BreakerPolicy, Circuit, CircuitState, after_result, open_interval

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
POLICY = BreakerPolicy(failure_threshold=3, open_seconds=10, max_open_seconds=60, probe_seconds=30)


def closed(failures: int = 0) -> Circuit:
    return Circuit("kanta", CircuitState.CLOSED, failures, NOW)


def opened(failures: int = 3) -> Circuit:
    return after_result(POLICY, closed(failures - 1), result="failure", probe=False, now=NOW)


def probing(failures: int = 3) -> Circuit:
    circuit = opened(failures)
    expires = NOW + timedelta(seconds=30)
    return Circuit("kanta", CircuitState.HALF_OPEN, failures, NOW, circuit.opened_at, circuit.probe_at, "w1", expires)


def test_failures_below_the_threshold_keep_the_circuit_closed() -> None:
    circuit = after_result(POLICY, closed(1), result="failure", probe=False, now=NOW)
    assert circuit.state is CircuitState.CLOSED and circuit.consecutive_failures == 2


def test_the_threshold_of_consecutive_failures_opens_the_circuit_with_a_probe_time() -> None:
    circuit = opened()
    assert circuit.state is CircuitState.OPEN and circuit.opened_at == NOW
    assert circuit.probe_at == NOW + timedelta(seconds=10) and circuit.probe_owner is None


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    circuit = after_result(POLICY, closed(2), result="success", probe=False, now=NOW)
    assert circuit.state is CircuitState.CLOSED and circuit.consecutive_failures == 0


def test_a_permanent_error_that_reached_nothing_changes_nothing() -> None:
    assert after_result(POLICY, closed(2), result="neutral", probe=False, now=NOW) == closed(2)


def test_the_probe_is_due_once_the_open_interval_has_passed() -> None:
    circuit = opened()
    assert not circuit.probe_due(NOW + timedelta(seconds=9.9))
    assert circuit.probe_due(NOW + timedelta(seconds=10))


def test_a_claimed_probe_is_not_due_again_until_it_expires() -> None:
    circuit = probing()
    assert not circuit.probe_due(NOW + timedelta(seconds=20))
    assert circuit.probe_due(NOW + timedelta(seconds=31))


def test_a_successful_probe_closes_the_circuit() -> None:
    circuit = after_result(POLICY, probing(), result="success", probe=True, now=NOW)
    assert circuit.state is CircuitState.CLOSED and circuit.consecutive_failures == 0
    assert circuit.probe_owner is None and circuit.last_success_at == NOW


def test_a_failed_probe_opens_the_circuit_again_for_longer() -> None:
    later = NOW + timedelta(seconds=10)
    circuit = after_result(POLICY, probing(), result="failure", probe=True, now=later)
    assert circuit.state is CircuitState.OPEN and circuit.probe_owner is None
    assert circuit.probe_at == later + timedelta(seconds=20)
    assert circuit.opened_at == NOW  # open since the first opening


def test_the_open_interval_doubles_per_failed_probe_up_to_its_cap() -> None:
    assert [open_interval(POLICY, failures) for failures in range(3, 9)] == [10, 20, 40, 60, 60, 60]


def test_a_late_failure_while_open_changes_no_state() -> None:
    circuit = after_result(POLICY, opened(), result="failure", probe=False, now=NOW + timedelta(seconds=1))
    assert circuit.state is CircuitState.OPEN and circuit.probe_at == opened().probe_at


def test_a_probe_that_sent_nothing_lets_another_worker_probe() -> None:
    circuit = after_result(POLICY, probing(), result="neutral", probe=True, now=NOW)
    assert circuit.state is CircuitState.HALF_OPEN and circuit.probe_owner is None
