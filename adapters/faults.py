"""Fault injection for the simulators: tell a simulator to misbehave for matching requests.

Every simulator wraps its ASGI app in :class:`FaultInjector`, which adds an admin API:

    POST   /_sim/faults     add a rule (JSON body, see :class:`FaultRule`); answers the rule with its id
    GET    /_sim/faults     list the active rules
    DELETE /_sim/faults     remove all rules
    GET    /_sim/requests   the request log (method, path, status, ms, fault id), newest last;
                            a request still in progress has ``"ms": null``
    DELETE /_sim/requests   clear the request log

A rule matches on method, a path regex and a substring of the body (e.g. a SOAP operation name),
and then answers an error status (with ``Retry-After``) or a raw body of its own, waits (latency, or long enough to time
the client out), or drops the connection before or after the real handler ran. ``times`` limits
how often a rule fires; after that it is removed. The error body is rendered by the simulator in
its own protocol (OperationOutcome, SOAP Fault).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ASGIApp = Callable[..., Any]
ErrorRenderer = Callable[["FaultRule"], tuple[bytes, str]]


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:8])
    method: str | None = Field(default=None, description="Match this HTTP method only.")
    path: str | None = Field(default=None, description="Regex searched in the request path.")
    body_contains: str | None = Field(default=None, description="Substring the request body must contain.")
    status: int | None = Field(default=None, ge=400, le=599, description="Answer this status instead.")
    retry_after: float | None = Field(default=None, ge=0, description="Retry-After header (seconds).")
    message: str = Field(default="injected fault", description="Text of the error body.")
    raw_body: str | None = Field(
        default=None, description="Answer exactly this body (status defaults to 200): malformed or hostile replies."
    )
    content_type: str = Field(default="text/xml; charset=utf-8", description="Content type of raw_body.")
    fault_code: str | None = Field(default=None, description="SOAP fault code for SOAP simulators.")
    latency: float = Field(default=0, ge=0, description="Seconds to wait before handling (or failing).")
    drop: Literal["before", "after"] | None = Field(
        default=None, description="Drop the connection before the handler runs, or after it ran (lost answer)."
    )
    times: int | None = Field(default=None, ge=1, description="Fire this many times, then remove the rule.")

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path and not re.search(self.path, path):
            return False
        return not (self.body_contains and self.body_contains.encode() not in body)


def _plain_error(rule: FaultRule) -> tuple[bytes, str]:
    return json.dumps({"error": rule.message}).encode(), "application/json"


class FaultInjector:
    """ASGI middleware holding the rules and the request log of one simulator instance."""

    def __init__(self, app: ASGIApp, *, render_error: ErrorRenderer = _plain_error, log_size: int = 2000) -> None:
        self.app = app
        self.render_error = render_error
        self.rules: list[FaultRule] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._lock = asyncio.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    async def _take(self, method: str, path: str, body: bytes) -> FaultRule | None:
        async with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, body):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times == 0:
                            self.rules.remove(rule)
                    return rule
        return None

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _local_path(scope)
        if path.startswith("/_sim/"):
            await self._admin(scope, receive, send)
            return
        body = await _read_all(receive)
        rule = await self._take(scope["method"], path, body)
        started = time.perf_counter()
        status_seen: list[int] = []

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": path,
            "fault": rule.id if rule else None,
            "status": None,
            "ms": None,
        }
        self.requests.append(entry)  # visible while in progress (status None), completed in place
        try:
            if rule is not None and rule.latency:
                await asyncio.sleep(rule.latency)
            if rule is not None and rule.drop == "before":
                await _drop(send)
            elif rule is not None and rule.drop == "after":
                await self.app(scope, replay, _swallow)
                await _drop(send)
            elif rule is not None and (rule.status is not None or rule.raw_body is not None):
                if rule.raw_body is not None:
                    payload, content_type = rule.raw_body.encode(), rule.content_type
                else:
                    payload, content_type = self.render_error(rule)
                headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode())]
                if rule.retry_after is not None:
                    headers.append((b"retry-after", str(int(rule.retry_after)).encode()))
                await recording_send({"type": "http.response.start", "status": rule.status or 200, "headers": headers})
                await send({"type": "http.response.body", "body": payload})
            else:
                await self.app(scope, replay, recording_send)
        finally:
            entry["status"] = status_seen[0] if status_seen else None
            entry["ms"] = round((time.perf_counter() - started) * 1000, 1)

    async def _admin(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        method, path = scope["method"], _local_path(scope)
        body = await _read_all(receive)
        status: int = 404
        answer: Any = {"error": f"no simulator admin route {method} {path}"}
        if path == "/_sim/faults" and method == "GET":
            status, answer = 200, {"rules": [r.model_dump() for r in self.rules]}
        elif path == "/_sim/faults" and method == "POST":
            try:
                rule = self.add(FaultRule.model_validate_json(body or b"{}"))
                status, answer = 201, rule.model_dump()
            except ValidationError as exc:
                status, answer = 422, {"error": "invalid fault rule", "details": json.loads(exc.json())}
        elif path == "/_sim/faults" and method == "DELETE":
            self.clear()
            status, answer = 200, {"rules": []}
        elif path == "/_sim/requests" and method == "GET":
            status, answer = 200, {"requests": list(self.requests)}
        elif path == "/_sim/requests" and method == "DELETE":
            self.requests.clear()
            status, answer = 200, {"requests": []}
        elif path.startswith("/_sim/") and hasattr(self.app, "sim_admin"):
            status, answer = await self.app.sim_admin(method, path, body)
        payload = json.dumps(answer, default=str).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _local_path(scope: dict[str, Any]) -> str:
    """The path below the simulator's mount point (Starlette keeps the mount prefix in ``path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


async def _read_all(receive: Callable[..., Any]) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _swallow(_message: dict[str, Any]) -> None:
    return None


class DroppedConnection(Exception):
    """Raised inside the server after a partial response, so it closes the socket mid-answer."""


async def _drop(send: Callable[..., Any]) -> None:
    # An ASGI app cannot close a socket directly, and a server answers 500 to an app that fails
    # before responding. Starting a response that promises a body and then failing makes the
    # server abort the connection: the client sees a dropped connection, not an HTTP error.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise DroppedConnection("connection dropped by fault injection")
