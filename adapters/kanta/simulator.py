"""A simulated Kanta social care client data archive: a SOAP 1.1 service (ASGI) for tests, demos and benchmarks.

What it serves:

* ``GET /wsdl`` (or any path with ``?wsdl``): ``wsdl/archive.wsdl`` with ``soap:address`` set to this
  instance's ``/archive`` endpoint, built from the request's scheme, host and ASGI ``root_path``, so
  the address is right when the gateway mounts the simulator under a prefix (``/simulators/kanta``);
* ``POST /archive``: the operations ArchiveDocument (RCMR_IN100002FI01), ArchiveNewVersion
  (RCMR_IN100016FI01), FetchDocument (by document id) and QueryDocuments (by the client's hetu).

What it checks, and how strictly (see :mod:`adapters.kanta.sim_archive` for the rules): the SOAP
request (parsed with entities, DTDs and the network off; a DTD is refused), the operation's
wrapper against the WSDL's schema, the HL7 V3 message against ``wsdl/hl7v3-rcmr.xsd`` and the
published messages' structure (receiver = this archive's device id, its profile ids), the
``multipart/related`` body, the CDA document against the HL7 Finland CDA R2 schema, its signature
against the certificates the archive trusts (by default the development certificate of
:mod:`adapters.kanta.signing`), the header, every code system, the Sosmeta JSON against THL's schema
of the declared structure, duplicates and version chains. Refusals are SOAP
faults ``soap:Client.<Code>`` with a ``FaultDetail`` (code, location, document id) naming what is
wrong; a document id that is already archived answers ``Client.DocumentAlreadyArchived``, which
the client treats as "already delivered".

What is modelled rather than known (the real interface is only partly public): the WSDL (service,
namespace, wrappers, receipt, fetch and query operations, fault detail), the message subset, the
packing of the three parts into one CDA document, the fault codes, and the archive answering
synchronously. State lives on the instance; ``/_sim/documents`` lists it, ``/_sim/documents/<id>``
shows one document with its content, ``DELETE /_sim/documents`` empties the archive. Fault injection
comes from :class:`adapters.faults.FaultInjector`, rendered as SOAP faults.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.faults import FaultInjector, FaultRule
from adapters.kanta import validation
from adapters.kanta.settings import KantaSettings
from adapters.kanta.signing import load_identity
from adapters.kanta.sim_archive import ArchivedRecord, ArchiveFault, SocialCareArchive, encode, receipt_time

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MODEL_NS = "urn:asiakasohjaus:kanta-archive-model:1"
XS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_XML = "text/xml; charset=utf-8"
MAX_REQUEST_BYTES = 8 * 1024 * 1024
OPERATIONS = ("ArchiveDocument", "ArchiveNewVersion", "FetchDocument", "QueryDocuments")


def _wsdl_template() -> bytes:
    return (validation.WSDL_DIR / "archive.wsdl").read_bytes()


def _wrapper_schema(wsdl: bytes) -> etree.XMLSchema:
    """The WSDL's own types, compiled: the operation wrappers are validated against what the WSDL says."""
    root = etree.fromstring(wsdl, parser=validation.safe_parser())
    schema = root.find(f"{{{WSDL_NS}}}types/{{{XS}}}schema")
    assert schema is not None
    return etree.XMLSchema(schema)


