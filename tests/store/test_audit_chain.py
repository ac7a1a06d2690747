"""The käyttöloki and luovutusloki chains on each database: verification, tampering, retention, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.access import record_access
from gateway.audit.retention import sweep_audit_logs
from gateway.audit.verify import verify_all
from gateway.security.tokens import Principal
from gateway.store.schema import access_log
from tests.conftest import POSTGRES_URL

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
READER = Principal(
    token_id="t-1",
    name="crm-reader",
    scopes=frozenset({"personal:read"}),
    client_id="c-1",
    client_name="Asiakasohjaus CRM",
    systems=frozenset({"crm"}),
    user="ohjaaja-17",
)


async def append_reads(engine: AsyncEngine, count: int, *, start: datetime = START, step_days: float = 1) -> None:
    for n in range(count):
        async with engine.begin() as conn:
            await record_access(
                conn,
                READER,
                record_type="outcome",
                record_id=f"outcome-{n}",
                subject_key=f"{n % 3:064d}",
                route="/v1/outcomes/{outcome_id}",
                purpose="asiakasohjaus",
                now=start + timedelta(days=n * step_days),
            )


async def tamper(engine: AsyncEngine, statement: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def access_report(engine: AsyncEngine) -> tuple[int, tuple[str, int] | None]:
    report = next(r for r in await verify_all(engine) if r.chain == "access_log")
    return report.rows_checked, (report.broken.chain, report.broken.row_id) if report.broken else None


async def test_a_clean_chain_verifies_every_row(engine: AsyncEngine) -> None:
    await append_reads(engine, 12)
    assert await access_report(engine) == (12, None)


async def test_an_empty_log_verifies(engine: AsyncEngine) -> None:
    reports = await verify_all(engine)
    assert [(r.chain, r.rows_checked, r.broken) for r in reports] == [("access_log", 0, None), ("disclosures", 0, None)]


async def test_an_updated_field_breaks_the_chain_at_that_row(engine: AsyncEngine) -> None:
    await append_reads(engine, 10)
    await tamper(engine, "UPDATE access_log SET purpose = 'uteliaisuus' WHERE id = 4")
    assert await access_report(engine) == (3, ("access_log", 4))


async def test_a_row_edited_and_rehashed_breaks_the_chain_at_the_next_row(engine: AsyncEngine) -> None:
    await append_reads(engine, 10)
    await tamper(engine, "UPDATE access_log SET purpose = 'x', row_hash = :forged WHERE id = 4", forged="a" * 64)
    # Row 4's own hash no longer matches its fields: that is where it breaks first.
    assert await access_report(engine) == (3, ("access_log", 4))


async def test_a_deleted_row_in_the_middle_breaks_the_chain_at_the_row_after_it(engine: AsyncEngine) -> None:
    await append_reads(engine, 10)
    await tamper(engine, "DELETE FROM access_log WHERE id = 6")
    assert await access_report(engine) == (5, ("access_log", 7))


async def test_a_deleted_head_without_a_sweep_breaks_the_chain_at_the_first_row(engine: AsyncEngine) -> None:
    await append_reads(engine, 5)
    await tamper(engine, "DELETE FROM access_log WHERE id <= 2")
    assert await access_report(engine) == (0, ("access_log", 3))


async def test_an_inserted_row_with_a_forged_hash_is_found(engine: AsyncEngine) -> None:
    await append_reads(engine, 5)
    async with engine.begin() as conn:
        last = (await conn.execute(select(access_log.c.row_hash).where(access_log.c.id == 5))).scalar_one()
        await conn.execute(
            insert(access_log).values(
                accessed_at=START,
                client_id="c-1",
                client_name="Asiakasohjaus CRM",
                actor="someone",
                record_type="outcome",
                record_id="forged",
                route="/v1/outcomes/{outcome_id}",
                prev_hash=last,
                row_hash="f" * 64,
            )
        )
    assert await access_report(engine) == (5, ("access_log", 6))


async def test_a_retention_sweep_deletes_old_rows_and_keeps_the_chain_verifiable(engine: AsyncEngine) -> None:
    await append_reads(engine, 10)  # one read a day from START
    removed = await sweep_audit_logs(engine, retention_days=30, now=START + timedelta(days=34, hours=1))
    assert removed == {"access_log": 5, "disclosures": 0}
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.min(access_log.c.id)))).scalar_one() == 6
    assert await access_report(engine) == (5, None)


async def test_sweeps_one_after_another_move_the_anchor_and_stay_verifiable(engine: AsyncEngine) -> None:
    await append_reads(engine, 10)
    for day in (32, 33, 36):
        await sweep_audit_logs(engine, retention_days=30, now=START + timedelta(days=day, hours=1))
    await append_reads(engine, 2, start=START + timedelta(days=40))
    assert await access_report(engine) == (5, None)


async def test_a_sweep_in_small_batches_removes_the_same_rows(engine: AsyncEngine) -> None:
    await append_reads(engine, 10)
    removed = await sweep_audit_logs(engine, retention_days=30, now=START + timedelta(days=37, hours=1), batch=3)
    assert removed["access_log"] == 8
    assert await access_report(engine) == (2, None)


async def test_a_sweep_keeps_a_row_stamped_out_of_order_until_the_rows_before_it_expire(engine: AsyncEngine) -> None:
    # Days 0, 90, 2 (workers' clocks disagree): the sweep deletes a prefix, never opens a hole.
    for day in (0, 90, 2):
        await append_reads(engine, 1, start=START + timedelta(days=day))
    removed = await sweep_audit_logs(engine, retention_days=30, now=START + timedelta(days=60))
    assert removed["access_log"] == 1
    assert await access_report(engine) == (2, None)


async def test_a_sweep_deletes_nothing_from_a_broken_part_of_the_chain(engine: AsyncEngine) -> None:
    await append_reads(engine, 6)
    await tamper(engine, "UPDATE access_log SET actor = 'someone-else' WHERE id = 2")
    removed = await sweep_audit_logs(engine, retention_days=1, now=START + timedelta(days=100))
    assert removed["access_log"] == 0
    assert await access_report(engine) == (1, ("access_log", 2))


async def test_a_row_put_back_below_the_anchor_is_found(engine: AsyncEngine) -> None:
    await append_reads(engine, 6)
    await sweep_audit_logs(engine, retention_days=30, now=START + timedelta(days=32, hours=1))  # removes 1..3
    async with engine.begin() as conn:
        await conn.execute(update(access_log).where(access_log.c.id == 4).values(id=2))
    assert (await access_report(engine))[1] == ("access_log", 2)


if POSTGRES_URL:

    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_concurrent_appends_on_postgresql_never_fork_the_chain(engine: AsyncEngine) -> None:
        async def appender(name: str) -> None:
            for n in range(50):
                async with engine.begin() as conn:
                    await record_access(
                        conn,
                        READER,
                        record_type="outcome",
                        record_id=f"{name}-{n}",
                        subject_key=None,
                        route="/v1/outcomes/{outcome_id}",
                        purpose=None,
                        now=START,
                    )

        await asyncio.gather(appender("a"), appender("b"))
        async with engine.connect() as conn:
            forks = await conn.execute(
                select(access_log.c.prev_hash).group_by(access_log.c.prev_hash).having(func.count() > 1)
            )
            assert forks.all() == []
        assert await access_report(engine) == (100, None)
