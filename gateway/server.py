"""Running the gateway: the API, the worker, and (embedded default) the simulators beside them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import prometheus_client
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.registry import BACKENDS, build_adapters, endpoints
from gateway.api import create_app
from gateway.consents.service import refusal_for_delivery
from gateway.examples import example_systems
from gateway.logs import get_logger
from gateway.mapsets.watch import watching
from gateway.outbox.worker import Worker
from gateway.security.clients import ensure_client
from gateway.security.tokens import SCOPES, create_token
from gateway.settings import GatewaySettings
from gateway.state import GatewayState, build_state
from gateway.store.migrate import upgrade

log = get_logger("gateway.server")


def build_worker(state: GatewayState, urls: dict[str, str]) -> Worker:
    return Worker(
        engine=state.engine,
        adapters=build_adapters(state.settings, urls),
        mappings=state.mappings.current,
        settings=state.settings.worker,
        consent_check=refusal_for_delivery,
        metrics=state.metrics,
    )


@dataclass
class Embedded:
    """What ``gateway serve`` starts, for the banner."""

    api: str
    simulators: dict[str, str]
    token: str | None


def _uvicorn(app: Any, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
    )
    return uvicorn.Server(config)


async def serve_embedded(
    settings: GatewaySettings,
    *,
    host: str,
    port: int,
    with_simulators: bool = True,
    with_worker: bool = True,
    announce: Callable[[Embedded], None] | None = None,
) -> None:
    """The embedded default: migrate, then serve the API (and simulators) and run the worker in one process."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104 - comparing, not binding
    simulators = {
        spec.name: spec.simulator(settings)
        for spec in BACKENDS
        if with_simulators and spec.configured_url(settings) is None
    }
    urls = endpoints(settings, simulators_base=base if simulators else None)
    state = build_state(settings, endpoints=urls)
    routes = [Mount(spec.mount, app=simulators[spec.name]) for spec in BACKENDS if spec.name in simulators]
    routes.append(Mount("/", app=create_app(settings, state=state)))
    server = _uvicorn(Starlette(routes=routes), host, port)
    worker = build_worker(state, urls) if with_worker else None
    token = None
    if announce is not None:
        async with state.engine.begin() as conn:
            console = await ensure_client(conn, name="local-console", systems=example_systems())
            _, token = await create_token(
                conn, name="serve-console", scopes=list(SCOPES), client_id=console.id, ttl=timedelta(hours=24)
            )
    stop = asyncio.Event()

    async def once_listening() -> None:
        # The worker waits for the port so that its first deliveries to the embedded simulators
        # do not meet a closed port.
        if not await until_listening(server):
            return
        if announce is not None:
            announce(Embedded(api=base, simulators={n: base + backend_mount(n) for n in simulators}, token=token))
        if worker is not None:
            await worker.run(stop)

    background = asyncio.create_task(once_listening())
    try:
        async with watching(state):
            await server.serve()
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(background, timeout=settings.worker.lease_seconds)
        if worker is not None:
            await worker.aclose()
        await state.aclose()


def backend_mount(name: str) -> str:
    return next(spec.mount for spec in BACKENDS if spec.name == name)


async def serve_api(
    settings: GatewaySettings, *, host: str, port: int, on_started: Callable[[], None] | None = None
) -> None:
    """The API alone (the worker runs as its own process): for deployments with PostgreSQL."""
    app = create_app(settings)
    server = _uvicorn(app, host, port)

    async def announce() -> None:
        if await until_listening(server) and on_started is not None:
            on_started()

    watcher = asyncio.create_task(announce())
    try:
        async with watching(app.state.gateway):
            await server.serve()
    finally:
        watcher.cancel()
        await app.state.gateway.aclose()


async def until_listening(server: uvicorn.Server) -> bool:
    """Wait until ``server`` listens (True) or gives up starting (False).

    uvicorn exposes "started" only as a flag, so it is polled.
    """
    while not server.started and not server.should_exit:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return bool(server.started)


async def run_worker(settings: GatewaySettings) -> None:
    """The worker alone, until SIGINT/SIGTERM."""
    urls = endpoints(settings, simulators_base=None)
    state = build_state(settings, endpoints=urls)
    worker = build_worker(state, urls)
    exposed = settings.worker_metrics
    if exposed.port is not None:
        # The API's /metrics shows the shared queue; attempts and latencies are counted where they happen.
        prometheus_client.start_http_server(exposed.port, addr=exposed.host, registry=state.metrics.registry)
        log.info("worker metrics exposed", port=exposed.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with watching(state):
            await worker.run(stop)
    finally:
        await worker.aclose()
        await state.aclose()


async def serve_simulator(name: str, settings: GatewaySettings, *, host: str, port: int) -> None:
    spec = next((s for s in BACKENDS if s.name == name), None)
    if spec is None:
        raise SystemExit(f"unknown simulator {name!r}")
    app = Starlette(routes=[Mount(spec.mount, app=spec.simulator(settings))])
    await _uvicorn(app, host, port).serve()
