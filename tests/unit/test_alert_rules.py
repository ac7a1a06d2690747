"""The shipped Prometheus alerting rules parse, and every metric they use is one the gateway exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from gateway.metrics import Metrics

RULES = Path(__file__).parents[2] / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS_OWN = {"up"}


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def metric_names(node: Any) -> set[str]:
    """Every series name a PromQL expression selects, at any depth."""
    if isinstance(node, promql_parser.VectorSelector):
        return {node.name} if node.name else set()
    found: set[str] = set()
    for attribute in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        if child is not None:
            found |= metric_names(child)
    for argument in getattr(node, "args", None) or []:
        found |= metric_names(argument)
    return found


def exported() -> set[str]:
    """The series names the gateway's registry exposes (counters with _total, histograms' parts)."""
    metrics = Metrics()
    names = set()
    for family in metrics.registry.collect():
        names.add(family.name)
        names.update({f"{family.name}_total", f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"})
    return names


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_each_rule_parses_and_says_what_to_do(rule: dict[str, Any]) -> None:
    promql_parser.parse(rule["expr"])
    assert rule["labels"]["severity"] in {"info", "warning", "critical"}
    assert rule["for"] and rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_each_rule_uses_only_metrics_the_gateway_exports(rule: dict[str, Any]) -> None:
    unknown = metric_names(promql_parser.parse(rule["expr"])) - exported() - PROMETHEUS_OWN
    assert not unknown, f"{rule['alert']} uses metrics nobody exports: {sorted(unknown)}"


def test_the_walk_finds_the_metrics_of_an_expression() -> None:
    parsed = promql_parser.parse("sum(rate(a_total[5m])) / max(b) > 1")
    assert metric_names(parsed) == {"a_total", "b"}
