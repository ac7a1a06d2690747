"""``gateway audit verify`` as an operator runs it: a clean chain passes, a tampered one names its row."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.audit.access import record_access
from gateway.store.engine import create_engine
from tests.e2e.test_cli import GATEWAY, clean_env
from tests.store.test_audit_chain import READER


def verify(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GATEWAY, "audit", "verify", "--data-dir", str(tmp_path)], capture_output=True, text=True, env=clean_env()
    )


def logged_reads(tmp_path: Path, count: int) -> Path:
    """A migrated database in ``tmp_path`` with ``count`` chained reads; returns the SQLite file."""
    assert verify(tmp_path).returncode == 0  # migrates the empty database

    async def append() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
        start = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
        try:
            for n in range(count):
                async with engine.begin() as conn:
                    await record_access(
                        conn,
                        READER,
                        record_type="outcome",
                        record_id=f"o-{n}",
                        subject_key=None,
                        route="/v1/outcomes/{outcome_id}",
                        purpose=None,
                        now=start + timedelta(minutes=n),
                    )
        finally:
            await engine.dispose()

    asyncio.run(append())
    return tmp_path / "gateway.db"


def tamper(database: Path, statement: str) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute(statement)


def test_verify_passes_on_a_clean_chain_and_counts_its_rows(tmp_path: Path) -> None:
    logged_reads(tmp_path, 7)
    result = verify(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "access_log: 7 rows verified" in result.stdout and "OK: 7 rows verified" in result.stdout


def test_verify_fails_naming_the_row_whose_field_was_updated(tmp_path: Path) -> None:
    tamper(logged_reads(tmp_path, 7), "UPDATE access_log SET record_id = 'o-x' WHERE id = 3")
    result = verify(tmp_path)
    assert result.returncode == 1
    assert "BROKEN: access_log row id 3" in result.stderr


def test_verify_fails_naming_the_row_after_one_deleted_in_the_middle(tmp_path: Path) -> None:
    tamper(logged_reads(tmp_path, 7), "DELETE FROM access_log WHERE id = 4")
    result = verify(tmp_path)
    assert result.returncode == 1
    assert "BROKEN: access_log row id 5" in result.stderr


def test_verify_fails_naming_a_row_inserted_with_a_forged_hash(tmp_path: Path) -> None:
    tamper(
        logged_reads(tmp_path, 3),
        "INSERT INTO access_log (accessed_at, client_id, client_name, actor, record_type, record_id, route, "
        "prev_hash, row_hash) SELECT accessed_at, client_id, client_name, 'intruder', record_type, 'o-forged', "
        f"route, row_hash, '{'e' * 64}' FROM access_log WHERE id = 3",
    )
    result = verify(tmp_path)
    assert result.returncode == 1
    assert "BROKEN: access_log row id 4" in result.stderr
