"""Bad input is a 4xx problem naming what is wrong, on every route and every database; never a 5xx.

Each body route gets a body that would otherwise be accepted, spoiled in one way. Nothing any test
here sends is accepted, so one gateway per database serves the whole module, and that nothing was
stored is checked against tables that stay empty throughout.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from gateway.api import create_app
from gateway.bodies import MAX_DEPTH, MAX_NUMBER_DIGITS
from gateway.logs import configure_logging
from gateway.security.clients import ensure_client
from gateway.security.tokens import SCOPES, create_token
from gateway.settings import GatewaySettings
from gateway.store.engine import create_engine, sync_url
from gateway.store.migrate import upgrade
from tests.conftest import DATABASES, POSTGRES_URL
from tests.support.databases import fresh_database
from tests.support.harness import ACTOR, TEST_SYSTEMS, Harness, booking_body, consent_body, example, future_window
from tests.support.servers import ThreadedServer

SOME_ID = "00000000-0000-4000-8000-000000000000"
SECRET = "Salainen-Arvo"  # part of every spoiled value: never to be seen in an answer or a log
STORING_TABLES = ("outcomes", "consents", "bookings", "deliveries", "statistics_events")


@dataclass(frozen=True)
class BodyRoute:
    path: str
    body: Callable[[], dict[str, Any]]  # a body the route would accept
    field: tuple[str, ...]  # a string member of it, to spoil

    @property
    def field_name(self) -> str:
        return ".".join(self.field)


BODY_ROUTES = [
    BodyRoute("/v1/outcomes", lambda: example("05"), ("client", "given_names")),
    BodyRoute("/v1/consents", consent_body, ("consenter", "family_name")),
    BodyRoute("/v1/consents/search", lambda: {"hetu": "091285-9192"}, ("hetu",)),
    BodyRoute(f"/v1/consents/{SOME_ID}/revoke", lambda: {"reason": "Peruttu", "revoked_by": dict(ACTOR)}, ("reason",)),
    BodyRoute(
        "/v1/kela/slots/search",
        lambda: {"topic": "KELA-ASUMISTUKI", "window": future_window(), "searched_by": dict(ACTOR)},
        ("searched_by", "worker_id"),
    ),
    BodyRoute("/v1/bookings", booking_body, ("client", "family_name")),
    BodyRoute(
        f"/v1/bookings/{SOME_ID}/cancel", lambda: {"reason": "Ei tarvetta", "cancelled_by": dict(ACTOR)}, ("reason",)
    ),
]
by_path = pytest.mark.parametrize("route", BODY_ROUTES, ids=[route.path.split("/", 2)[2] for route in BODY_ROUTES])


def spoiled(route: BodyRoute, literal: str) -> bytes:
    """The route's body as JSON with the member ``route.field`` replaced by a raw JSON ``literal``."""
    body = route.body()
    *parents, last = route.field
    place = body
    for key in parents:
        place = place[key]
    marker = f"@{uuid.uuid4().hex}@"
    place[last] = marker
    return json.dumps(body, ensure_ascii=False).replace(json.dumps(marker), literal).encode()


