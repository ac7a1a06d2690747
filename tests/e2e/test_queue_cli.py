"""``gateway queue`` and ``gateway backends`` as an operator runs them, against a gateway's database."""

from __future__ import annotations

import getpass
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.store.migrate import upgrade
from gateway.store.schema import operator_actions
from tests.e2e.test_cli import GATEWAY, clean_env
from tests.e2e.test_ops_api import failed_handover, rows
from tests.support.harness import Harness, running_gateway


def gateway(tmp_path: Path, *args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=clean_env(),
        input=answer,
        check=False,
    )


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Harness]:
    """A gateway on the SQLite file the commands find in ``--data-dir``."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    async with running_gateway(url, tmp_path) as harness:
        yield harness


async def test_queue_ls_lists_the_filtered_deliveries_with_counts(gw: Harness, tmp_path: Path) -> None:
    failed = await failed_handover(gw)
    listed = gateway(tmp_path, "queue", "ls", "--status", "failed", "--backend", "lifecare")
    assert listed.returncode == 0, listed.stderr
    assert failed in listed.stdout and "1 of 1 shown; by status: 1 failed" in listed.stdout
    as_json = json.loads(gateway(tmp_path, "queue", "ls", "--older-than", "2h", "--json").stdout)
    assert as_json["total"] == 0  # it was created just now


async def test_queue_show_prints_the_attempts_but_never_the_payload(gw: Harness, tmp_path: Path) -> None:
    failed = await failed_handover(gw)
    shown = json.loads(gateway(tmp_path, "queue", "show", failed, "--json").stdout)
    assert shown["payload"] == "<withheld: needs personal:read>"
    assert [a["result"] for a in shown["attempt_history"]] == ["permanent"]
    table = gateway(tmp_path, "queue", "show", failed).stdout
    assert "Encounter.period is required" in table and "091" not in table


async def test_queue_cancel_asks_after_a_dry_run_and_records_the_os_user(gw: Harness, tmp_path: Path) -> None:
    failed = await failed_handover(gw)
    done = gateway(tmp_path, "queue", "cancel", failed, "--reason", "sent by hand", answer="y\n")
    assert done.returncode == 0, done.stderr
    assert f"match    {failed}" in done.stdout and "cancel: moved 1, refused 0" in done.stdout
    [action] = await rows(gw, operator_actions)
    assert (action["actor"], action["reason"], action["delivery_ids"]) == (
        f"cli:{getpass.getuser()}",
        "sent by hand",
        [failed],
    )


async def test_queue_release_declined_at_the_prompt_moves_nothing(gw: Harness, tmp_path: Path) -> None:
    failed = await failed_handover(gw)
    declined = gateway(tmp_path, "queue", "release", "--status", "failed", "--reason", "retry", answer="n\n")
    assert declined.returncode != 0 and "release: would move 1" in declined.stdout
    assert (await gw.api.get(f"/v1/ops/deliveries/{failed}")).json()["status"] == "failed"
    assert await rows(gw, operator_actions) == []


async def test_queue_replay_dry_run_names_each_refusal(gw: Harness, tmp_path: Path) -> None:
    failed = await failed_handover(gw)
    tried = gateway(tmp_path, "queue", "replay", failed, "no-such-id", "--dry-run")
    assert "refused  no-such-id  no such delivery" in tried.stdout and "replay: would move 1, refused 1" in tried.stdout


async def test_backends_lists_every_back_end(gw: Harness, tmp_path: Path) -> None:
    await failed_handover(gw)
    health = json.loads(gateway(tmp_path, "backends", "--json").stdout)
    assert [b["backend"] for b in health] == ["lifecare", "kanta", "kela"]
    assert health[0]["depth"] == {"failed": 1}
    assert "lifecare  closed" in gateway(tmp_path, "backends").stdout
