"""The shipped example outcomes, made postable today: ``gateway examples post`` and the smoke check use this.

The files in ``examples/outcomes/`` carry fixed dates. A gateway refuses a contact in the future
and a Kela booking window that has passed, and Kela offers no slots in the past, so a file posted
as it is stops working as the calendar moves on. :func:`move_dates` moves an example to the
present: the contact and the guidance to today (Finnish time), keeping their times of day and
durations, and what the contact planned ahead (Kela booking windows, direct bookings) to the
coming working days. It is pure; the rest of this module reads files and talks HTTP.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from adapters.registry import BACKENDS
from gateway.deadlines import add_working_days, is_working_day, working_days_between
from gateway.plan.days import FINNISH_TIME

SETTLED = frozenset({"delivered", "held", "failed", "cancelled"})
SOURCE_OUTCOME_ID_MAX = 128


def move_dates(example: Mapping[str, Any], *, now: datetime, suffix: str | None = None) -> dict[str, Any]:
    """A copy of ``example`` that happened today and plans ahead from today.

    - ``contact.received_at`` and ``guidance.started_at``/``ended_at`` move by whole days to today,
      times of day kept; to the day before when today's times would still lie ahead of ``now``
      (a reported contact is never in the future).
    - Dates and timestamps in ``results`` move to as many working days after today as they were
      working days after the original contact (a Kela window of the next four working days stays
      one), times of day kept.
    - Dates in ``consents`` (``valid_until``) move by the same days as the contact.
    - With ``suffix``, ``source.outcome_id`` becomes ``<outcome_id>-<suffix>``: a fresh outcome
      rather than a replay of an earlier post.
    """
    body: dict[str, Any] = copy.deepcopy(dict(example))
    contact = _part(body, "contact")
    guidance = _part(body, "guidance")
    received = _zoned(contact.get("received_at"))
    if received is None:
        raise ValueError("the example has no contact.received_at with a time zone")
    original_day = _local(received).date()
    today = _local(now).date()

    reported = [received, *(m for m in (_zoned(guidance.get(k)) for k in ("started_at", "ended_at")) if m)]
    shift = today - original_day
    while max(_shifted(moment, shift) for moment in reported) > now:
        shift -= timedelta(days=1)

    def by_days(value: date | datetime) -> date | datetime:
        return _shifted(value, shift) if isinstance(value, datetime) else value + shift

    def ahead(value: date | datetime) -> date | datetime:
        day = _local(value).date() if isinstance(value, datetime) else value
        moved = add_working_days(today, _working_days_after(original_day, day))
        return _on_day(value, moved) if isinstance(value, datetime) else moved

    contact["received_at"] = by_days(received).isoformat()
    for key in ("started_at", "ended_at"):
        moment = _zoned(guidance.get(key))
        if moment is not None:
            guidance[key] = by_days(moment).isoformat()
    for key, move in (("results", ahead), ("consents", by_days)):
        if key in body:
            body[key] = _moved(body[key], move)

    if suffix is not None:
        source = body.get("source")
        if isinstance(source, dict) and isinstance(source.get("outcome_id"), str):
            fresh = f"{source['outcome_id']}-{suffix}"
            if len(fresh) > SOURCE_OUTCOME_ID_MAX:
                raise ValueError(f"source.outcome_id with the suffix is over {SOURCE_OUTCOME_ID_MAX} characters")
            source["outcome_id"] = fresh
    return body


def _part(body: dict[str, Any], key: str) -> dict[str, Any]:
    part = body.get(key)
    return part if isinstance(part, dict) else {}


def _local(moment: datetime) -> datetime:
    return moment.astimezone(FINNISH_TIME)


def _on_day(moment: datetime, day: date) -> datetime:
    """``moment``'s Finnish time of day on ``day`` (the offset follows daylight saving time)."""
    return datetime.combine(day, _local(moment).time().replace(tzinfo=None), FINNISH_TIME)


