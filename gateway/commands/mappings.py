"""``gateway mappings``: validate, diff, dry-run, activate and roll back mapping versions; their history.

``validate`` needs only a folder; the others work on the database (``--data-dir`` or
``GATEWAY_DATABASE_URL``). Changes are recorded as ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.commands.database import DataDir, settings_for, with_engine
from gateway.mapsets import service, store
from gateway.mapsets.document import Document, DocumentError, document_from_folder, parse
from gateway.mapsets.dryrun import Sample
from gateway.settings import GatewaySettings

mappings = typer.Typer(
    help="Mapping versions: validate, diff, dry-run, activate, roll back, history.", no_args_is_help=True
)

Folder = Annotated[Path, typer.Argument(help="A mapping folder (the YAML files).", show_default=False)]
Comment = Annotated[str | None, typer.Option(help="Kept in the history with your name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _read(folder: Path) -> Document:
    try:
        document = document_from_folder(folder)
    except DocumentError as exc:
        for where, message in exc.problems:
            typer.echo(f"{where}: {message}", err=True)
        raise typer.Exit(1) from None
    try:
        return service.checked(document)
    except service.InvalidMappings as exc:
        typer.echo(f"{folder}: {len(exc.problems)} problem(s)", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem.location or '/'}: {problem.message}", err=True)
        raise typer.Exit(1) from None


async def _ready(engine: AsyncEngine, settings: GatewaySettings) -> None:
    """A database never started has no version yet: the folder's set becomes version 1, as on a first start."""
    await store.ensure_initial(engine, document=document_from_folder(settings.mappings_dir), actor=_actor(), now=_now())


@mappings.command("validate")
def validate(folder: Folder) -> None:
    """Check a folder: every problem is listed; exit 1 if there is any."""
    document = _read(folder)
    typer.echo(f"{folder}: valid ({parse(document).version})")


@mappings.command("diff")
def diff(folder: Folder, as_json: JsonOpt = False, data_dir: DataDir = None) -> None:
    """What a folder changes against the active version."""
    document = _read(folder)
    settings = settings_for(data_dir)

    async def work(engine: AsyncEngine) -> dict[str, Any]:
        await _ready(engine, settings)
        async with engine.connect() as conn:
            number = await store.active_number(conn)
            assert number is not None
            active = await service.document_of(conn, number)
        return service.describe_diff(active, document, base=number, number=None)

    result = with_engine(settings, work)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    counts = result["summary"]
    typer.echo(
        f"against active version {result['from']}: {counts['added']} added, {counts['removed']} removed, "
        f"{counts['changed']} changed"
    )
    for d in result["differences"]:
        shown = {"added": f"+ {d['new']!r}", "removed": f"- {d['old']!r}", "changed": f"{d['old']!r} -> {d['new']!r}"}
        typer.echo(f"  {d['change']:<8} {d['path']}: {shown[d['change']]}")


@mappings.command("dry-run")
def dry_run(
    folder: Folder,
    sample: Annotated[list[Path] | None, typer.Option(help="An outcome JSON file to plan too (repeatable).")] = None,
    examples: Annotated[bool, typer.Option(help="Plan the shipped examples.")] = True,
    recent: Annotated[int, typer.Option(help="Plan this many recent outcomes (their planning facts).")] = 200,
    as_json: JsonOpt = False,
    data_dir: DataDir = None,
) -> None:
    """Plan samples, the examples and recent outcomes with the active version and with a folder's."""
    document = _read(folder)
    settings = settings_for(data_dir)
    bodies = [json.loads(path.read_text(encoding="utf-8")) for path in sample or []]
    samples, problems = service.sample_outcomes(bodies)
    for problem, path in zip(problems, sample or [], strict=False):
        typer.echo(f"{path}: {problem['message']}", err=True)
    if problems:
        raise typer.Exit(1)
    named = [Sample(str(path), s.origin, s.outcome) for s, path in zip(samples, sample or [], strict=True)]

    async def work(engine: AsyncEngine) -> dict[str, Any]:
        await _ready(engine, settings)
        return await service.dry_run_versions(
            engine, candidate=document, samples=named, with_examples=examples, recent=recent
        )

    result = with_engine(settings, work)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    totals = result["totals"].get("all", {"samples": 0, "changed": 0, "unchanged": 0, "refused": 0})
    typer.echo(
        f"{result['candidate_version']} against active {result['active_version']}: {totals['samples']} planned, "
        f"{totals['changed']} would change, {totals['refused']} refused, {totals['unchanged']} unchanged"
    )
    for s in result["samples"]:
        if not s["changed"]:
            continue
        typer.echo(f"  {s['origin']} {s['name']}:")
        for reason in s["refused_by_candidate"]:
            typer.echo(f"    refused: {reason}")
        for kind in ("added", "removed"):
            for a in s["actions"][kind]:
                typer.echo(f"    action {kind}: {a['key']} ({a['rule']})")
        for a in s["actions"]["changed"]:
            parts = ", ".join([*a["fields"], *(f"record {p}" for p in a["record_parts_changed"])])
            typer.echo(f"    action changed: {a['key']}: {parts}")
        for kind in ("added", "removed"):
            for rule in s["rules"][kind]:
                typer.echo(f"    rule {kind}: {rule}")
        for kind in ("added", "removed", "changed"):
            for d in s["deadlines"][kind]:
                typer.echo(f"    deadline {kind}: {d.get('rule')}")


