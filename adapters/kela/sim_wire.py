"""The Kela simulator's wire: read a SOAP request as strictly as an X-Road service provider, answer or fault.

Separate from the service's rules (``simulator.py``) so that each stays readable. What is
checked, in order, before an operation runs:

1. ``Content-Type: text/xml`` (SOAP 1.1); well-formed XML without a DTD (entities and network
   access off); a SOAP 1.1 Envelope whose Body holds exactly one element.
2. The X-Road header (:func:`adapters.kela.xroad.parse_header`): required fields, known instance
   and member class, protocol version 4.0, a UUID message id. Each fault names the field.
3. That the header addresses this service: Kela's member code and subsystem, version v1, the
   serviceCode equal to the body's operation, the client in the service's instance, and an
   ``xrd:userId`` (modelled: Kela records which professional acted).
4. The body against the WSDL's own schema. A schema fault names the element, never its value.

Answers echo the request's header unchanged; faults are X-Road style (HTTP 500, dotted faultcode).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.faults import FaultRule
from adapters.kela.errors import KelaFault
from adapters.kela.render import NAMESPACE
from adapters.kela.settings import KELA_MEMBER_CODE, KELA_SUBSYSTEM, SERVICE_VERSION
from adapters.kela.xroad import SOAP_ENV, XRoadHeader, XRoadHeaderError, parse_header

WSDL_FILE = Path(__file__).parent / "wsdl" / "kela-v1.wsdl"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XML = "text/xml; charset=utf-8"


class SoapFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str, code: str = KelaFault.INVALID_REQUEST) -> SoapFault:
    return SoapFault(code, message)


def soap_fault(code: str, message: str) -> bytes:
    """An X-Road style SOAP 1.1 Fault: unqualified dotted faultcode, a detail with a fault id."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    etree.SubElement(fault, "faultactor").text = ""
    etree.SubElement(etree.SubElement(fault, "detail"), "faultDetail").text = str(uuid.uuid4())
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))


def render_injected(rule: FaultRule) -> tuple[bytes, str]:
    """FaultInjector's error body for this simulator: an X-Road SOAP Fault."""
    return soap_fault(rule.fault_code or KelaFault.SERVICE_FAILED, rule.message), XML


# -- reading and writing the service's elements ---------------------------------------------------


def el(name: str, *content: etree._Element | str | None) -> etree._Element:
    """An element of the service's namespace with text and/or children; None items are left out."""
    element = etree.Element(f"{{{NAMESPACE}}}{name}", nsmap={"kela": NAMESPACE})
    for item in content:
        if isinstance(item, str):
            element.text = item
        elif item is not None:
            element.append(item)
    return element


def text(parent: etree._Element, name: str) -> str | None:
    child = parent.find(f"{{{NAMESPACE}}}{name}")
    return child.text.strip() if child is not None and child.text else None


def texts(parent: etree._Element, name: str) -> list[str]:
    return [c.text.strip() for c in parent.findall(f"{{{NAMESPACE}}}{name}") if c.text]


