"""What the admin API, the console and the CLI share: upload, diff, dry-run, activate and roll back.

Each function takes the engine (or a connection) and a clock reading; the rules are in the pure modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway import examples
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mapsets import store
from gateway.mapsets.diff import diff_documents, summary
from gateway.mapsets.document import Document, parse
from gateway.mapsets.dryrun import Sample, dry_run
from gateway.mapsets.facts import outcome_from_facts
from gateway.mapsets.validation import MappingProblem, validate_document
from gateway.store.engine import reading
from gateway.store.schema import outcomes

RECENT_DEFAULT = 200


class InvalidMappings(ValueError):
    def __init__(self, problems: list[MappingProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the mapping document")
        self.problems = problems


def checked(document: Any) -> Document:
    """``document`` if it is a valid mapping document; :class:`InvalidMappings` listing every problem otherwise."""
    problems = validate_document(document)
    if problems:
        raise InvalidMappings(problems)
    valid: Document = document
    return valid


async def upload(
    engine: AsyncEngine, *, document: Any, actor: str, now: datetime, comment: str | None = None
) -> tuple[int, bool]:
    """Validate and store; nothing is stored when anything is wrong. (number, newly stored)."""
    valid = checked(document)
    async with engine.begin() as conn:
        return await store.add_version(conn, document=valid, actor=actor, now=now, comment=comment)


async def document_of(conn: AsyncConnection, number: int) -> Document:
    found = await store.get_version(conn, number)
    if found is None:
        raise store.UnknownVersion(number)
    return found[1]


async def diff_versions(conn: AsyncConnection, *, number: int, against: int | None) -> dict[str, Any]:
    """The changes from ``against`` (default: the active version) to ``number``."""
    base = against if against is not None else await store.active_number(conn)
    if base is None:
        raise store.UnknownVersion(0)
    return describe_diff(await document_of(conn, base), await document_of(conn, number), base=base, number=number)


def describe_diff(
    old: Mapping[str, Any], new: Mapping[str, Any], *, base: int | None, number: int | None
) -> dict[str, Any]:
    differences = diff_documents(old, new)
    return {
        "from": base,
        "to": number,
        "summary": summary(differences),
        "differences": [d.as_dict() for d in differences],
    }


def example_samples(folder: Path | None = None) -> list[Sample]:
    """The shipped example outcomes, with the dates they were written with."""
    samples = []
    for path in examples.example_files(folder or examples.default_folder()):
        samples.append(Sample(path.name, "example", OutcomeV1.model_validate(examples.read_example(path))))
    return samples


async def recent_samples(conn: AsyncConnection, *, limit: int = RECENT_DEFAULT) -> list[Sample]:
    """The latest outcomes' stored planning facts, rebuilt with placeholder personal values."""
    rows = await conn.execute(
        select(outcomes.c.id, outcomes.c.planning_facts)
        .where(outcomes.c.planning_facts.is_not(None))
        .order_by(outcomes.c.received_at.desc())
        .limit(limit)
    )
    samples = []
    for row in rows:
        try:
            outcome = outcome_from_facts(row.planning_facts, outcome_id=row.id)
        except (ValidationError, KeyError, TypeError, ValueError):
            continue  # facts of an older shape: not comparable, left out rather than guessed
        samples.append(Sample(row.id, "recent", outcome))
    return samples


def sample_outcomes(bodies: list[Any]) -> tuple[list[Sample], list[dict[str, str]]]:
    """Supplied sample bodies as outcomes; the ones that are not valid outcomes are named, not planned."""
    samples, problems = [], []
    for i, body in enumerate(bodies):
        try:
            samples.append(Sample(f"sample {i + 1}", "sample", OutcomeV1.model_validate(body)))
        except ValidationError as exc:
            problems.append(
                {"field": f"samples[{i}]", "message": f"not a valid outcome ({exc.error_count()} error(s))"}
            )
    return samples, problems


async def dry_run_versions(
    engine: AsyncEngine,
    *,
    candidate: Document,
    samples: list[Sample],
    with_examples: bool = True,
    recent: int = RECENT_DEFAULT,
) -> dict[str, Any]:
    """Plan ``samples``, the examples and the recent outcomes with the active set and with ``candidate``."""
    async with reading(engine) as conn:
        number = await store.active_number(conn)
        if number is None:
            raise store.UnknownVersion(0)
        active = parse(await document_of(conn, number))
        everything = [*samples, *(example_samples() if with_examples else [])]
        if recent > 0:
            everything += await recent_samples(conn, limit=recent)
    result = dry_run(everything, active, parse(candidate))
    result["active_number"] = number
    return result
