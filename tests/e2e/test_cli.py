"""The command line, as a newcomer uses it: tokens, and the embedded default end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.harness import EXAMPLES
from tests.support.servers import free_port

GATEWAY = [sys.executable, "-m", "gateway"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}


def gateway(*args: str, tmp_path: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, *args, "--data-dir", str(tmp_path)], capture_output=True, text=True, env=clean_env(), check=check
    )


def test_clients_create_registers_a_client_with_its_source_systems(tmp_path: Path) -> None:
    created = json.loads(
        gateway("clients", "create", "--name", "crm", "--system", "crm-espoo", tmp_path=tmp_path).stdout
    )
    assert created["name"] == "crm" and created["systems"] == ["crm-espoo"]
    listed = [json.loads(line) for line in gateway("clients", "list", tmp_path=tmp_path).stdout.splitlines()]
    assert [(c["name"], c["systems"], c["disabled"]) for c in listed] == [("crm", ["crm-espoo"], False)]


def test_a_source_system_belongs_to_one_client_only(tmp_path: Path) -> None:
    gateway("clients", "create", "--name", "crm", "--system", "crm-espoo", tmp_path=tmp_path)
    refused = gateway("clients", "create", "--name", "other", "--system", "crm-espoo", tmp_path=tmp_path, check=False)
    assert refused.returncode != 0 and "owned by crm" in refused.stderr


def test_a_disabled_client_is_listed_as_disabled(tmp_path: Path) -> None:
    gateway("clients", "create", "--name", "crm", "--system", "crm-espoo", tmp_path=tmp_path)
    gateway("clients", "disable", "crm", tmp_path=tmp_path)
    listed = json.loads(gateway("clients", "list", tmp_path=tmp_path).stdout.splitlines()[0])
    assert listed["disabled"] is True


def test_a_token_needs_an_existing_client(tmp_path: Path) -> None:
    refused = gateway(
        "tokens", "create", "--scope", "outcomes:read", "--client", "nobody", tmp_path=tmp_path, check=False
    )
    assert refused.returncode != 0 and "no enabled client 'nobody'" in refused.stderr


def test_tokens_create_prints_a_token_that_the_gateway_accepts(tmp_path: Path) -> None:
    gateway("clients", "create", "--name", "crm", "--system", "crm-espoo", tmp_path=tmp_path)
    created = subprocess.run(
        [
            *GATEWAY,
            "tokens",
            "create",
            "--scope",
            "outcomes:read",
            "--client",
            "crm",
            "--name",
            "crm",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
    )
    token = created.stdout.strip()
    assert token.startswith("gwt_") and len(token.splitlines()) == 1
    listed = subprocess.run(
        [*GATEWAY, "tokens", "list", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
    )
    assert json.loads(listed.stdout.splitlines()[0])["scopes"] == ["outcomes:read"]
    assert json.loads(listed.stdout.splitlines()[0])["client"] == "crm"
    assert token not in listed.stdout


def test_an_unknown_scope_is_refused(tmp_path: Path) -> None:
    gateway("clients", "create", "--name", "crm", "--system", "crm-espoo", tmp_path=tmp_path)
    result = subprocess.run(
        [*GATEWAY, "tokens", "create", "--scope", "everything", "--client", "crm", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert result.returncode != 0 and "unknown scope" in result.stderr


def test_serve_runs_the_embedded_default_and_an_outcome_becomes_fhir_resources(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*GATEWAY, "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
        cwd=EXAMPLES.parents[1],
    )
    try:
        assert process.stdout is not None
        token = ""
        deadline = time.monotonic() + 30
        while not token and time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.strip().startswith("gwt_"):
                token = line.strip()
        assert token, "serve printed no token"
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        body = json.loads(next(EXAMPLES.glob("05*.json")).read_text(encoding="utf-8"))
        outcome_id = httpx.post(f"{base}/v1/outcomes", json=body, headers=auth).json()["id"]
        state = ""
        while state != "delivered" and time.monotonic() < deadline:
            time.sleep(0.2)
            state = httpx.get(f"{base}/v1/outcomes/{outcome_id}", headers=auth).json()["state"]
        assert state == "delivered"
        found = httpx.get(
            f"{base}/simulators/lifecare/fhir/Patient", params={"identifier": "urn:oid:1.2.246.21|300962-901N"}
        ).json()
        assert found["total"] == 1
        assert (tmp_path / "gateway.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def test_api_stops_cleanly_on_ctrl_c_after_serving_a_request(tmp_path: Path) -> None:
    gateway("db", "upgrade", tmp_path=tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [*GATEWAY, "api", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        deadline = time.monotonic() + 30
        ready = False
        while not ready and time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
        assert ready, "the API did not come up"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def test_a_worker_on_its_own_exposes_its_metrics_when_given_a_port(tmp_path: Path) -> None:
    gateway("db", "upgrade", tmp_path=tmp_path)
    port = free_port()
    env = {
        **clean_env(),
        "GATEWAY_WORKER_METRICS__PORT": str(port),
        # No back-end needs to be reachable to show the counters.
        "GATEWAY_LIFECARE__ENABLED": "false",
        "GATEWAY_KANTA__ENABLED": "false",
        "GATEWAY_KELA__ENABLED": "false",
    }
    process = subprocess.Popen(
        [*GATEWAY, "worker", "--data-dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        deadline = time.monotonic() + 30
        exposition = ""
        while not exposition and time.monotonic() < deadline:
            try:
                exposition = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            except httpx.TransportError:
                time.sleep(0.1)
        assert "# TYPE gateway_delivery_attempts_total counter" in exposition
        assert "# TYPE gateway_delivery_duration_seconds histogram" in exposition
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
