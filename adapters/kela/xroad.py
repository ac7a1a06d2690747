"""The X-Road message protocol 4.0 header (Suomi.fi-palveluväylä): build it, parse it, check its echo.

Pure: lxml elements in, frozen dataclasses out, no I/O. The header fields, in the order sent:

    xrd:client           who calls (objectType MEMBER or SUBSYSTEM)
    xrd:service          what is called (objectType SERVICE); serviceCode = the body's wrapper element
    xrd:id               this message's id (a UUID; for a booking, its request id)
    xrd:userId           the acting professional, "FI" + their id (optional in X-Road)
    xrd:issue            what the call is about, e.g. our outcome id (optional)
    xrd:protocolVersion  "4.0"

The service copies all of them into its answer, in the same order with the same values;
:func:`check_echo` tells us when it did not. Everything that is wrong raises
:class:`XRoadHeaderError`, which names the header field and an X-Road error code and never
repeats the offending value.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from typing import Literal, get_args

from lxml import etree

XRD_NS = "http://x-road.eu/xsd/xroad.xsd"
ID_NS = "http://x-road.eu/xsd/identifiers"
NSMAP = {"xrd": XRD_NS, "id": ID_NS}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_HEADER_TAG = f"{{{SOAP_ENV}}}Header"
PROTOCOL_VERSION = "4.0"

Instance = Literal["FI", "FI-TEST", "FI-DEV"]
MemberClass = Literal["GOV", "MUN", "COM", "ORG"]
INSTANCES: frozenset[str] = frozenset(get_args(Instance))
MEMBER_CLASSES: frozenset[str] = frozenset(get_args(MemberClass))

_IDENTIFIER = re.compile(r"^[A-Za-z0-9'()+,\-.=?]+$")  # protocol 4.0, section 2.7
_FIELDS = ("client", "service", "id", "userId", "issue", "protocolVersion")


class XRoadHeaderError(ValueError):
    """An X-Road header is missing, malformed or not the one we sent. ``code`` is X-Road's error name."""

    def __init__(self, field: str, problem: str, *, code: str) -> None:
        super().__init__(f"X-Road header {field}: {problem}")
        self.field = field
        self.problem = problem
        self.code = code


@dataclass(frozen=True, slots=True)
class ClientId:
    """``xrd:client``: an X-Road member, or one of its subsystems."""

    instance: str
    member_class: str
    member_code: str
    subsystem: str | None = None

    @property
    def object_type(self) -> str:
        return "SUBSYSTEM" if self.subsystem is not None else "MEMBER"


@dataclass(frozen=True, slots=True)
class ServiceId:
    """``xrd:service``: a provider's service, named by its code (= the operation) and version."""

    instance: str
    member_class: str
    member_code: str
    subsystem: str | None
    service_code: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class XRoadHeader:
    client: ClientId
    service: ServiceId
    message_id: str
    user_id: str | None = None
    issue: str | None = None
    protocol_version: str = PROTOCOL_VERSION

    def for_operation(self, operation: str) -> XRoadHeader:
        return replace(self, service=replace(self.service, service_code=operation))


def new_header(
    client: ClientId,
    service: ServiceId,
    *,
    message_id: uuid.UUID | str | None = None,
    user_id: str | None = None,
    issue: str | None = None,
) -> XRoadHeader:
    """A request header; a fresh UUID unless the caller passes the message id (a retried booking does)."""
    return XRoadHeader(client, service, str(message_id or uuid.uuid4()), user_id, issue)


# -- building ---------------------------------------------------------------------------------


def _id_element(tag: str, object_type: str, parts: list[tuple[str, str | None]]) -> etree._Element:
    element = etree.Element(etree.QName(XRD_NS, tag), nsmap=NSMAP)
    element.set(etree.QName(ID_NS, "objectType").text, object_type)
    for name, value in parts:
        if value is not None:
            etree.SubElement(element, etree.QName(ID_NS, name)).text = value
    return element


def _text_element(tag: str, value: str) -> etree._Element:
    element = etree.Element(etree.QName(XRD_NS, tag), nsmap=NSMAP)
    element.text = value
    return element


def build_header(header: XRoadHeader) -> list[etree._Element]:
    """The header's elements, in protocol order, ready for a SOAP Header (or zeep's ``_soapheaders``)."""
    c, s = header.client, header.service
    elements = [
        _id_element(
            "client",
            c.object_type,
            [
                ("xRoadInstance", c.instance),
                ("memberClass", c.member_class),
                ("memberCode", c.member_code),
                ("subsystemCode", c.subsystem),
            ],
        ),
        _id_element(
            "service",
            "SERVICE",
            [
                ("xRoadInstance", s.instance),
                ("memberClass", s.member_class),
                ("memberCode", s.member_code),
                ("subsystemCode", s.subsystem),
                ("serviceCode", s.service_code),
                ("serviceVersion", s.version),
            ],
        ),
        _text_element("id", header.message_id),
    ]
    if header.user_id is not None:
        elements.append(_text_element("userId", header.user_id))
    if header.issue is not None:
        elements.append(_text_element("issue", header.issue))
    elements.append(_text_element("protocolVersion", header.protocol_version))
    return elements


