"""Outcomes dated for the deadlines view's tests, and the view's open list read back by rule."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.harness import example

_numbers = itertools.count(1)


def dated(name: str, received_at: str, **source: Any) -> dict[str, Any]:
    """Example ``name`` with its contact at ``received_at`` (ISO 8601, zoned) and a fresh source id."""
    body = copy.deepcopy(example(name))
    start = datetime.fromisoformat(received_at)
    body["contact"]["received_at"] = start.isoformat()
    body["guidance"]["started_at"] = (start + timedelta(minutes=1)).isoformat()
    body["guidance"]["ended_at"] = (start + timedelta(minutes=20)).isoformat()
    body["source"]["outcome_id"] = f"DL-{next(_numbers):06d}"
    body["source"].update(source)
    return body


def priority(body: dict[str, Any]) -> dict[str, Any]:
    """The outcome's social care initiations for a client in the SHL 36 § priority group."""
    for result in body["results"]:
        if result["kind"] == "social_care_initiation":
            result["highest_care_allowance"] = True
    return body


async def open_list(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/deadlines", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def due_by_rule(api: httpx.AsyncClient, outcome_id: str) -> dict[str, str]:
    """The open deadlines of one outcome, as {rule id: due date}."""
    items = (await open_list(api))["items"]
    return {i["rule_id"]: i["due"] for i in items if i["outcome_id"] == outcome_id}


class SetClock:
    """The API's clock in a test: stands at ``at`` until the test sets it elsewhere."""

    def __init__(self, at: str) -> None:
        self.at = datetime.fromisoformat(at)

    def set(self, at: str) -> None:
        self.at = datetime.fromisoformat(at)

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)