class KantaSimulator:
    """The ASGI app. Everything it knows lives on the instance."""

    def __init__(self, settings: KantaSettings | None = None, *, trusted_certs: Sequence[bytes] | None = None) -> None:
        settings = settings or KantaSettings()
        self._archive_config: dict[str, Any] = {
            "trusted_certs": list(trusted_certs) if trusted_certs is not None else [load_identity(settings).cert_pem],
            "device_oid": settings.archive_device_oid,
            "profile_ids": settings.profile_ids,
        }
        self.archive = SocialCareArchive(**self._archive_config)
        self._wsdl = _wsdl_template()
        self._wrappers = _wrapper_schema(self._wsdl)
        self.app = Starlette(
            routes=[
                Route("/wsdl", self.wsdl, methods=["GET"]),
                Route("/archive", self.soap, methods=["POST"]),
                Route("/archive", self.wsdl_query, methods=["GET"]),
                Route("/", self.wsdl_query, methods=["GET"]),
            ]
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    # -- HTTP -------------------------------------------------------------------------------------------

    async def wsdl_query(self, request: Request) -> Response:
        if "wsdl" not in request.query_params:
            return Response("the service description is at ?wsdl or /wsdl", status_code=404)
        return await self.wsdl(request)

    async def wsdl(self, request: Request) -> Response:
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        address = f"{request.url.scheme}://{request.url.netloc}{root_path}/archive"
        body = self._wsdl.replace(b'location="LOCATION"', f'location="{address}"'.encode())
        return Response(body, media_type=SOAP_XML)

    async def soap(self, request: Request) -> Response:
        try:
            operation, payload = await self._request(request)
            answer = self._dispatch(operation, payload)
        except ArchiveFault as fault:
            return _fault_response(fault)
        except Exception as exc:  # a simulator bug still answers as a SOAP service would: a Server fault
            return _fault_response(ArchiveFault("ServerError", type(exc).__name__, side="Server"))
        return Response(_envelope(answer), media_type=SOAP_XML)

    async def _request(self, request: Request) -> tuple[str, etree._Element]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "text/xml":
            raise ArchiveFault("RequestInvalid", "a SOAP 1.1 request is text/xml", location="Content-Type")
        body = await request.body()
        try:
            envelope = validation.parse_xml(body, max_bytes=MAX_REQUEST_BYTES)
        except validation.XmlTooLarge:
            raise ArchiveFault("RequestTooLarge", "the request is over the size limit") from None
        except validation.UnsafeXml:
            raise ArchiveFault("RequestUnsafe", "the request declares a DTD") from None
        except etree.XMLSyntaxError:
            raise ArchiveFault("RequestInvalid", "the request is not well-formed XML") from None
        wrapper = envelope.find(f"{{{SOAP_ENV}}}Body/*")
        if envelope.tag != f"{{{SOAP_ENV}}}Envelope" or wrapper is None:
            raise ArchiveFault(
                "RequestInvalid", "the request is not a SOAP 1.1 envelope with a body", location="/Envelope"
            )
        name = etree.QName(wrapper)
        if name.namespace != MODEL_NS or name.localname not in OPERATIONS:
            raise ArchiveFault(
                "UnknownOperation", "the body names no operation of this service", location="/Envelope/Body/*"
            )
        action = request.headers.get("soapaction", "").strip('"')
        if action and not action.endswith(f":{name.localname}"):
            raise ArchiveFault(
                "RequestInvalid", "SOAPAction does not match the body's operation", location="SOAPAction"
            )
        if not self._wrappers.validate(wrapper):
            log: Any = self._wrappers.error_log  # lxml-stubs do not describe the error log's entries
            entry = log[0]
            raise ArchiveFault("MessageInvalid", f"the {name.localname} element is not valid", location=entry.path)
        return name.localname, wrapper

    def _dispatch(self, operation: str, wrapper: etree._Element) -> etree._Element:
        if operation in ("ArchiveDocument", "ArchiveNewVersion"):
            messages = [child for child in wrapper if isinstance(child.tag, str)]
            record = self.archive.archive(messages[0], new_version=operation == "ArchiveNewVersion")
            return _receipt(record)
        if operation == "FetchDocument":
            record = self.archive.fetch(_child_text(wrapper, "documentId"))
            answer = _element("FetchDocumentResponse")
            document = _summary(record, _element("document"))
            _text(document, "content", encode(record.content))
            answer.append(document)
            return answer
        answer = _element("QueryDocumentsResponse")
        for record in self.archive.query(_child_text(wrapper, "clientId")):
            answer.append(_summary(record, _element("document")))
        return answer

    # -- inspection (reached through FaultInjector at /_sim/...) -----------------------------------------

    async def sim_admin(self, method: str, path: str, _body: bytes) -> tuple[int, Any]:
        route = path[path.find("/_sim/") :]
        if route == "/_sim/documents" and method == "GET":
            return 200, {"documents": [r.summary() for r in self.archive.documents.values()]}
        if route == "/_sim/documents" and method == "DELETE":
            self.archive = SocialCareArchive(**self._archive_config)
            return 200, {"documents": []}
        if route.startswith("/_sim/documents/") and method == "GET":
            record = self.archive.documents.get(route.removeprefix("/_sim/documents/"))
            if record is None:
                return 404, {"error": "no such document"}
            return 200, {**record.summary(), "cda": record.content.decode("utf-8"), "content": record.structured}
        return 404, {"error": f"no simulator admin route {method} {route}"}


# -- SOAP -----------------------------------------------------------------------------------------------


def _element(name: str) -> etree._Element:
    return etree.Element(f"{{{MODEL_NS}}}{name}", nsmap={"k": MODEL_NS})


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, f"{{{MODEL_NS}}}{name}").text = value


