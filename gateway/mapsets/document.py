"""A mapping document: the YAML files of a mapping folder merged into one JSON object.

That is the form a version is stored, uploaded, diffed and validated in. A folder or the texts of
its files become a document here; :func:`gateway.mappings.mappings_from_document` makes it a set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gateway.mappings import MAPPING_FILES, MappingSet, mappings_from_document

Document = dict[str, Any]


class DocumentError(ValueError):
    """The files cannot be read as a mapping document at all (missing, not YAML, not a mapping)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {message}" for where, message in problems))
        self.problems = problems


def document_from_texts(texts: Mapping[str, str]) -> Document:
    """Merge YAML texts (file name → text) into one document, in file-name order; JSON-safe values.

    Every file that does not parse is reported, not only the first.
    """
    merged: Document = {}
    problems: list[tuple[str, str]] = []
    for name in sorted(texts):
        try:
            content = yaml.safe_load(texts[name]) or {}
        except yaml.YAMLError as exc:
            problems.append((f"/files/{name}", f"not valid YAML: {exc}"))
            continue
        if not isinstance(content, dict):
            problems.append((f"/files/{name}", "must hold a mapping at the top level"))
            continue
        merged.update(content)
    if problems:
        raise DocumentError(problems)
    safe: Document = json_safe(merged)
    return safe


def folder_texts(folder: Path) -> dict[str, str]:
    """The texts of a mapping folder's files (the known ones, and any other ``*.yaml`` beside them)."""
    names = {*MAPPING_FILES, *(p.name for p in folder.glob("*.yaml"))}
    texts: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for name in sorted(names):
        try:
            texts[name] = (folder / name).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append((f"/files/{name}", f"cannot be read: {exc.strerror}"))
    if problems:
        raise DocumentError(problems)
    return texts


def document_from_folder(folder: Path) -> Document:
    return document_from_texts(folder_texts(folder))


def json_safe(value: Any) -> Any:
    """YAML dates become ISO strings: a document is stored as JSON and hashed as JSON."""
    loaded: Any = json.loads(json.dumps(value, ensure_ascii=False, default=str))
    return loaded


def parse(document: Mapping[str, Any]) -> MappingSet:
    """The set of a document already validated (raises pydantic's ``ValidationError`` otherwise)."""
    return mappings_from_document(document)


def label_of(document: Mapping[str, Any]) -> str:
    """The version label of a valid document: declared version + content hash, as outcomes record it."""
    return parse(document).version
