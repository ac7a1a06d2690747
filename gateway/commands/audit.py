"""``gateway audit``: verify the käyttöloki and luovutusloki chains; apply their retention now."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.retention import sweep_audit_logs
from gateway.audit.verify import ChainReport, verify_all
from gateway.commands.database import DataDir, settings_for, with_engine

audit = typer.Typer(help="The access and disclosure logs (käyttöloki, luovutusloki).", no_args_is_help=True)


def _describe(report: ChainReport) -> str:
    anchored = (
        f", starting after row {report.anchor.last_removed_id} ({report.anchor.removed_rows} rows removed by retention)"
        if report.anchor.removed_rows
        else ""
    )
    return f"{report.chain}: {report.rows_checked} rows verified{anchored}; head {report.head}"


@audit.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Walk both hash chains; exit 1 naming the first broken row (table and id) if one is found.

    Note the printed head hashes somewhere else: a later head that does not descend from them
    shows rows deleted from the end, which no chain can show by itself.
    """

    async def work(engine: AsyncEngine) -> tuple[list[ChainReport], float]:
        started = time.perf_counter()
        return await verify_all(engine), time.perf_counter() - started

    reports, seconds = with_engine(settings_for(data_dir), work)
    for report in reports:
        typer.echo(_describe(report))
    broken = [r.broken for r in reports if r.broken is not None]
    for found in broken:
        typer.echo(f"BROKEN: {found.chain} row id {found.row_id}: {found.reason}", err=True)
    total = sum(r.rows_checked for r in reports)
    typer.echo(f"{'FAILED' if broken else 'OK'}: {total} rows verified in {seconds:.2f} s")
    if broken:
        raise typer.Exit(1)


@audit.command("sweep")
def audit_sweep(
    data_dir: DataDir = None,
    retention_days: Annotated[
        int | None, typer.Option(min=1, help="Override GATEWAY_WORKER__AUDIT_RETENTION_DAYS for this run.")
    ] = None,
) -> None:
    """Delete log rows older than the retention now (the worker does this every minute)."""
    settings = settings_for(data_dir)
    days = retention_days or settings.worker.audit_retention_days

    async def work(engine: AsyncEngine) -> dict[str, int]:
        return await sweep_audit_logs(engine, retention_days=days, now=datetime.now(UTC))

    removed = with_engine(settings, work)
    typer.echo(", ".join(f"{chain}: {count} rows removed" for chain, count in removed.items()))