# -- parsing ----------------------------------------------------------------------------------


def _fields(header: etree._Element) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for child in header:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.namespace != XRD_NS or qname.localname not in _FIELDS:
            continue
        if qname.localname in found:
            raise XRoadHeaderError(f"xrd:{qname.localname}", "appears more than once", code="DuplicateHeaderField")
        found[qname.localname] = child
    return found


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def _identifier_part(element: etree._Element, name: str, field: str, code: str, *, required: bool) -> str | None:
    value = _text(element.find(f"{{{ID_NS}}}{name}"))
    if value is None:
        if required:
            raise XRoadHeaderError(field, f"id:{name} is missing", code=code)
        return None
    if not _IDENTIFIER.match(value):
        raise XRoadHeaderError(field, f"id:{name} has characters X-Road identifiers may not use", code=code)
    return value


def _member(element: etree._Element, field: str, code: str) -> tuple[str, str, str, str | None]:
    instance = _identifier_part(element, "xRoadInstance", field, code, required=True)
    member_class = _identifier_part(element, "memberClass", field, code, required=True)
    member_code = _identifier_part(element, "memberCode", field, code, required=True)
    subsystem = _identifier_part(element, "subsystemCode", field, code, required=False)
    assert instance is not None and member_class is not None and member_code is not None
    if instance not in INSTANCES:
        raise XRoadHeaderError(field, f"unknown X-Road instance (known: {', '.join(sorted(INSTANCES))})", code=code)
    if member_class not in MEMBER_CLASSES:
        raise XRoadHeaderError(field, f"unknown member class (known: {', '.join(sorted(MEMBER_CLASSES))})", code=code)
    return instance, member_class, member_code, subsystem


def parse_client(element: etree._Element) -> ClientId:
    field, code = "xrd:client", "InvalidClientIdentifier"
    object_type = element.get(f"{{{ID_NS}}}objectType")
    if object_type not in ("MEMBER", "SUBSYSTEM"):
        raise XRoadHeaderError(field, "id:objectType must be MEMBER or SUBSYSTEM", code=code)
    instance, member_class, member_code, subsystem = _member(element, field, code)
    if (object_type == "SUBSYSTEM") != (subsystem is not None):
        raise XRoadHeaderError(field, "id:subsystemCode must be given exactly for a SUBSYSTEM", code=code)
    return ClientId(instance, member_class, member_code, subsystem)


def parse_service(element: etree._Element) -> ServiceId:
    field, code = "xrd:service", "InvalidServiceIdentifier"
    if element.get(f"{{{ID_NS}}}objectType") != "SERVICE":
        raise XRoadHeaderError(field, "id:objectType must be SERVICE", code=code)
    instance, member_class, member_code, subsystem = _member(element, field, code)
    service_code = _identifier_part(element, "serviceCode", field, code, required=True)
    version = _identifier_part(element, "serviceVersion", field, code, required=False)
    assert service_code is not None
    return ServiceId(instance, member_class, member_code, subsystem, service_code, version)


def parse_header(header: etree._Element | None) -> XRoadHeader:
    """Read and check the X-Road fields of a SOAP Header element (other header blocks are ignored)."""
    if header is None:
        raise XRoadHeaderError("soap:Header", "missing", code="MissingHeader")
    fields = _fields(header)
    for required in ("protocolVersion", "client", "service", "id"):
        if required not in fields:
            raise XRoadHeaderError(f"xrd:{required}", "is missing", code="MissingHeaderField")
    version = _text(fields["protocolVersion"])
    if version != PROTOCOL_VERSION:
        raise XRoadHeaderError("xrd:protocolVersion", f"must be {PROTOCOL_VERSION}", code="InvalidProtocolVersion")
    message_id = _text(fields["id"])
    try:
        uuid.UUID(message_id or "")
    except ValueError:
        raise XRoadHeaderError("xrd:id", "must be a UUID", code="InvalidHeaderField") from None
    assert message_id is not None
    user_id = _text(fields.get("userId"))
    if "userId" in fields and user_id is None:
        raise XRoadHeaderError("xrd:userId", "is empty", code="InvalidHeaderField")
    return XRoadHeader(
        client=parse_client(fields["client"]),
        service=parse_service(fields["service"]),
        message_id=message_id,
        user_id=user_id,
        issue=_text(fields.get("issue")),
        protocol_version=version,
    )


def check_echo(sent: XRoadHeader, received: XRoadHeader) -> None:
    """The service must echo our header unchanged; the first field that differs is named."""
    pairs = (
        ("xrd:client", sent.client, received.client),
        ("xrd:service", sent.service, received.service),
        ("xrd:id", sent.message_id, received.message_id),
        ("xrd:userId", sent.user_id, received.user_id),
        ("xrd:issue", sent.issue, received.issue),
        ("xrd:protocolVersion", sent.protocol_version, received.protocol_version),
    )
    for field, ours, theirs in pairs:
        if ours != theirs:
            raise XRoadHeaderError(field, "the answer does not echo the request", code="InconsistentResponse")
