"""The outbox is the only code that writes deliveries and attempts (and appends disclosures).

Consents, bookings, retention of other records and the operators' actions ask the outbox
(:mod:`gateway.outbox.transitions`, :mod:`gateway.outbox.operations`); this test reads every
product module and fails on a write anywhere else. Migrations are exempt: they shape the tables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PRODUCT = [p for p in (ROOT / "gateway").rglob("*.py") if "migrations" not in p.parts]
OWNERS = {
    "deliveries": ("gateway/outbox/",),
    "attempts": ("gateway/outbox/",),
    # The worker appends through the audit chain; the audit's own retention sweeps old rows.
    "disclosures": ("gateway/outbox/", "gateway/audit/"),
}
RAW_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(deliveries|attempts|disclosures)\b", re.I)


def writes(path: Path) -> set[str]:
    """The owned tables this module writes, through SQLAlchemy Core or in SQL text."""
    source = path.read_text(encoding="utf-8")
    found = {m.group(1).lower() for m in RAW_WRITE.finditer(source)}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("insert", "update", "delete")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in OWNERS
        ):
            found.add(node.args[0].id)
    return found


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_outbox_writes_deliveries_and_attempts(path: Path) -> None:
    where = str(path.relative_to(ROOT))
    foreign = {table for table in writes(path) if not where.startswith(OWNERS[table])}
    assert not foreign, f"{where} writes {sorted(foreign)}: ask gateway.outbox instead"


def test_the_check_sees_a_write_when_there_is_one(tmp_path: Path) -> None:
    module = tmp_path / "elsewhere.py"
    module.write_text("q = update(deliveries).values(status='x')\nsql = 'DELETE FROM attempts'\n")
    assert writes(module) == {"deliveries", "attempts"}