@mappings.command("activate")
def activate(
    folder: Annotated[Path | None, typer.Argument(help="A mapping folder: uploaded if new, then activated.")] = None,
    number: Annotated[int | None, typer.Option(help="Or a stored version's number.")] = None,
    expected_current: Annotated[int | None, typer.Option(help="Refuse if another version is active.")] = None,
    comment: Comment = None,
    data_dir: DataDir = None,
) -> None:
    """Activate a folder's set (uploading it if new) or a stored version."""
    if (folder is None) == (number is None):
        raise typer.BadParameter("give a FOLDER or --number")
    document = _read(folder) if folder is not None else None
    settings = settings_for(data_dir)

    async def work(engine: AsyncEngine) -> tuple[int, int | None, bool]:
        await _ready(engine, settings)
        created = False
        chosen = number
        if document is not None:
            chosen, created = await service.upload(
                engine, document=document, actor=_actor(), now=_now(), comment=comment
            )
        assert chosen is not None
        async with engine.begin() as conn:
            previous = await store.activate(
                conn, number=chosen, actor=_actor(), now=_now(), comment=comment, expected_current=expected_current
            )
        return chosen, previous, created

    try:
        chosen, previous, created = with_engine(settings, work)
    except (store.UnknownVersion, store.StaleActivation) as exc:
        typer.echo(f"not activated: {exc}", err=True)
        raise typer.Exit(1) from None
    if previous == chosen:
        typer.echo(f"version {chosen} is already active")
        return
    stored = " (uploaded now)" if created else ""
    typer.echo(
        f"version {chosen}{stored} is active (was {previous}); every process switches within "
        f"{settings.mappings_poll_seconds:g} s"
    )


@mappings.command("rollback")
def rollback(comment: Comment = None, data_dir: DataDir = None) -> None:
    """Go back to the version active before the current one."""
    settings = settings_for(data_dir)

    async def work(engine: AsyncEngine) -> tuple[int, int]:
        await _ready(engine, settings)
        async with engine.begin() as conn:
            return await store.rollback(conn, actor=_actor(), now=_now(), comment=comment)

    try:
        active, previous = with_engine(settings, work)
    except store.NothingToRollBack as exc:
        typer.echo(f"not rolled back: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"version {active} is active again (was {previous})")


@mappings.command("history")
def history(as_json: JsonOpt = False, data_dir: DataDir = None) -> None:
    """Every change: when, who, what."""
    settings = settings_for(data_dir)

    async def work(engine: AsyncEngine) -> list[store.Change]:
        await _ready(engine, settings)
        async with engine.connect() as conn:
            return await store.history(conn)

    changes = with_engine(settings, work)
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in changes], ensure_ascii=False, indent=2))
        return
    for c in changes:
        was = f" (was {c.previous_number})" if c.previous_number is not None else ""
        note = f": {c.comment}" if c.comment else ""
        typer.echo(f"{c.changed_at:%Y-%m-%d %H:%M:%S} {c.actor:<24} {c.action:<11} version {c.number}{was}{note}")
