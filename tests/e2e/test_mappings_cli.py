"""``gateway mappings`` as an admin runs it: a subprocess on a data folder of its own."""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gateway.mappings import DEFAULT_MAPPINGS_DIR
from tests.e2e.test_cli import GATEWAY, clean_env, gateway


def validate(folder: Path) -> subprocess.CompletedProcess[str]:
    """``validate`` reads a folder only: no data folder, no database."""
    return subprocess.run(
        [*GATEWAY, "mappings", "validate", str(folder)], capture_output=True, text=True, env=clean_env()
    )


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    """A copy of the shipped folder whose mental-health reason belongs to social care."""
    folder = tmp_path / "candidate"
    shutil.copytree(DEFAULT_MAPPINGS_DIR, folder)
    reasons = folder / "reasons.yaml"
    text = reasons.read_text(encoding="utf-8")
    reasons.write_text(
        text.replace(
            'MIELI:        {display: Mielenterveys, area: health_care, support_need: "9"}',
            'MIELI:        {display: Mielenterveys, area: social_care, support_need: "9"}',
        ),
        encoding="utf-8",
    )
    assert reasons.read_text(encoding="utf-8") != text
    return folder


def test_validate_lists_every_problem_and_exits_non_zero(candidate: Path) -> None:
    units = candidate / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8").replace('"1.2.246.10.32219998.10.101"', '"1.2.x"'))
    channels = candidate / "channels.yaml"
    channels.write_text("\n".join(line for line in channels.read_text().splitlines() if "chat:" not in line))
    result = validate(candidate)
    assert result.returncode == 1
    assert "/units/ASOHJ-KESKITETTY/oid" in result.stderr and "/channels/chat" in result.stderr


def test_validate_accepts_the_shipped_folder() -> None:
    result = validate(DEFAULT_MAPPINGS_DIR)
    assert result.returncode == 0
    assert "valid (2026.11.1+" in result.stdout


def test_diff_shows_the_change_against_the_active_version(tmp_path: Path, candidate: Path) -> None:
    result = gateway("mappings", "diff", str(candidate), "--json", tmp_path=tmp_path)
    diff = json.loads(result.stdout)
    assert [(d["path"], d["old"], d["new"]) for d in diff["differences"]] == [
        ("/reasons/MIELI/area", "health_care", "social_care")
    ]


def test_dry_run_names_the_example_whose_plan_would_change(tmp_path: Path, candidate: Path) -> None:
    result = gateway("mappings", "dry-run", str(candidate), tmp_path=tmp_path)
    assert "1 would change" in result.stdout
    assert "07-both-registers.json" in result.stdout and "record reasons" in result.stdout


def test_activate_rollback_and_history_record_the_os_user(tmp_path: Path, candidate: Path) -> None:
    activated = gateway("mappings", "activate", str(candidate), "--comment", "mental health", tmp_path=tmp_path)
    assert "version 2 (uploaded now) is active (was 1)" in activated.stdout
    again = gateway("mappings", "activate", str(candidate), tmp_path=tmp_path)
    assert "version 2 is already active" in again.stdout
    rolled = gateway("mappings", "rollback", tmp_path=tmp_path)
    assert "version 1 is active again (was 2)" in rolled.stdout
    changes = json.loads(gateway("mappings", "history", "--json", tmp_path=tmp_path).stdout)
    actor = f"cli:{getpass.getuser()}"
    assert [(c["action"], c["number"], c["actor"]) for c in changes] == [
        ("rolled_back", 1, actor),
        ("activated", 2, actor),
        ("uploaded", 2, actor),
        ("loaded", 1, actor),
    ]
    assert any(c["comment"] == "mental health" for c in changes)


def test_rollback_of_the_first_version_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = gateway("mappings", "rollback", tmp_path=tmp_path, check=False)
    assert result.returncode == 1 and "nothing to roll back to" in result.stderr
