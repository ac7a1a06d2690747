"""An end-to-end harness: the gateway API and the simulators on real sockets, a worker in the test."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import text

from adapters.registry import BACKENDS, build_adapters
from gateway.api import create_app
from gateway.consents.service import refusal_for_delivery
from gateway.outbox.worker import Worker, utcnow
from gateway.security.clients import ensure_client
from gateway.security.tokens import SCOPES, create_token
from gateway.settings import GatewaySettings, WorkerSettings
from gateway.state import build_state
from gateway.store.engine import create_engine
from tests.support.servers import ThreadedServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "outcomes"

# The source systems the suite's own token speaks for (the examples' and the test fixtures').
TEST_SYSTEMS = ("asiakasohjaus-crm", "test-crm", "crm")


def example(name: str) -> dict[str, Any]:
    """An example outcome by file name prefix, e.g. ``example("05")``."""
    path = next(EXAMPLES.glob(f"{name}*.json"))
    body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return body


T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, seconds: float = 15, what: str = "the condition"
) -> T:
    """Poll ``check`` until it returns something other than None or False; that is the answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = await check()
        if found is not None and found is not False:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not come true in {seconds} s")
        await asyncio.sleep(0.02)


# Held after about half a second of failing; the circuit breaker stays out of the way of tests that
# are about something else (the breaker's own tests lower circuit_failures).
FAST_WORKER = WorkerSettings(
    concurrency=4,
    poll_seconds=0.05,
    lease_seconds=2,
    retry_horizon_hours=0.5 / 3600,
    base_delay_seconds=0.05,
    max_delay_seconds=0.2,
    circuit_failures=1000,
)


