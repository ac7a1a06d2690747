"""The ``gateway`` command: run the embedded default, the API, the worker or a simulator; manage tokens."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer

from adapters.registry import BACKENDS
from gateway import examples as shipped
from gateway.commands.audit import audit
from gateway.commands.clients import clients
from gateway.commands.database import DataDir, settings_for
from gateway.commands.mappings import mappings
from gateway.commands.queue import backends, queue
from gateway.commands.tokens import tokens
from gateway.errors import ConfigurationError
from gateway.server import Embedded, run_worker, serve_api, serve_embedded, serve_simulator
from gateway.store.migrate import upgrade

app = typer.Typer(help="Asiakasohjaus gateway: guidance outcomes in, register records out.", no_args_is_help=True)
db = typer.Typer(help="Database migrations.", no_args_is_help=True)
examples = typer.Typer(help="Post the shipped example outcomes to a running gateway.", no_args_is_help=True)
app.add_typer(tokens, name="tokens")
app.add_typer(clients, name="clients")
app.add_typer(db, name="db")
app.add_typer(examples, name="examples")
app.add_typer(audit, name="audit")
app.add_typer(queue, name="queue")
app.add_typer(backends, name="backends")
app.add_typer(mappings, name="mappings")

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _banner(embedded: Embedded) -> None:
    lines = [
        "",
        "Asiakasohjaus gateway is running.",
        f"  API            {embedded.api}/v1/outcomes",
        f"  API docs       {embedded.api}/docs",
        f"  Console        {embedded.api}/console/",
        f"  Health         {embedded.api}/health/ready",
    ]
    for name, url in embedded.simulators.items():
        lines.append(f"  {name + ' sim':<14} {url}")
    if embedded.token:
        lines += [
            "",
            "  Access token (all scopes, valid 24 h; make more with 'gateway tokens create'):",
            f"  {embedded.token}",
            "",
            "  Try, in another terminal (posts every example, dated today):",
            f"  GATEWAY_TOKEN={embedded.token} {_command()} examples post --url {embedded.api}",
        ]
    typer.echo("\n".join(lines) + "\n")


def _command() -> str:
    """How this command was started, for instructions the user can paste (``.venv/bin/gateway``)."""
    started_as = Path(sys.argv[0])
    return str(started_as) if started_as.name == "gateway" else "gateway"


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    simulators: Annotated[bool, typer.Option(help="Run simulators for back-ends without a configured URL.")] = True,
    worker: Annotated[bool, typer.Option(help="Run the delivery worker in this process.")] = True,
) -> None:
    """The embedded default: API, worker and simulators in one process, on SQLite unless configured."""
    settings = settings_for(data_dir, public_url=f"http://{host}:{port}")
    interrupts = EchoedInterrupt()

    def announce(embedded: Embedded) -> None:
        interrupts.started()
        _banner(embedded)

    with interrupts.installed():
        try:
            asyncio.run(
                serve_embedded(
                    settings, host=host, port=port, with_simulators=simulators, with_worker=worker, announce=announce
                )
            )
        except ConfigurationError as exc:
            raise typer.BadParameter(str(exc)) from None


class EchoedInterrupt:
    """SIGINT for ``gateway serve`` and ``gateway api``: the echo of the Ctrl-C that stopped the server
    does not cut its cleanup short.

    While it serves, uvicorn handles SIGINT itself and stops; once stopped it raises the signal
    again. Under asyncio's own handler that echo cancels the cleanup still running (the worker
    finishing its claim, the database closing), and a SQLite connection cancelled mid-query can
    then leave its close waiting forever, so the process never exits. The echo is absorbed; a
    Ctrl-C before the server is up, or a second one during the cleanup, interrupts as usual.
    """

    def __init__(self) -> None:
        self.serving = False
        self.absorbed = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.serving and not self.absorbed:
            self.absorbed = True
            return
        raise KeyboardInterrupt

    def started(self) -> None:
        self.serving = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = signal.signal(signal.SIGINT, self)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


@app.command()
def api(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """The API alone (run 'gateway worker' beside it). Run 'gateway db upgrade' first."""
    settings = settings_for(data_dir)
    interrupts = EchoedInterrupt()
    with interrupts.installed():
        asyncio.run(serve_api(settings, host=host, port=port, on_started=interrupts.started))


@app.command("worker")
def worker_command(data_dir: DataDir = None) -> None:
    """The delivery worker alone. Back-end URLs come from settings (GATEWAY_LIFECARE__BASE_URL, ...)."""
    settings = settings_for(data_dir)
    try:
        asyncio.run(run_worker(settings))
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def simulator(
    name: Annotated[str, typer.Argument(help="Which back-end: " + ", ".join(b.name for b in BACKENDS))],
    host: Host = "127.0.0.1",
    port: Port = 8081,
) -> None:
    """Run one simulated back-end alone."""
    settings = settings_for()
    if name not in {b.name for b in BACKENDS}:
        raise typer.BadParameter(f"unknown simulator {name!r}; known: {', '.join(b.name for b in BACKENDS)}")
    asyncio.run(serve_simulator(name, settings, host=host, port=port))


@db.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or migrate the database to the newest schema."""
    settings = settings_for(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    typer.echo("database is up to date")


@examples.command("post")
def examples_post(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Example files or folders of them (default: examples/outcomes).", show_default=False),
    ] = None,
    url: Annotated[str, typer.Option(help="The gateway's base URL.")] = "http://127.0.0.1:8000",
    token: Annotated[
        str,
        typer.Option(
            envvar="GATEWAY_TOKEN",
            help="A token with outcomes:write and outcomes:read, e.g. the one 'gateway serve' prints.",
            show_default=False,
        ),
    ] = "",
    keep_ids: Annotated[
        bool,
        typer.Option(
            "--keep-ids",
            help="Keep the files' source outcome ids (default: a fresh suffix per run). "
            "Posting again the same day then replays the first answer.",
        ),
    ] = False,
    wait: Annotated[
        float,
        typer.Option(help="Wait up to this many seconds for each outcome's deliveries, and show how they ended."),
    ] = 0,
) -> None:
    """Post examples with their dates moved to today and the coming working days; show what became of them."""
    if not token:
        raise typer.BadParameter("give --token or set GATEWAY_TOKEN (gateway serve prints one)", param_hint="--token")
    try:
        files = [file for path in (paths or [shipped.default_folder()]) for file in shipped.example_files(path)]
        bodies = [shipped.read_example(file) for file in files]
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="PATHS") from None
    now = datetime.now(UTC)
    suffix = None if keep_ids else f"{now:%H%M%S}{secrets.token_hex(2)}"
    base = url.rstrip("/")
    failures = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for file, body in zip(files, bodies, strict=True):
            try:
                moved = shipped.move_dates(body, now=now, suffix=suffix)
                response = client.post("/v1/outcomes", json=moved)
                ok = _show_answer(file.name, response, base)
                if ok and wait > 0:
                    ok = _show_deliveries(client, response.json()["id"], wait)
            except ValueError as exc:
                typer.echo(f"{file.name}: {exc}")
                ok = False
            except httpx.TransportError as exc:
                typer.echo(f"cannot reach the gateway at {base} ({type(exc).__name__}); is 'gateway serve' running?")
                raise typer.Exit(1) from None
            failures += not ok
    if failures:
        typer.echo(f"{failures} of {len(files)} example(s) did not go through.")
        raise typer.Exit(1)


