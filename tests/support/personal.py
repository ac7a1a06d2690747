"""Personal values posted to the gateway, and a scan of every column of every table for them.

What counts as personal is what the contracts mark ``x-personal`` (hetu, names, phone, e-mail,
birth date, the free-text summaries and notes), plus the free text a caller may write a name
into: consent purposes and form references, revocation and cancellation reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.bookings.models import BookingIn
from gateway.consents.models import ConsentIn
from gateway.contract.hetu import CHECK_CHARACTERS
from gateway.contract.outcome_v1 import OutcomeV1

FREE_TEXT = frozenset({"purpose", "form_reference", "reason"})
NAMES = frozenset({"given_names", "family_name"})


def _marked(schema: Any, found: set[str]) -> set[str]:
    if isinstance(schema, dict):
        for name, prop in (schema.get("properties") or {}).items():
            alternatives = [prop, *prop.get("anyOf", [])] if isinstance(prop, dict) else []
            if any(isinstance(a, dict) and a.get("x-personal") for a in alternatives):
                found.add(name)
        for value in schema.values():
            _marked(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _marked(value, found)
    return found


def personal_keys() -> frozenset[str]:
    """Every field name the inbound contracts mark personal, plus the free-text fields."""
    found: set[str] = set()
    for model in (OutcomeV1, ConsentIn, BookingIn):
        _marked(model.model_json_schema(), found)
    return frozenset(found | FREE_TEXT)


def _strings(body: Any, keys: frozenset[str], under: str | None = None) -> Iterable[tuple[str, str]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield from _strings(value, keys, key)
    elif isinstance(body, list):
        for value in body:
            yield from _strings(value, keys, under)
    elif isinstance(body, str) and under in keys:
        yield under, body


def personal_values(bodies: Iterable[Any]) -> set[str]:
    """Each personal value posted in ``bodies``: names word by word, phones in every format a register writes."""
    keys = personal_keys()
    values: set[str] = set()
    for body in bodies:
        for key, value in _strings(body, keys):
            if key in NAMES:
                values.update(value.split())
            elif key == "phone":
                number = phonenumbers.parse(value, "FI")
                values.add(value)
                values.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
                values.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
            else:
                values.add(value)
    return values


def hits(values: Iterable[str], lines: Iterable[str]) -> list[tuple[str, str]]:
    """(value, line) for each value found in a line, as a whole word in any case."""
    listed = list(lines)
    found = []
    for value in sorted(values):
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
        found.extend((value, line[:200]) for line in listed if pattern.search(line))
    return found


@dataclass
class Scan:
    """Every value of every column of every table, one line per value: ``table.column: value``."""

    tables: int = 0
    columns: int = 0
    values: int = 0
    lines: list[str] = field(default_factory=list)


async def scan_database(engine: AsyncEngine) -> Scan:
    """Read every table the database has (reflected, not only the ones this code knows), every column."""
    metadata = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        scan = Scan()
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            scan.tables += 1
            scan.columns += len(table.columns)
            for row in await conn.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                    scan.values += 1
                    scan.lines.append(f"{table.name}.{column.name}: {text}")
    return scan


def hetu(birth: str, sign: str, number: int) -> str:
    """A valid hetu for ``birth`` (DDMMYY), century ``sign`` and individual ``number`` (900–999: test codes)."""
    digits = f"{birth}{number:03d}"
    return f"{birth}{sign}{number:03d}{CHECK_CHARACTERS[int(digits) % 31]}"
