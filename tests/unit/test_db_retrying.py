"""The retry policy for transient database errors: which errors count, and how they are retried."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from structlog.testing import capture_logs

from gateway.store.retrying import TransientRetryPolicy, is_transient, retry_transient, transient_db_retries

QUICK = TransientRetryPolicy(attempts=4, first_wait=0.01, max_wait=0.04, jitter=0.01, max_seconds=5)


def wrapped(orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    """``orig`` as SQLAlchemy raises it from a statement."""
    error = DBAPIError.instance(
        "UPDATE deliveries SET x = %(x)s", {"x": "131052-308T"}, orig, type(orig), connection_invalidated=invalidated
    )
    assert isinstance(error, DBAPIError)
    return error


def sqlite_locked(tmp_path: Path) -> sqlite3.OperationalError:
    """A real "database is locked": a second connection that will not wait for the first one's write lock."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        other.close()
        holder.close()
    raise AssertionError("the second connection got the write lock")


class Flaky:
    """A transaction that fails with ``error`` the first ``failures`` times, then returns ``"done"``."""

    def __init__(self, error: BaseException, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


class Waits:
    """``sleep`` for the retries: records each wait instead of sleeping."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


# -- which errors are transient --------------------------------------------------------------


def test_sqlite_database_is_locked_is_transient(tmp_path: Path) -> None:
    locked = sqlite_locked(tmp_path)
    assert locked.sqlite_errorcode == sqlite3.SQLITE_BUSY
    assert is_transient(wrapped(locked))


def test_a_sqlite_error_that_is_not_about_the_lock_is_not_transient() -> None:
    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as missing:
        conn.execute("SELECT * FROM no_such_table")
    assert not is_transient(wrapped(missing.value))


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("connection failed: Connection refused"),  # no SQLSTATE: client side
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),  # 57P01, a restart
        psycopg.errors.CannotConnectNow("the database system is starting up"),  # 57P03
        psycopg.errors.lookup("08006")("connection failure"),
        psycopg.errors.SerializationFailure("could not serialize access"),  # 40001
        psycopg.errors.DeadlockDetected("deadlock detected"),  # 40P01
        psycopg.errors.TooManyConnections("too many clients already"),  # 53300
    ],
    ids=lambda e: type(e).__name__,
)
def test_postgresql_connection_restart_and_rollback_errors_are_transient(error: psycopg.Error) -> None:
    assert is_transient(wrapped(error))
    assert is_transient(error)  # also unwrapped, as psycopg raises it


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.UniqueViolation("duplicate key value"),
        psycopg.errors.UndefinedTable("relation does not exist"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
        psycopg.errors.DiskFull("could not extend file"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_postgresql_errors_a_retry_cannot_get_past_are_not_transient(error: psycopg.Error) -> None:
    assert not is_transient(wrapped(error))


def test_any_error_on_a_connection_sqlalchemy_found_broken_is_transient() -> None:
    assert is_transient(wrapped(psycopg.InterfaceError("the connection is closed"), invalidated=True))


def test_what_is_not_a_database_error_is_not_transient() -> None:
    assert not is_transient(ValueError("no"))
    assert not is_transient(TimeoutError())


def test_sqlalchemy_wraps_errors_in_the_classes_the_classification_expects() -> None:
    assert isinstance(wrapped(psycopg.errors.AdminShutdown("x")), OperationalError)
    assert isinstance(wrapped(psycopg.errors.UniqueViolation("x")), IntegrityError)
    assert isinstance(wrapped(psycopg.errors.UndefinedTable("x")), ProgrammingError)


# -- how they are retried --------------------------------------------------------------------


async def test_a_transient_error_is_retried_until_the_transaction_succeeds() -> None:
    flaky, waits = Flaky(wrapped(psycopg.errors.AdminShutdown("x")), failures=2), Waits()
    assert await retry_transient(flaky, operation="claim", policy=QUICK, sleep=waits) == "done"
    assert flaky.calls == 3 and len(waits.seconds) == 2


async def test_waits_grow_exponentially_with_bounded_jitter() -> None:
    policy = TransientRetryPolicy(attempts=6, first_wait=0.1, max_wait=0.5, jitter=0.05, max_seconds=60)
    flaky, waits = Flaky(wrapped(psycopg.OperationalError("x")), failures=5), Waits()
    await retry_transient(flaky, operation="claim", policy=policy, sleep=waits)
    for wait, base in zip(waits.seconds, [0.1, 0.2, 0.4, 0.5, 0.5], strict=True):
        assert base <= wait <= base + 0.05


async def test_a_non_transient_error_is_raised_at_once() -> None:
    flaky, waits = Flaky(wrapped(psycopg.errors.UniqueViolation("duplicate")), failures=1), Waits()
    with pytest.raises(IntegrityError):
        await retry_transient(flaky, operation="store outcome", policy=QUICK, sleep=waits)
    assert flaky.calls == 1 and waits.seconds == []


async def test_after_the_last_try_the_original_error_is_raised_unchanged() -> None:
    error = wrapped(psycopg.errors.AdminShutdown("x"))
    flaky = Flaky(error, failures=100)
    with pytest.raises(OperationalError) as raised:
        await retry_transient(flaky, operation="claim", policy=QUICK, sleep=Waits())
    assert raised.value is error and flaky.calls == QUICK.attempts


async def test_no_try_starts_after_the_time_budget() -> None:
    policy = TransientRetryPolicy(attempts=100, first_wait=0.05, max_wait=0.05, jitter=0, max_seconds=0.3)
    flaky = Flaky(wrapped(psycopg.OperationalError("x")), failures=1000)
    started = time.monotonic()
    with pytest.raises(OperationalError):
        await retry_transient(flaky, operation="claim", policy=policy)
    assert time.monotonic() - started < 0.3 + 0.25  # the last wait may overrun a little on a busy machine
    assert 2 <= flaky.calls <= 7


async def test_the_async_for_form_retries_the_block() -> None:
    flaky, waits = Flaky(wrapped(psycopg.OperationalError("x")), failures=1), Waits()
    async for attempt in transient_db_retries(QUICK, operation="commit outcome", sleep=waits):
        with attempt:
            result = await flaky()
    assert result == "done" and flaky.calls == 2


async def test_a_retry_is_logged_with_the_error_type_and_sqlstate_never_its_message() -> None:
    flaky = Flaky(wrapped(psycopg.errors.AdminShutdown("terminating: hetu 131052-308T")), failures=1)
    with capture_logs() as logs:
        await retry_transient(flaky, operation="claim", policy=QUICK, sleep=Waits())
    [line] = [entry for entry in logs if entry["event"] == "transient database error; retrying"]
    assert line["operation"] == "claim" and line["attempt"] == 1 and line["log_level"] == "warning"
    assert line["error_type"] == "OperationalError" and line["driver_error"] == "AdminShutdown"
    assert line["sqlstate"] == "57P01"
    assert "131052-308T" not in str(line) and "terminating" not in str(line)