@dataclass
class Harness:
    settings: GatewaySettings
    api: httpx.AsyncClient
    simulators: dict[str, httpx.AsyncClient]  # for inspection and fault injection
    endpoints: dict[str, str]  # what the adapters are pointed at
    worker: Worker
    token: str

    @property
    def lifecare(self) -> httpx.AsyncClient:
        return self.simulators["lifecare"]

    @property
    def lifecare_url(self) -> str:
        return self.endpoints["lifecare"]

    async def token_for(self, client: str, *, scopes: list[str], systems: tuple[str, ...] = ()) -> str:
        """A new token of ``client`` (created if missing, owning ``systems``), with ``scopes``."""
        engine = create_engine(self.settings.resolved_database_url)
        try:
            async with engine.begin() as conn:
                owner = await ensure_client(conn, name=client, systems=list(systems))
                _, token = await create_token(conn, name=client, scopes=scopes, client_id=owner.id)
            return token
        finally:
            await engine.dispose()

    def as_token(self, token: str) -> httpx.AsyncClient:
        """A client of the gateway's API that calls with ``token``."""
        return httpx.AsyncClient(base_url=self.api.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def post(self, body: dict[str, Any], **params: Any) -> httpx.Response:
        return await self.api.post("/v1/outcomes", json=body, params=params)

    async def deliver(self) -> int:
        return await self.worker.run_until_idle()

    async def deliver_until_settled(self, outcome_id: str, *, seconds: float = 15) -> dict[str, Any]:
        """Run the worker until the outcome's deliveries stop moving (delivered, held, failed or cancelled).

        An ``unchanged`` delivery of a correction has settled when the delivery it points at has.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            await self.deliver()
            status = await self.status(outcome_id)
            settled = ("delivered", "held", "failed", "cancelled")
            if all(d.get("counts_as", d["status"]) in settled for d in status["deliveries"]):
                return status
            await asyncio.sleep(0.05)
        raise AssertionError("deliveries did not settle")

    async def status(self, outcome_id: str) -> dict[str, Any]:
        response = await self.api.get(f"/v1/outcomes/{outcome_id}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def resources(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = (await self.lifecare.get("/_sim/resources")).json()
        return found

    async def fault(self, backend: str = "lifecare", **rule: Any) -> str:
        """Add a fault rule to a simulator; returns the rule's id (the request log names it)."""
        response = await self.simulators[backend].post("/_sim/faults", json=rule)
        response.raise_for_status()
        rule_id: str = response.json()["id"]
        return rule_id

    async def requests(self, backend: str = "lifecare") -> list[dict[str, Any]]:
        """A simulator's request log, oldest first: method, path, fault (rule id), status, ms (None while running)."""
        log: list[dict[str, Any]] = (await self.simulators[backend].get("/_sim/requests")).json()["requests"]
        return log

    async def finished_request(self, backend: str, *, fault: str, seconds: float = 15) -> dict[str, Any]:
        """Wait until the request that met fault rule ``fault`` has arrived and been answered (or dropped)."""

        async def finished() -> dict[str, Any] | None:
            return next((r for r in await self.requests(backend) if r["fault"] == fault and r["ms"] is not None), None)

        return await eventually(finished, seconds=seconds, what=f"the {backend} request meeting fault {fault}")

    async def table_text(self) -> str:
        """Every row of every table, as text: for scanning what the database holds."""
        engine = create_engine(self.settings.resolved_database_url)
        try:
            chunks = []
            async with engine.connect() as conn:
                for table in (
                    "outcomes",
                    "deliveries",
                    "attempts",
                    "deadlines",
                    "statistics_events",
                    "disclosures",
                    "api_tokens",
                ):
                    rows = await conn.execute(text(f"SELECT * FROM {table}"))
                    chunks.extend(json.dumps([str(v) for v in row], ensure_ascii=False) for row in rows)
            return "\n".join(chunks)
        finally:
            await engine.dispose()

    async def count(self, table: str) -> int:
        engine = create_engine(self.settings.resolved_database_url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
        finally:
            await engine.dispose()


@asynccontextmanager
async def running_gateway(
    database_url: str,
    data_dir: Path,
    *,
    worker: WorkerSettings = FAST_WORKER,
    clock: Callable[[], datetime] = utcnow,
    rand: Callable[[], float] = random.random,
    api_clock: Callable[[], datetime] | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Gateway API + every simulator on real sockets, and a worker bound to the test's event loop.

    ``clock`` and ``rand`` are the test worker's (see :mod:`tests.support.clock`); the API keeps the wall
    clock unless ``api_clock`` is given (then its requests are measured against that, e.g. a deadline's state).
    """
    config = GatewaySettings(data_dir=data_dir, database_url=database_url, worker=worker, **settings)
    servers = {spec.name: ThreadedServer(spec.simulator(config)).start() for spec in BACKENDS}
    urls = {spec.name: servers[spec.name].url + spec.endpoint_suffix for spec in BACKENDS if spec.enabled(config)}
    api_state = build_state(config, endpoints=urls)
    if api_clock is not None:
        api_state.now = api_clock  # type: ignore[method-assign]
    api_server = ThreadedServer(create_app(config, state=api_state)).start()
    engine_state = build_state(config)
    async with engine_state.engine.begin() as conn:
        suite = await ensure_client(conn, name="test-suite", systems=list(TEST_SYSTEMS))
        _, token = await create_token(conn, name="test-suite", scopes=list(SCOPES), client_id=suite.id)
    test_worker = Worker(
        engine=engine_state.engine,
        adapters=build_adapters(config, urls),
        mappings=engine_state.mappings.current,
        settings=config.worker,
        consent_check=refusal_for_delivery,
        clock=clock,
        rand=rand,
    )
    api = httpx.AsyncClient(base_url=api_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    simulators = {name: httpx.AsyncClient(base_url=server.url, timeout=30) for name, server in servers.items()}
    try:
        yield Harness(config, api, simulators, urls, test_worker, token)
    finally:
        await api.aclose()
        for client in simulators.values():
            await client.aclose()
        await test_worker.aclose()
        await engine_state.engine.dispose()
        api_server.stop()
        for server in servers.values():
            server.stop()


def future_window(days: int = 4) -> dict[str, str]:
    """A booking window of the next working days (Finnish time): Kela offers no slots in the past."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from gateway.deadlines import add_working_days

    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Helsinki")).date()
    first = add_working_days(today, 1)
    return {"earliest": first.isoformat(), "latest": add_working_days(first, days).isoformat()}


def consent_body(hetu: str = "091285-9192", **changes: Any) -> dict[str, Any]:
    """A signed Kela Y100 consent for the client of example 09, naming Kela."""
    body: dict[str, Any] = {
        "consenter": {"hetu": hetu, "given_names": "Minna Johanna", "family_name": "Kelasuo"},
        "parties": ["kela", "social_care"],
        "purpose": "Kelan puhelinajan varaaminen ja etuusasian selvittäminen",
        "data_categories": ["identity_and_contact", "benefits"],
        "form": "signed_y100",
        "form_reference": "Y100-2026-4410",
        "recorded_by": {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"},
    }
    body.update(changes)
    return body


ACTOR = {"unit": "ASOHJ-KESKITETTY", "worker_id": "T-1042"}


def booking_body(**changes: Any) -> dict[str, Any]:
    """A Kela phone-appointment booking for the client of example 09, in the coming working days."""
    body: dict[str, Any] = {
        "client": {
            "hetu": "091285-9192",
            "given_names": "Minna Johanna",
            "family_name": "Kelasuo",
            "phone": "+358401234573",
        },
        "topic": "KELA-TYOTTOMYYS",
        "language": "fi",
        "municipality": "179",
        "window": future_window(),
        "notification": "sms",
        "booked_by": dict(ACTOR),  # a copy: bad-input tests change bodies in place
    }
    body.update(changes)
    return body