@dataclass
class Served:
    url: str
    token: str
    database_url: str
    logs: io.StringIO

    def count(self, table: str) -> int:
        engine = create_sync_engine(sync_url(self.database_url))
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=DATABASES)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The gateway API on a socket over a database of its own (PostgreSQL: a schema), its logs captured."""
    data_dir = tmp_path_factory.mktemp("bad-input")
    with fresh_database(request.param, data_dir, postgres_url=POSTGRES_URL) as url:
        upgrade(url)
        config = GatewaySettings(data_dir=data_dir, database_url=url)
        app = create_app(config)
        token = asyncio.run(_token(url))
        root = logging.getLogger()
        saved_handlers, saved_level = root.handlers[:], root.level
        server = ThreadedServer(app).start()
        logs = io.StringIO()
        configure_logging("INFO", "json", stream=logs)  # after uvicorn configured its own loggers: they join the root
        try:
            yield Served(server.url, token, url, logs)
        finally:
            server.stop()
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)


async def _token(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            client = await ensure_client(conn, name="bad-input", systems=list(TEST_SYSTEMS))
            _, token = await create_token(conn, name="bad-input", scopes=list(SCOPES), client_id=client.id)
        return token
    finally:
        await engine.dispose()


@pytest.fixture
async def api(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {served.token}"}
    async with httpx.AsyncClient(base_url=served.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def logged(served: Served) -> Callable[[], str]:
    """What the gateway logged since the test began."""
    start = len(served.logs.getvalue())
    return lambda: served.logs.getvalue()[start:]


async def post_raw(api: httpx.AsyncClient, path: str, body: bytes) -> httpx.Response:
    return await api.post(path, content=body, headers={"Content-Type": "application/json"})


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert SECRET not in response.text
    found: dict[str, Any] = response.json()
    return found


def named(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(error["field"], error["code"]) for error in answer["errors"]}


@by_path
async def test_nesting_deeper_than_the_limit_is_422_naming_the_body(api: httpx.AsyncClient, route: BodyRoute) -> None:
    deep = "[" * 1000 + "]" * 1000
    answer = problem(await post_raw(api, route.path, spoiled(route, deep)), 422)
    assert named(answer) == {("(body)", "too_deep")}
    assert str(MAX_DEPTH) in answer["errors"][0]["message"]


@by_path
async def test_an_integer_literal_past_the_limit_is_422_naming_its_field(
    api: httpx.AsyncClient, route: BodyRoute
) -> None:
    huge = "9" * 5000  # beyond Python's int-string conversion limit
    answer = problem(await post_raw(api, route.path, spoiled(route, huge)), 422)
    assert named(answer) == {(route.field_name, "number_too_long")}
    assert str(MAX_NUMBER_DIGITS) in answer["errors"][0]["message"]


@pytest.mark.parametrize("revision", [2**31, 2**63], ids=["2^31", "2^63"])
async def test_a_revision_past_a_32_bit_integer_is_422_naming_it(
    api: httpx.AsyncClient, served: Served, revision: int
) -> None:
    body = example("05")
    body["source"]["revision"] = revision
    answer = problem(await api.post("/v1/outcomes", json=body), 422)
    assert "source.revision" in {error["field"] for error in answer["errors"]}
    assert served.count("outcomes") == 0


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
async def test_a_time_at_the_edge_of_the_calendar_is_422_naming_it(
    api: httpx.AsyncClient, served: Served, moment: str
) -> None:
    body = example("05")
    body["contact"]["received_at"] = body["guidance"]["started_at"] = body["guidance"]["ended_at"] = moment
    answer = problem(await api.post("/v1/outcomes", json=body), 422)
    assert {"contact.received_at", "guidance.started_at", "guidance.ended_at"} <= {e["field"] for e in answer["errors"]}
    assert served.count("outcomes") == 0


@by_path
async def test_a_nul_character_in_a_body_string_is_422_naming_the_field_and_stores_nothing(
    api: httpx.AsyncClient, served: Served, logged: Callable[[], str], route: BodyRoute
) -> None:
    answer = problem(await post_raw(api, route.path, spoiled(route, f'"{SECRET}\\u0000x"')), 422)
    assert named(answer) == {(route.field_name, "unstorable_character")}
    assert [served.count(table) for table in STORING_TABLES] == [0] * len(STORING_TABLES)
    assert_clean(logged())


async def test_a_nul_character_in_a_member_name_is_422_naming_where_it_is(
    api: httpx.AsyncClient, served: Served
) -> None:
    body = json.dumps(example("05")).replace('"guidance": {', '"guidance": {"x\\u0000": 1, ', 1)
    answer = problem(await post_raw(api, "/v1/outcomes", body.encode()), 422)
    assert named(answer) == {("guidance", "unstorable_character")}
    assert served.count("outcomes") == 0


async def test_an_unpaired_surrogate_in_a_body_string_is_422_naming_the_field(
    api: httpx.AsyncClient, served: Served
) -> None:
    route = BODY_ROUTES[0]
    answer = problem(await post_raw(api, route.path, spoiled(route, f'"{SECRET}\\ud800"')), 422)
    assert named(answer) == {(route.field_name, "unstorable_character")}
    assert served.count("outcomes") == 0


PATH_ROUTES = [
    ("GET", "/v1/outcomes/{}", "outcome_id", None),
    ("GET", "/v1/consents/{}", "consent_id", None),
    ("POST", "/v1/consents/{}/revoke", "consent_id", {"reason": "Peruttu", "revoked_by": dict(ACTOR)}),
    ("GET", "/v1/bookings/{}", "booking_id", None),
    ("POST", "/v1/bookings/{}/cancel", "booking_id", {"reason": "Ei tarvetta", "cancelled_by": dict(ACTOR)}),
]


@pytest.mark.parametrize(("method", "template", "parameter", "body"), PATH_ROUTES, ids=[r[1] for r in PATH_ROUTES])
async def test_a_nul_character_in_a_path_parameter_is_422_naming_it(
    api: httpx.AsyncClient,
    logged: Callable[[], str],
    method: str,
    template: str,
    parameter: str,
    body: dict[str, Any] | None,
) -> None:
    response = await api.request(method, template.format(f"{SECRET}%00x"), json=body)
    answer = problem(response, 422)
    assert named(answer) == {(f"path.{parameter}", "unstorable_character")}
    assert answer["instance"] == template.format("{" + parameter + "}")
    assert_clean(logged())


@pytest.mark.parametrize("parameter", ["source_system", "source_outcome_id"])
async def test_a_nul_character_in_a_query_parameter_is_422_naming_it(
    api: httpx.AsyncClient, logged: Callable[[], str], parameter: str
) -> None:
    query = {"source_system": "asiakasohjaus-crm", parameter: f"{SECRET}\x00x"}
    answer = problem(await api.get("/v1/outcomes", params=query), 422)
    assert named(answer) == {(f"query.{parameter}", "unstorable_character")}
    assert_clean(logged())


@by_path
async def test_a_body_not_sent_as_json_is_415(api: httpx.AsyncClient, route: BodyRoute) -> None:
    response = await api.post(route.path, content=json.dumps(route.body()), headers={"Content-Type": "text/plain"})
    assert problem(response, 415)["title"] == "Unsupported media type"


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "application/json; charset=iso-8859-1", "application/jsonp"],
)
async def test_only_json_in_utf_8_is_read(api: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = await api.post("/v1/consents/search", content=b'{"hetu": "091285-9192"}', headers=headers)
    problem(response, 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=UTF-8", "application/vnd.example+json"])
async def test_json_with_a_utf_8_charset_or_a_json_suffix_is_read(api: httpx.AsyncClient, content_type: str) -> None:
    response = await api.post(
        "/v1/consents/search", content=b'{"hetu": "091285-9192"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 200 and response.json() == {"items": []}


async def test_the_largest_revision_a_32_bit_column_holds_is_stored(gw: Harness) -> None:
    body = example("05")
    body["source"]["revision"] = 2**31 - 1
    response = await gw.post(body)
    assert response.status_code == 202 and response.json()["source"]["revision"] == 2**31 - 1


def assert_clean(logs: str) -> None:
    """The request was logged, and nothing went wrong that the gateway had to report."""
    assert '"event": "request"' in logs
    assert "Traceback" not in logs and "unhandled error" not in logs and "database unavailable" not in logs
    assert SECRET not in logs
