"""A structured diff of two mapping documents: what was added, removed or changed, by path. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gateway.mapsets.validation import pointer

Change = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    change: Change
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "old": self.old, "new": self.new}


def diff_documents(old: Any, new: Any) -> list[Difference]:
    """Differences from ``old`` to ``new``, leaves first reached, in document order.

    Lists of mappings with an ``id`` (the deadline rules) are matched by id, so inserting a rule
    is one addition rather than a change of every rule after it; other lists by position.
    """
    found: list[Difference] = []
    _walk((), old, new, found)
    return found


def _walk(path: tuple[object, ...], old: Any, new: Any, found: list[Difference]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new:
                found.append(Difference(pointer(*path, key), "removed", old=old[key]))
            elif key not in old:
                found.append(Difference(pointer(*path, key), "added", new=new[key]))
            else:
                _walk((*path, key), old[key], new[key], found)
    elif isinstance(old, list) and isinstance(new, list):
        if _keyed(old) and _keyed(new):
            _walk(path, {item["id"]: item for item in old}, {item["id"]: item for item in new}, found)
            return
        for i in range(max(len(old), len(new))):
            if i >= len(new):
                found.append(Difference(pointer(*path, i), "removed", old=old[i]))
            elif i >= len(old):
                found.append(Difference(pointer(*path, i), "added", new=new[i]))
            else:
                _walk((*path, i), old[i], new[i], found)
    elif old != new:
        found.append(Difference(pointer(*path), "changed", old=old, new=new))


def _keyed(items: list[Any]) -> bool:
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    return len(ids) == len(items) and all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids)


def summary(differences: list[Difference]) -> dict[str, int]:
    counts = {"added": 0, "removed": 0, "changed": 0}
    for difference in differences:
        counts[difference.change] += 1
    return counts
