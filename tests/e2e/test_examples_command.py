"""``gateway examples post`` against the embedded default, as a newcomer runs them side by side."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.harness import EXAMPLES
from tests.support.servers import free_port

GATEWAY = [sys.executable, "-m", "gateway"]
ACCEPTED = re.compile(r"^(?P<file>\S+): accepted as (?P<id>[0-9a-f-]+), source id (?P<source>\S+)", re.MULTILINE)
HANDOVER = EXAMPLES / "05-health-care-handover.json"


def clean_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}, **extra}


@dataclass
class Served:
    url: str
    token: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``gateway serve`` on a free port: the API, the worker and the simulators in one process."""
    port = free_port()
    process = subprocess.Popen(
        [*GATEWAY, "serve", "--port", str(port), "--data-dir", str(tmp_path_factory.mktemp("served"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    )
    try:
        assert process.stdout is not None
        token = ""
        deadline = time.monotonic() + 30
        while not token and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline().strip()
            token = line if line.startswith("gwt_") else ""
        assert token, "serve printed no token"
        yield Served(f"http://127.0.0.1:{port}", token)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def post_examples(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    """The command, waiting for the deliveries: none is left in flight when the server is stopped."""
    return subprocess.run(
        [*GATEWAY, "examples", "post", "--url", served.url, "--wait", "30", *args],
        capture_output=True,
        text=True,
        env=clean_env(GATEWAY_TOKEN=served.token),
        cwd=EXAMPLES.parents[1],
        timeout=120,
    )


def accepted(stdout: str) -> dict[str, tuple[str, str]]:
    """Example file → (gateway outcome id, source outcome id), as the command printed them."""
    return {m["file"]: (m["id"], m["source"]) for m in ACCEPTED.finditer(stdout)}


def test_every_shipped_example_is_accepted_and_ends_delivered(served: Served) -> None:
    posted = post_examples(served)
    assert posted.returncode == 0, posted.stdout + posted.stderr
    outcomes = accepted(posted.stdout)
    assert sorted(outcomes) == sorted(file.name for file in EXAMPLES.glob("*.json"))
    with served.api() as api:
        for name, (outcome_id, _) in outcomes.items():
            status = api.get(f"/v1/outcomes/{outcome_id}").json()
            assert status["statistics_only"] or status["deliveries"], name
            assert {d["status"] for d in status["deliveries"]} <= {"delivered"}, name


def test_posting_an_example_again_makes_a_fresh_outcome(served: Served) -> None:
    first = accepted(post_examples(served, str(HANDOVER)).stdout)[HANDOVER.name]
    again = accepted(post_examples(served, str(HANDOVER)).stdout)[HANDOVER.name]
    assert first[0] != again[0] and first[1] != again[1]


def test_with_kept_ids_posting_again_replays_the_first_answer(served: Served) -> None:
    first = post_examples(served, "--keep-ids", str(HANDOVER))
    again = post_examples(served, "--keep-ids", str(HANDOVER))
    assert accepted(first.stdout)[HANDOVER.name] == accepted(again.stdout)[HANDOVER.name]
    assert "a replay of the first answer" in again.stdout


def test_a_refused_example_names_its_field_and_fails_the_command(served: Served, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(HANDOVER.read_text(encoding="utf-8").replace('"TERVEYS"', '"NO-SUCH-REASON"'), encoding="utf-8")
    posted = post_examples(served, str(bad))
    assert posted.returncode == 1
    assert "bad.json: refused, 422" in posted.stdout and "reasons.main" in posted.stdout
