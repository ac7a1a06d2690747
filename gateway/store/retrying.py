"""In-process retries of short database transactions across transient database errors.

A PostgreSQL restart or fail-over, a dropped connection, a serialisation failure or SQLite's
"database is locked" makes a transaction fail although nothing is wrong with it: tried again a
moment later, it succeeds. Such errors are retried here, in process, a few times with a small
exponential backoff and jitter, within a bounded total time; any other error (a constraint, a
syntax error, a bug) is raised at once. When the budget runs out the last error is raised as it
is, for the caller to handle as before.

Retry a whole transaction, never a statement inside one: a failed transaction is rolled back (or
its connection is gone), so the retry starts from a clean state::

    async for attempt in transient_db_retries(operation="claim"):
        with attempt:
            async with engine.begin() as conn:
                ...

or, for a coroutine function that runs one transaction::

    rows = await retry_transient(lambda: claim_once(engine), operation="claim")

One case needs thought: an error raised by the COMMIT itself leaves the outcome unknown (the
server may have committed before the connection dropped). Retry only a transaction that is safe
to run again after it committed: a guarded UPDATE that matches nothing the second time, an insert
keyed so that the repeat is recognised, a read.

Retries are logged with the operation, the try number, the wait and the error's type and SQLSTATE,
never the error's message: database errors quote the parameters they failed on, which may be
personal data.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from sqlalchemy.exc import DBAPIError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from gateway.logs import get_logger

log = get_logger("gateway.store.retrying")

T = TypeVar("T")

# PostgreSQL SQLSTATEs that say "the same transaction may well succeed if tried again".
_TRANSIENT_SQLSTATE_CLASSES = frozenset(
    {
        "08",  # connection exception: refused, lost, failed mid-way
        "40",  # transaction rollback: serialisation failure, deadlock detected
    }
)
_TRANSIENT_SQLSTATES = frozenset(
    {
        "53300",  # too_many_connections
        "55P03",  # lock_not_available
        "57P01",  # admin_shutdown: the server is restarting or a session was terminated
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the server is starting up or shutting down
    }
)
# SQLite's primary result codes for "another connection holds the lock".
_SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_SQLITE_BUSY_TEXT = ("database is locked", "database table is locked", "database is busy")


@dataclass(frozen=True, slots=True)
class TransientRetryPolicy:
    """How hard to try: ``attempts`` tries in all, waits from ``first_wait`` doubling up to ``max_wait``.

    Each wait gets up to ``jitter`` seconds of random extra so that workers knocked over by the
    same restart do not come back in step; no try starts later than ``max_seconds`` after the
    first one.
    """

    attempts: int = 6
    first_wait: float = 0.1
    max_wait: float = 2.0
    jitter: float = 0.1
    max_seconds: float = 8.0


DEFAULT_POLICY = TransientRetryPolicy()


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a database error that a retry of the same transaction may well get past.

    Transient: a connection SQLAlchemy found broken (``connection_invalidated``); psycopg's
    connection failures (no SQLSTATE: refused, reset, closed), connection exceptions (class 08),
    rollbacks for serialisation or deadlock (class 40), a server shutting down or starting up, too
    many connections, a lock not available; SQLite's busy and locked. Everything else, including
    other operational errors (a disk full, a cancelled statement, a missing table), is not.
    """
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, psycopg.OperationalError):
        sqlstate = exc.sqlstate
        return sqlstate is None or sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_BUSY_CODES
        return any(text in str(exc).lower() for text in _SQLITE_BUSY_TEXT)
    return False


def transient_db_retries(
    policy: TransientRetryPolicy = DEFAULT_POLICY,
    *,
    operation: str,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """A tenacity ``AsyncRetrying`` that retries transient database errors under ``policy``.

    ``operation`` names what is retried in the log lines (e.g. "claim", "commit outcome").
    ``sleep`` replaces ``asyncio.sleep`` (for tests). The last error is re-raised unchanged when
    the tries or the time run out; a non-transient error is raised at once.
    """
    return AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.max_seconds),
        wait=wait_exponential(multiplier=policy.first_wait, max=policy.max_wait) + wait_random(0, policy.jitter),
        before_sleep=_log_retry(operation),
        reraise=True,
        sleep=sleep if sleep is not None else asyncio.sleep,
    )


async def retry_transient(
    fn: Callable[[], Awaitable[T]],
    *,
    operation: str,
    policy: TransientRetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """Await ``fn()`` (one whole transaction), again after each transient database error."""
    async for attempt in transient_db_retries(policy, operation=operation, sleep=sleep):
        with attempt:
            return await fn()
    raise AssertionError("unreachable: tenacity either returns a result or re-raises")  # pragma: no cover


def describe(exc: BaseException) -> dict[str, str | None]:
    """A database error for a log line: its type, the driver's type and the SQLSTATE, never its message."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return {
        "error_type": type(exc).__name__,
        "driver_error": type(orig).__name__ if orig is not None else None,
        "sqlstate": getattr(orig if orig is not None else exc, "sqlstate", None),
    }


def _log_retry(operation: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "transient database error; retrying",
            operation=operation,
            attempt=state.attempt_number,
            wait_ms=round(wait * 1000),
            **(describe(exc) if exc is not None else {}),
        )

    return before_sleep