def date_of(parent: etree._Element, name: str) -> date | None:
    """An xsd:date child as a date; a zone suffix (allowed by xsd:date) means nothing for a Finnish day."""
    value = text(parent, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise invalid(f"{name} is not a date") from None


def child(parent: etree._Element, name: str) -> etree._Element:
    found = parent.find(f"{{{NAMESPACE}}}{name}")
    if found is None:
        raise invalid(f"{name} is missing")
    return found


# -- the endpoint ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SoapRequest:
    header_element: etree._Element
    header: XRoadHeader
    operation: str
    body: etree._Element


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class Endpoint:
    """The service's WSDL and its strict reading of requests. One per simulator (lxml schemas keep state)."""

    def __init__(self, operations: Collection[str]) -> None:
        self.operations = frozenset(operations)
        self._wsdl = etree.parse(str(WSDL_FILE), _parser())
        self._schema = self._body_schema()

    def wsdl(self, address: str) -> bytes:
        """The WSDL with every soap:address pointing at ``address``."""
        document = copy.deepcopy(self._wsdl)
        for element in document.iter(f"{{{WSDL_SOAP}}}address"):
            element.set("location", address)
        return bytes(etree.tostring(document, xml_declaration=True, encoding="utf-8"))

    def read(self, body: bytes, content_type: str) -> SoapRequest:
        """The checked request, or a :class:`SoapFault` saying what is wrong with it."""
        header_element, operation = self._envelope(body, content_type)
        header = self._header(header_element, operation)
        if not self._schema.validate(etree.ElementTree(copy.deepcopy(operation))):
            raise invalid(f"the request does not match the service description at {self._where()}")
        return SoapRequest(header_element, header, etree.QName(operation).localname, operation)

    @staticmethod
    def answer(request: SoapRequest, result: etree._Element) -> bytes:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"SOAP-ENV": SOAP_ENV})
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header").extend(copy.deepcopy(c) for c in request.header_element)
        etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(result)
        return bytes(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"))

    def _envelope(self, body: bytes, content_type: str) -> tuple[etree._Element, etree._Element]:
        if "text/xml" not in content_type.lower():
            raise SoapFault("Client.InvalidContentType", "SOAP 1.1 requests are text/xml")
        try:
            root = etree.fromstring(body, _parser())
        except etree.XMLSyntaxError:
            raise SoapFault("Client.InvalidSoap", "the request is not well-formed XML") from None
        docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
        if docinfo.doctype:
            raise SoapFault("Client.InvalidSoap", "DTDs are not accepted")
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise SoapFault("Client.InvalidSoap", "the request is not a SOAP 1.1 envelope")
        header = root.find(f"{{{SOAP_ENV}}}Header")
        body_element = root.find(f"{{{SOAP_ENV}}}Body")
        children = [c for c in body_element if isinstance(c.tag, str)] if body_element is not None else []
        if len(children) != 1:
            raise SoapFault("Client.InvalidBody", "the SOAP body must hold exactly one element")
        if header is None:
            raise SoapFault("Client.MissingHeader", "X-Road header soap:Header: missing")
        return header, children[0]

    def _header(self, element: etree._Element, operation: etree._Element) -> XRoadHeader:
        try:
            header = parse_header(element)
        except XRoadHeaderError as error:
            raise SoapFault(f"Client.{error.code}", str(error)) from None
        name, service = etree.QName(operation), header.service
        if name.namespace != NAMESPACE or name.localname not in self.operations:
            raise SoapFault("Client.UnknownService", "the body names no operation of this service")
        if service.service_code != name.localname:
            raise SoapFault("Client.InconsistentHeaders", "X-Road header xrd:service: serviceCode is not the body's")
        provider = (service.member_class, service.member_code, service.subsystem, service.version)
        if provider != ("GOV", KELA_MEMBER_CODE, KELA_SUBSYSTEM, SERVICE_VERSION):
            raise SoapFault("Client.InvalidServiceIdentifier", "X-Road header xrd:service: not this service")
        if header.client.instance != service.instance:
            raise SoapFault(
                "Client.InvalidClientIdentifier", "X-Road header xrd:client: not in the service's X-Road instance"
            )
        if header.user_id is None:
            raise SoapFault(
                "Client.MissingHeaderField", "X-Road header xrd:userId: is missing (Kela records who acted)"
            )
        return header

    def _body_schema(self) -> etree.XMLSchema:
        """The WSDL's own schema for the service's namespace, standalone, to validate request bodies."""
        source = self._wsdl.find(f".//{{{XSD}}}schema[@targetNamespace='{NAMESPACE}']")
        assert source is not None
        namespaces = {prefix: uri for prefix, uri in source.nsmap.items() if prefix is not None}  # no default ns
        schema = etree.Element(source.tag, attrib={str(k): str(v) for k, v in source.attrib.items()}, nsmap=namespaces)
        schema.extend(copy.deepcopy(c) for c in source)
        return etree.XMLSchema(etree.ElementTree(schema))

    def _where(self) -> str:
        """Where validation failed, as element names only: lxml's messages would quote the values."""
        log: Any = self._schema.error_log  # lxml-stubs lack _ErrorLog.last_error
        path = log.last_error.path if log.last_error is not None else ""
        return "/".join(part.split(":")[-1] for part in (path or "").split("/") if part) or "the body"
