"""docker-compose.yml stays consistent with the CLI and the settings it configures."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from typer.testing import CliRunner

from adapters.registry import BACKENDS
from gateway.cli import app
from gateway.settings import GatewaySettings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def gateway_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def test_every_gateway_service_runs_a_real_cli_command(compose: dict[str, Any]) -> None:
    runner = CliRunner()
    for name, service in gateway_services(compose).items():
        command = service["command"]
        assert command[0] == "gateway", name
        result = runner.invoke(app, [*command[1:], "--help"])
        assert result.exit_code == 0, f"{name}: {' '.join(command)} is not a valid command: {result.output}"


def test_every_gateway_variable_is_a_setting(compose: dict[str, Any]) -> None:
    fields = GatewaySettings.model_fields
    for service in gateway_services(compose).values():
        for variable in service.get("environment", {}):
            path = variable.removeprefix("GATEWAY_").lower().split("__")
            assert path[0] in fields, variable
            if len(path) > 1:
                nested = fields[path[0]].annotation
                assert nested is not None and path[1] in nested.model_fields, variable  # type: ignore[union-attr]


def test_adapter_urls_point_at_the_simulator_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    environment = services["worker"]["environment"]
    for spec in BACKENDS:
        url = urlparse(environment[spec.setting_name])
        simulator = services[url.hostname]
        command = simulator["command"]
        assert command[:3] == ["gateway", "simulator", spec.name]
        assert str(url.port) == command[command.index("--port") + 1]
        assert url.path == spec.mount + spec.endpoint_suffix


def test_the_database_is_postgresql_for_every_process(compose: dict[str, Any]) -> None:
    for service in gateway_services(compose).values():
        if "environment" in service:
            assert service["environment"]["GATEWAY_DATABASE_URL"].startswith("postgresql+psycopg://")
