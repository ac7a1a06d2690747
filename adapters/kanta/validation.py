"""The Kanta adapter's schemas, and validation against them: the renderer, the simulator and tests share it.

* ``schemas/cda-r2/`` - the normative HL7 CDA R2 schema, unchanged;
* ``schemas/hl7fi-cda/`` - the HL7 Finland CDA R2 schema with the Finnish header extensions
  (``urn:hl7finland``), unchanged, as a public Kanta integration ships it: the schema Kanta
  documents are validated against;
* ``schemas/sosmeta/`` - THL's Sosmeta JSON Schemas of the structures used (and the export's LICENSE);
* ``wsdl/hl7v3-rcmr.xsd`` - the modelled HL7 V3 archive request messages.

Schemas are package data found beside this module and compiled once. XML is parsed here with entity
expansion, network access and DTD loading off, and a document that declares a DTD is refused
outright. Problems are reported by location (an XPath or a JSON pointer) and rule, never by the
offending value: the documents hold a hetu and names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError as JsonSchemaError
from jsonschema.validators import validator_for
from lxml import etree

from gateway.logs import redact_text

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
WSDL_DIR = HERE / "wsdl"
CDA_FI_XSD = SCHEMAS / "hl7fi-cda" / "CDA_Fi.xsd"
CDA_R2_XSD = SCHEMAS / "cda-r2" / "infrastructure" / "cda" / "CDA.xsd"
MESSAGE_XSD = WSDL_DIR / "hl7v3-rcmr.xsd"
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024

_QUOTED_VALUE = re.compile(r"(The value|value) '[^']*'")
_VALUE_OF = re.compile(r": '[^']*' is not")


class UnsafeXml(ValueError):
    """XML refused before use: it carries a document type declaration (DTD, entities)."""


class XmlTooLarge(ValueError):
    """XML refused before parsing: larger than the cap."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation failure: where, and which rule. Never the value."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


# -- parsing -----------------------------------------------------------------------------------------


def safe_parser() -> etree.XMLParser:
    """A parser that never expands entities, loads a DTD or touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> etree._Element:
    """Parse untrusted XML: :class:`XmlTooLarge`, :class:`UnsafeXml` (a DTD), or lxml's XMLSyntaxError if broken."""
    if len(data) > max_bytes:
        raise XmlTooLarge(f"larger than {max_bytes} bytes")
    root = etree.fromstring(data, parser=safe_parser())
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise UnsafeXml("a document type declaration (DTD) is not accepted")
    return root


# -- schemas -----------------------------------------------------------------------------------------


@cache
def cda_schema() -> etree.XMLSchema:
    """The HL7 Finland CDA R2 schema: what every archived document must satisfy."""
    return _xsd(CDA_FI_XSD)


@cache
def normative_cda_schema() -> etree.XMLSchema:
    """The normative CDA R2 schema alone (a document without the local header must satisfy it)."""
    return _xsd(CDA_R2_XSD)


@cache
def message_schema() -> etree.XMLSchema:
    return _xsd(MESSAGE_XSD)


@cache
def sosmeta_schema(structure_oid: str) -> dict[str, Any]:
    """THL's JSON Schema of one structure version, by its OID."""
    path = SCHEMAS / "sosmeta" / f"{structure_oid}.json"
    if not path.is_file():
        raise KeyError(f"no Sosmeta schema for structure {structure_oid}")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def _content_validator(structure_oid: str) -> Any:
    schema = sosmeta_schema(structure_oid)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), parser=safe_parser()))


# -- validating --------------------------------------------------------------------------------------


def validate_content(structure_oid: str, data: Any) -> list[Problem]:
    """Problems of ``data`` against the structure's Sosmeta JSON Schema (empty when valid)."""
    errors = sorted(_content_validator(structure_oid).iter_errors(data), key=lambda e: list(e.absolute_path))
    return [_json_problem(e) for e in errors]


def validate_xml(schema: etree.XMLSchema, element: etree._Element) -> list[Problem]:
    """Problems of ``element`` against an XML schema (empty when valid)."""
    if schema.validate(element):
        return []
    entries: Any = schema.error_log  # lxml-stubs do not describe the error log's entries
    tree = element.getroottree()
    return [Problem(readable_path(tree, entry.path, entry.line), _without_values(entry.message)) for entry in entries]


def readable_path(tree: etree._ElementTree, path: str | None, line: int) -> str:
    """``/ClinicalDocument/component/structuredBody`` for libxml2's ``/*/*[22]/*``."""
    try:
        found = tree.xpath(path, namespaces={"hl7fi": "urn:hl7finland"}) if path else None
    except etree.XPathError:
        found = None
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return path or f"line {line}"
    steps = []
    node: etree._Element | None = found[0]
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        same = [s for s in parent if isinstance(s.tag, str) and s.tag == node.tag] if parent is not None else [node]
        steps.append(f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name)
        node = parent
    return "/" + "/".join(reversed(steps))


def validate_document(element: etree._Element) -> list[Problem]:
    """A CDA document against the HL7 Finland CDA R2 schema."""
    return validate_xml(cda_schema(), element)


def _json_problem(error: JsonSchemaError) -> Problem:
    pointer = "/" + "/".join(str(part) for part in error.absolute_path)
    if error.validator in ("required", "additionalProperties"):
        message = str(error.message)  # names properties, not values
    else:
        message = f"violates {error.validator} {json.dumps(error.validator_value, ensure_ascii=False)[:200]}"
    return Problem(pointer, redact_text(message))


def _without_values(message: str) -> str:
    """libxml2 quotes offending values in its messages; keep the rule, drop the value."""
    return redact_text(_VALUE_OF.sub(": the value is not", _QUOTED_VALUE.sub(r"\1", message)))