def _shifted(moment: datetime, days: timedelta) -> datetime:
    return _on_day(moment, _local(moment).date() + days)


def _working_days_after(start: date, day: date) -> int:
    """How many working days after ``start`` ``day`` is (0 for ``start`` itself or earlier)."""
    if day <= start:
        return 0
    count = sum(1 for _ in working_days_between(start + timedelta(days=1), day))
    # A weekend date counts as the working day after it, so that it lands on one.
    return count if is_working_day(day) else count + 1


def _zoned(value: object) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _date(value: object) -> date | None:
    if not isinstance(value, str) or len(value) != len("2026-01-01"):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _moved(value: Any, move: Callable[[date | datetime], date | datetime]) -> Any:
    """``value`` with every ISO date and zoned timestamp in it moved (JSON walked, other text untouched)."""
    if isinstance(value, dict):
        return {k: _moved(v, move) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, move) for v in value]
    found: date | datetime | None = _zoned(value) or _date(value)
    return value if found is None else move(found).isoformat()


# -- reading the files, and following what the gateway made of them -----------------------------------

EXAMPLES_FOLDER = Path("examples") / "outcomes"
# Where each simulator shows what it received, below its mount (see adapters/*/simulator.py).
INSPECTION: dict[str, tuple[str, ...]] = {
    "lifecare": ("/_sim/resources",),
    "kanta": ("/_sim/documents",),
    "kela": ("/_sim/bookings", "/_sim/consents"),
}


def default_folder() -> Path:
    """``examples/outcomes`` of the working directory, else of the checkout the package is installed from."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if (base / EXAMPLES_FOLDER).is_dir():
            return base / EXAMPLES_FOLDER
    return EXAMPLES_FOLDER


def example_files(path: Path) -> list[Path]:
    """``path`` itself, or the ``*.json`` files of a folder in name order."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if files:
            return files
        raise FileNotFoundError(f"no *.json example in {path}")
    raise FileNotFoundError(f"no example file or folder {path}")


def read_example(path: Path) -> dict[str, Any]:
    body = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(body, dict):
        raise ValueError(f"{path.name} is not a JSON object")
    return body


def inspection_urls(base_url: str, backends: Iterable[str]) -> list[str]:
    """The simulators' inspection pages for these back-ends, as ``gateway serve`` mounts them."""
    mounts = {spec.name: spec.mount for spec in BACKENDS}
    return [
        base_url.rstrip("/") + mounts[name] + page
        for name in sorted(set(backends))
        if name in mounts
        for page in INSPECTION.get(name, ())
    ]


@dataclass(frozen=True)
class Settled:
    status: dict[str, Any]  # GET /v1/outcomes/{id}
    timed_out: bool

    @property
    def undelivered(self) -> list[dict[str, Any]]:
        return [d for d in self.status["deliveries"] if d["status"] != "delivered"]


def settle(client: httpx.Client, outcome_id: str, *, deadline: float, poll_seconds: float = 0.2) -> Settled:
    """Read the outcome until none of its deliveries is on its way any more, or until ``deadline`` (monotonic)."""
    while True:
        response = client.get(f"/v1/outcomes/{outcome_id}")
        response.raise_for_status()
        status: dict[str, Any] = response.json()
        if all(d["status"] in SETTLED for d in status["deliveries"]):
            return Settled(status, timed_out=False)
        if time.monotonic() >= deadline:
            return Settled(status, timed_out=True)
        time.sleep(poll_seconds)


def example_systems(folder: Path | None = None) -> list[str]:
    """The source systems the shipped examples speak for (the local console's client owns them)."""
    found = set()
    for path in example_files(folder or default_folder()):
        source = json.loads(path.read_text(encoding="utf-8")).get("source", {})
        if isinstance(source, dict) and isinstance(source.get("system"), str):
            found.add(source["system"])
    return sorted(found)
