"""The logs of a full run never contain a hetu, a name or a phone number."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from gateway.examples import move_dates
from tests.support.harness import EXAMPLES, running_gateway


def personal_values() -> set[str]:
    values: set[str] = set()
    for path in EXAMPLES.glob("*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        people = [body["client"], body["client"].get("guardian") or {}]
        people += [r["child"] for r in body["results"] if "child" in r]
        for person in people:
            for field in ("hetu", "given_names", "family_name", "phone"):
                if person.get(field):
                    values.add(person[field])
        if body["guidance"].get("summary"):
            values.add(body["guidance"]["summary"])
    values.update(v.replace("+358", "0") for v in list(values) if v.startswith("+358"))
    return values


async def test_a_full_run_logs_nothing_personal(database_url: str, tmp_path: Path, captured_logs: io.StringIO) -> None:
    async with running_gateway(database_url, tmp_path) as gw:
        await gw.fault(status=503, times=1)
        ids = []
        for path in sorted(EXAMPLES.glob("*.json")):
            body = move_dates(json.loads(path.read_text(encoding="utf-8")), now=datetime.now(UTC))
            ids.append((await gw.post(body)).json()["id"])
            await gw.post(body)  # an idempotent replay
        bad = json.loads(next(EXAMPLES.glob("05*.json")).read_text(encoding="utf-8"))
        bad["client"]["hetu"] = "300962-901X"
        await gw.post(bad)
        await gw.deliver()
        await gw.deliver()
        for outcome_id in ids:
            await gw.status(outcome_id)
    text = captured_logs.getvalue()
    assert '"event": "delivered"' in text and '"event": "outcome accepted"' in text  # the logs were captured
    leaked = sorted(value for value in personal_values() if value in text)
    assert leaked == []
    assert "300962-901X" not in text