def _child_text(wrapper: etree._Element, name: str) -> str:
    found = wrapper.find(f"{{{MODEL_NS}}}{name}")
    return (found.text or "").strip() if found is not None else ""


def _receipt(record: ArchivedRecord) -> etree._Element:
    receipt = _element("ArchiveReceipt")
    for name, value in (
        ("acknowledgement", "AA"),
        ("messageId", record.message_id),
        ("documentId", record.document_id),
        ("setId", record.set_id),
        ("versionNumber", str(record.version)),
        ("archivedAt", receipt_time(record.archived_at)),
    ):
        _text(receipt, name, value)
    return receipt


def _summary(record: ArchivedRecord, target: etree._Element) -> etree._Element:
    for name, value in (
        ("documentId", record.document_id),
        ("setId", record.set_id),
        ("versionNumber", str(record.version)),
        ("structure", record.structure),
        ("functionCode", record.function_code),
        ("archivedAt", receipt_time(record.archived_at)),
        ("replacedBy", record.replaced_by),
    ):
        if value is not None:
            _text(target, name, value)
    return target


def _envelope(content: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(content)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def fault_envelope(fault_code: str, message: str, *, code: str, location: str | None, document_id: str | None) -> bytes:
    """A SOAP 1.1 fault: ``faultcode`` (``soap:Client.X`` / ``soap:Server``), text and a FaultDetail."""
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault", nsmap={"soap": SOAP_ENV})
    etree.SubElement(fault, "faultcode").text = fault_code if ":" in fault_code else f"soap:{fault_code}"
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(etree.SubElement(fault, "detail"), f"{{{MODEL_NS}}}FaultDetail", nsmap={"k": MODEL_NS})
    for name, value in (("code", code), ("location", location), ("documentId", document_id)):
        if value:
            etree.SubElement(detail, f"{{{MODEL_NS}}}{name}").text = value
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(fault)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _fault_response(fault: ArchiveFault) -> Response:
    body = fault_envelope(
        f"soap:{fault.side}.{fault.code}",
        fault.message,
        code=fault.code,
        location=fault.location,
        document_id=fault.document_id,
    )
    return Response(body, status_code=500, media_type=SOAP_XML)


def _injected_fault(rule: FaultRule) -> tuple[bytes, str]:
    side = "Server" if (rule.status or 500) >= 500 else "Client"
    fault_code = rule.fault_code or f"soap:{side}"
    code = fault_code.rpartition(":")[2].partition(".")[2] or "Injected"
    return fault_envelope(fault_code, rule.message, code=code, location=None, document_id=None), SOAP_XML


def create_simulator(
    settings: KantaSettings | None = None, *, trusted_certs: Sequence[bytes] | None = None
) -> FaultInjector:
    """A fresh simulated archive with fault injection in front.

    It trusts ``trusted_certs`` (PEM), else the signing certificate ``settings`` names (by default
    the development certificate, generated on first use).
    """
    return FaultInjector(KantaSimulator(settings, trusted_certs=trusted_certs), render_error=_injected_fault)
