"""The display form: the CDA narrative block (section/text) rendered from the structured content. Pure.

The narrative shows exactly what the Sosmeta JSON holds, labelled with the Finnish field names of
THL's own definition (``sosmeta.name`` in the structure's JSON Schema), in the JSON's order: nested
objects as nested lists, coded values as "display (code)", identifiers by value, booleans as
Kyllä/Ei, dates as d.m.yyyy and date-times in Finnish time. The deadlines the document carries
follow as a list of their own. Nothing here is written that the structured part does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from lxml import etree

from adapters.kanta.content import FINNISH_TIME, Content, Deadline

V3 = "urn:hl7-org:v3"
DEFAULT_NS: dict[Any, str] = {None: V3}  # lxml-stubs cannot say "default namespace"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def render_narrative(content: Content, schema: Mapping[str, Any]) -> etree._Element:
    """``<text>`` for the section that carries ``content``; ``schema`` is the structure's JSON Schema."""
    text = _el("text")
    root_schema = schema["properties"][content.structure.root]
    text.append(_object_list(content.data[content.structure.root], root_schema))
    if content.deadlines:
        text.append(_deadline_list(content.deadlines, urgent=content.urgent))
    return text


def _object_list(value: Mapping[str, Any], schema: Mapping[str, Any]) -> etree._Element:
    listing = _el("list")
    properties = schema.get("properties", {})
    for key, item in value.items():
        node = properties.get(key, {})
        if isinstance(item, list):
            for element in item:
                listing.append(_item(_label(node.get("items", {}), key), element, node.get("items", {})))
        else:
            listing.append(_item(_label(node, key), item, node))
    return listing


def _item(label: str, value: Any, schema: Mapping[str, Any]) -> etree._Element:
    item = _el("item")
    caption = etree.SubElement(item, f"{{{V3}}}caption")
    caption.text = label
    if isinstance(value, Mapping) and not _is_leaf_object(value):
        item.append(_object_list(value, schema))
    else:
        caption.tail = " " + display(value)
    return item


def _deadline_list(deadlines: Sequence[Deadline], *, urgent: bool) -> etree._Element:
    listing = _el("list")
    caption = etree.SubElement(listing, f"{{{V3}}}caption")
    caption.text = "Määräajat"
    if urgent:
        etree.SubElement(listing, f"{{{V3}}}item").text = "Asia on kiireellinen."
    for deadline in deadlines:
        item = etree.SubElement(listing, f"{{{V3}}}item")
        item.text = f"{deadline.description}: viimeistään {finnish(deadline.due)} ({deadline.legal_basis})"
    return listing


def display(value: Any) -> str:
    """One value as a person reads it."""
    if isinstance(value, bool):
        return "Kyllä" if value else "Ei"
    if isinstance(value, Mapping):
        if "display" in value and "code" in value:
            return f"{value['display']} ({value['code']})"
        if "value" in value:
            return str(value["value"])
    if isinstance(value, str):
        if _DATE.match(value):
            return finnish(date.fromisoformat(value))
        if _DATETIME.match(value):
            moment = datetime.fromisoformat(value).astimezone(FINNISH_TIME)
            return f"{finnish(moment.date())} klo {moment:%H.%M}"
    return str(value)


def finnish(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def _is_leaf_object(value: Mapping[str, Any]) -> bool:
    """A coded value or an identifier: shown on one line."""
    keys = set(value)
    return keys <= {"system", "code", "display"} or keys <= {"system", "value"}


def _label(node: Mapping[str, Any], fallback: str) -> str:
    for name in node.get("sosmeta", {}).get("name", []):
        if name.get("lang") == "fi":
            return str(name["value"])
    return fallback


def _el(name: str) -> etree._Element:
    return etree.Element(f"{{{V3}}}{name}", nsmap=DEFAULT_NS)
