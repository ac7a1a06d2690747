"""Prometheus metrics, one registry per application or worker (no module-level state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.outcomes_accepted = Counter(
            "gateway_outcomes_accepted", "Outcomes accepted, by plan kind.", ["kind"], registry=r
        )
        self.outcomes_rejected = Counter(
            "gateway_outcomes_rejected", "Outcomes rejected, by HTTP status.", ["status"], registry=r
        )
        self.deliveries = Counter(
            "gateway_delivery_attempts",
            "Delivery attempts by back-end and result (delivered, transient, permanent; late: a result that"
            " came after the worker's claim was taken away, which changed nothing).",
            ["backend", "result"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "gateway_delivery_duration_seconds",
            "Time a delivery attempt took, by back-end.",
            ["backend"],
            registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.queue_depth = Gauge(
            "gateway_queue_depth", "Deliveries by back-end and status.", ["backend", "status"], registry=r
        )
        self.oldest_pending_seconds = Gauge(
            "gateway_oldest_pending_seconds",
            "Age of the oldest pending delivery, by back-end.",
            ["backend"],
            registry=r,
        )
        self.circuit_state = Gauge(
            "gateway_circuit_state", "Circuit of each back-end: 0 closed, 1 half-open, 2 open.", ["backend"], registry=r
        )
        self.circuit_transitions = Counter(
            "gateway_circuit_transitions",
            "Circuit state changes, by back-end and new state.",
            ["backend", "state"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "gateway_http_request_duration_seconds",
            "API request latency by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
