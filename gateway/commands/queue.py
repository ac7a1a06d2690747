"""``gateway queue`` and ``gateway backends``: the delivery queues and the back-ends, from the operator's shell.

These talk to the database directly, as the other database commands do: whoever runs them can
read the database anyway. Payloads are still never printed (the API shows them, logged, to a
token with ``personal:read``), and texts pass the pattern safety net. Every move is recorded in
the action log as ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.commands.database import DataDir, in_transaction, settings_for
from gateway.masking import WITHHELD
from gateway.ops import queries
from gateway.ops.models import MAX_AGE_SECONDS
from gateway.outbox import operations
from gateway.outbox.states import Status
from gateway.redaction import mask_patterns

queue = typer.Typer(help="The delivery queues: list, show, replay, release, cancel.", no_args_is_help=True)
backends = typer.Typer(help="Each back-end's circuit, queue depth, backlog age, error rate and latency.")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")

StatusOpt = Annotated[list[Status] | None, typer.Option("--status", help="Repeat for several statuses.")]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="lifecare, kanta or kela.")]
KindOpt = Annotated[str | None, typer.Option("--kind", help="The delivery kind, e.g. kela_booking.")]
SourceOpt = Annotated[str | None, typer.Option("--source-system", help="The source system of the outcome.")]
OutcomeOpt = Annotated[str | None, typer.Option("--outcome", help="The gateway's or the source's outcome id.")]
OlderOpt = Annotated[str | None, typer.Option("--older-than", help="Created at least this long ago: 90s, 30m, 2h, 1d.")]
ErrorOpt = Annotated[str | None, typer.Option("--error", help="Text the last error contains.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]


def seconds_of(duration: str) -> float:
    """``2h`` → 7200.0; a bare number is seconds."""
    found = _DURATION.match(duration)
    if found is None:
        raise typer.BadParameter(f"{duration!r} is not a duration like 90s, 30m, 2h or 1d", param_hint="--older-than")
    seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if not 0 < seconds <= MAX_AGE_SECONDS:
        raise typer.BadParameter("give an age above zero and within a century", param_hint="--older-than")
    return seconds


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Plain columns, each as wide as its widest cell."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells)


def _safe(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    one_line = " ".join(mask_patterns(text).split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def _filter(
    status: list[Status] | None,
    backend: str | None,
    kind: str | None,
    source_system: str | None,
    outcome: str | None,
    older_than: str | None,
    error: str | None,
) -> queries.DeliveryFilter:
    return queries.DeliveryFilter(
        statuses=tuple(s.value for s in status or ()),
        backend=backend,
        kind=kind,
        source_system=source_system,
        outcome_id=outcome,
        older_than_seconds=seconds_of(older_than) if older_than else None,
        error_contains=error,
    )


def _now() -> datetime:
    return datetime.now(UTC)


@queue.command("ls")
def queue_ls(
    status: StatusOpt = None,
    backend: BackendOpt = None,
    kind: KindOpt = None,
    source_system: SourceOpt = None,
    outcome: OutcomeOpt = None,
    older_than: OlderOpt = None,
    error: ErrorOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many.")] = 50,
    as_json: JsonOpt = False,
    data_dir: DataDir = None,
) -> None:
    """List deliveries, oldest first, with counts by status."""
    selection = _filter(status, backend, kind, source_system, outcome, older_than, error)

    async def work(conn: AsyncConnection) -> queries.DeliveryPage:
        return await queries.list_deliveries(conn, selection, cursor=None, limit=limit, now=_now())

    page = in_transaction(settings_for(data_dir), work)
    items = [
        {**item, "last_error": mask_patterns(item["last_error"]) if item["last_error"] else None} for item in page.items
    ]
    if as_json:
        typer.echo(json.dumps({"items": items, "total": page.total, "counts": page.counts}, indent=2))
        return
    rows = [
        (d["id"], d["backend"], d["kind"], d["status"], d["attempts"], d["created_at"][:19], _safe(d["last_error"]))
        for d in items
    ]
    typer.echo(table(rows, ("ID", "BACKEND", "KIND", "STATUS", "TRIES", "CREATED", "LAST ERROR")))
    counts = ", ".join(f"{n} {s}" for s, n in sorted(page.counts.items()))
    typer.echo(f"\n{len(items)} of {page.total} shown; by status: {counts or 'none'}")


@queue.command("show")
def queue_show(delivery_id: str, as_json: JsonOpt = False, data_dir: DataDir = None) -> None:
    """One delivery whole: attempts, references, reason and source (never its payload)."""

    async def work(conn: AsyncConnection) -> dict[str, Any] | None:
        return await queries.delivery_detail(conn, delivery_id)

    found = in_transaction(settings_for(data_dir), work)
    if found is None:
        raise typer.BadParameter(f"no delivery {delivery_id}", param_hint="ID")
    found.pop("client_key")
    found["payload"] = None if found["payload"] is None else WITHHELD
    for attempt in found["attempt_history"]:
        attempt["message"] = mask_patterns(attempt["message"]) if attempt["message"] else None
    found["last_error"] = mask_patterns(found["last_error"]) if found["last_error"] else None
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    skip = {"attempt_history", "references", "payload"}
    typer.echo(table([(k, v) for k, v in found.items() if k not in skip], ("FIELD", "VALUE")))
    typer.echo(f"references  {json.dumps(found['references'])}\n")
    history = [
        (a["number"], a["started_at"][:19], a["duration_ms"], a["result"], a["backend_status"], _safe(a["message"]))
        for a in found["attempt_history"]
    ]
    typer.echo(table(history, ("#", "STARTED", "MS", "RESULT", "BACKEND STATUS", "MESSAGE")))


def _act(
    action: str,
    ids: list[str] | None,
    selection: queries.DeliveryFilter,
    reason: str | None,
    dry_run: bool,
    yes: bool,
    data_dir: Any,
) -> None:
    chosen: queries.DeliveryFilter | list[str] = list(ids) if ids else selection
    if not ids and selection == queries.DeliveryFilter():
        raise typer.BadParameter("name deliveries by ID or by at least one filter option")
    if not dry_run and not (reason or "").strip():
        raise typer.BadParameter("a reason is required (it goes to the action log)", param_hint="--reason")
    user = getpass.getuser()
    operator = operations.Operator("cli", "command line", f"cli:{user}", user)
    settings = settings_for(data_dir)
    move = {"replay": operations.replay, "release": operations.release, "cancel": operations.cancel}[action]

    def run(trial: bool) -> operations.ActionResult:
        async def work(conn: AsyncConnection) -> operations.ActionResult:
            return await move(conn, selection=chosen, operator=operator, reason=reason or "", now=_now(), dry_run=trial)

        return in_transaction(settings, work)

    if not dry_run and not yes:
        preview = run(True)
        _report(preview)
        if not preview.matched:
            raise typer.Exit(1)
        typer.confirm(f"{action} {len(preview.matched)} deliveries?", abort=True)
    _report(run(dry_run))


def _report(result: operations.ActionResult) -> None:
    verb = "would move" if result.dry_run else "moved"
    for delivery_id, why in result.refused:
        typer.echo(f"refused  {delivery_id}  {why}")
    listed = result.matched if result.dry_run else result.moved
    for delivery_id in listed:
        typer.echo(f"{'match' if result.dry_run else 'moved'}    {delivery_id}")
    typer.echo(f"{result.action}: {verb} {len(listed)}, refused {len(result.refused)}")


def _register(action: str, summary: str) -> None:
    @queue.command(action, help=summary)
    def command(
        ids: Annotated[list[str] | None, typer.Argument(help="Delivery ids (or use the filter options).")] = None,
        reason: Annotated[str | None, typer.Option("--reason", help="Why: kept in the action log.")] = None,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would move; move nothing.")] = False,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
        status: StatusOpt = None,
        backend: BackendOpt = None,
        kind: KindOpt = None,
        source_system: SourceOpt = None,
        outcome: OutcomeOpt = None,
        older_than: OlderOpt = None,
        error: ErrorOpt = None,
        data_dir: DataDir = None,
    ) -> None:
        selection = _filter(status, backend, kind, source_system, outcome, older_than, error)
        _act(action, ids, selection, reason, dry_run, yes, data_dir)


_register("replay", "Send deliveries again (delivered, held, failed, cancelled), as the same delivery.")
_register("release", "Retry held or failed deliveries with a fresh retry budget.")
_register("cancel", "Cancel deliveries not yet delivered; the reason is kept as their status reason.")


@backends.callback(invoke_without_command=True)
def backends_show(as_json: JsonOpt = False, data_dir: DataDir = None) -> None:
    """Each back-end: circuit, depth by status, oldest pending, last success, error rate and latency (15 min)."""

    async def work(conn: AsyncConnection) -> list[dict[str, Any]]:
        return await queries.backend_health(conn, now=_now())

    health = in_transaction(settings_for(data_dir), work)
    if as_json:
        typer.echo(json.dumps(health, indent=2))
        return
    rows = [
        (
            b["backend"],
            b["circuit"]["state"],
            " ".join(f"{s}={n}" for s, n in sorted(b["depth"].items())) or "-",
            "" if b["oldest_pending_seconds"] is None else f"{b['oldest_pending_seconds']:.0f}s",
            (b["last_success_at"] or "")[:19],
            b["attempts"],
            "" if b["error_rate"] is None else f"{b['error_rate']:.0%}",
            b["latency_ms"]["p50"],
            b["latency_ms"]["p95"],
        )
        for b in health
    ]
    headers = ("BACKEND", "CIRCUIT", "DEPTH", "OLDEST", "LAST SUCCESS", "TRIES", "ERRORS", "P50 MS", "P95 MS")
    typer.echo(table(rows, headers))
