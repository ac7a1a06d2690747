"""Through the API: an outcome from the future, or a Kela window gone by, is a 422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.harness import Harness, example, future_window


async def test_a_contact_in_the_future_and_a_passed_kela_window_are_named_in_one_problem(gw: Harness) -> None:
    body = example("09")
    body["contact"]["received_at"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Helsinki")).date()
    body["results"][0]["window"] = {
        "earliest": (today - timedelta(days=10)).isoformat(),
        "latest": (today - timedelta(days=1)).isoformat(),
    }
    body["client"]["hetu"] = "091285-919X"
    response = await gw.post(body)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    fields = {error["field"]: error["code"] for error in response.json()["errors"]}
    assert fields == {
        "client.hetu": "value_error",
        "contact.received_at": "in_future",
        "results[0].window": "window_in_past",
    }
    assert await gw.count("outcomes") == 0


async def test_a_kela_window_of_coming_working_days_is_accepted_for_a_contact_days_ago(gw: Harness) -> None:
    body = example("09")
    body["results"][0]["window"] = future_window()
    # The example's contact date lies in the past: only the window is measured from today.
    response = await gw.post(body)
    assert response.status_code == 202, response.text