def _show_answer(name: str, response: httpx.Response, base: str) -> bool:
    answer: dict[str, Any] = response.json() if response.content else {}
    if response.status_code != 202:
        typer.echo(f"{name}: refused, {response.status_code} {answer.get('title', response.reason_phrase)}")
        for error in answer.get("errors", []):
            typer.echo(f"    {error.get('field')}: {error.get('message')}")
        return False
    replayed = " (a replay of the first answer)" if response.headers.get("Idempotent-Replayed") else ""
    typer.echo(f"{name}: accepted as {answer['id']}, source id {answer['source']['outcome_id']}{replayed}")
    actions = answer["plan"]["actions"]
    if answer["statistics_only"]:
        typer.echo("    statistics only: an anonymous statistics event, nothing delivered anywhere")
    for action in actions:
        typer.echo(f"    {action['backend']:<9} {action['kind']:<22} {action['explanation']}")
    typer.echo(f"    status    {base}/v1/outcomes/{answer['id']}")
    for inspect in shipped.inspection_urls(base, (a["backend"] for a in actions)):
        typer.echo(f"    simulator {inspect}")
    return True


def _show_deliveries(client: httpx.Client, outcome_id: str, seconds: float) -> bool:
    settled = shipped.settle(client, outcome_id, deadline=time.monotonic() + seconds)
    for delivery in settled.status["deliveries"]:
        typer.echo(f"    {delivery['status']:<9} {delivery['action_key']}: {delivery.get('status_reason') or ''}")
    if settled.timed_out:
        typer.echo(f"    still on the way after {seconds:g} s")
    return not settled.undelivered


def main() -> None:
    app()
