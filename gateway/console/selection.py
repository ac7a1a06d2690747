"""The deliveries list's filters: form fields in, a ``DeliveryFilter`` out, and back again. Pure.

The same fields travel as a GET query (the list), as hidden fields (an action's confirmation
step) and into the action log's selection, so they are parsed and written in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from gateway.ops.queries import DeliveryFilter
from gateway.outbox.states import Status

# An unchanged delivery points at another one; it is never in a queue, so it is not offered.
STATUSES = tuple(status.value for status in Status if status is not Status.UNCHANGED)
# The age filter's choices: (seconds, label). Few, so that the list is picked from at a glance.
AGES: tuple[tuple[int, str], ...] = (
    (300, "older than 5 min"),
    (3600, "older than 1 h"),
    (6 * 3600, "older than 6 h"),
    (86400, "older than 1 day"),
    (7 * 86400, "older than 7 days"),
)
_TEXT_FIELDS = ("backend", "kind", "source_system", "outcome_id", "error_contains")
MAX_TEXT = 200


def _first(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name) or ()
    value = values[0].strip() if values else ""
    return value[:MAX_TEXT] or None


def filter_from(params: Mapping[str, Sequence[str]]) -> DeliveryFilter:
    """The filter the fields describe; unknown statuses and ages are ignored, not errors."""
    statuses = tuple(s for s in params.get("status", ()) if s in STATUSES)
    age = _first(params, "older_than_seconds")
    older = int(age) if age and age.isdigit() and int(age) in {seconds for seconds, _ in AGES} else None
    texts = {name: _first(params, name) for name in _TEXT_FIELDS}
    return DeliveryFilter(
        statuses=statuses,
        backend=texts["backend"],
        kind=texts["kind"],
        source_system=texts["source_system"],
        outcome_id=texts["outcome_id"],
        older_than_seconds=older,
        error_contains=texts["error_contains"],
    )


def filter_fields(f: DeliveryFilter) -> list[tuple[str, str]]:
    """``f`` as form fields, in a stable order (hidden inputs, query strings)."""
    fields = [("status", status) for status in f.statuses]
    for name in _TEXT_FIELDS:
        value = getattr(f, name)
        if value:
            fields.append((name, str(value)))
    if f.older_than_seconds is not None:
        fields.append(("older_than_seconds", str(f.older_than_seconds)))
    return fields


def query(f: DeliveryFilter, **extra: str) -> str:
    return urlencode(filter_fields(f) + [(k, v) for k, v in extra.items() if v])


def is_empty(f: DeliveryFilter) -> bool:
    return not filter_fields(f)
