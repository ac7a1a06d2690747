"""The archive's SOAP client: zeep's AsyncClient over httpx. I/O only: no rendering, no classification.

Failures leave this module as the libraries raise them (zeep, httpx, lxml) or as the two small
exceptions below; :func:`adapters.kanta.errors.translate` is the one place that decides what they
mean. What the transport adds to zeep's:

* the WSDL is fetched asynchronously (zeep's own loading is synchronous), over the same client and
  TLS context as the SOAP calls, and handed to zeep from memory; it must be self-contained: any
  document it imports (``xsd:import``, ``xsd:include``, ``wsdl:import``, whatever the scheme, a
  ``file://`` URL or a bare path included) is refused with ``ExternalReferenceForbidden``;
* every reply body is read as a stream and refused past ``max_response_bytes``;
* 429 and 503 answers are raised with their ``Retry-After`` before zeep parses them (zeep's own
  errors drop the headers);
* no request or reply body is ever logged (zeep's transport logs both at debug level, and a
  document holds a hetu).

zeep parses with DTDs, entities and external references forbidden and without lxml's huge-tree
mode. TLS is always verified: against ``ca_bundle`` when set, else the system's CA store; there is
no setting that turns verification off. The client certificate and key (mutual TLS) are loaded
into the one SSL context when set (they are unset against the simulator over plain HTTP).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import AsyncTransport
from zeep.wsdl.utils import etree_to_string

from adapters.kanta.settings import KantaSettings
from adapters.tls import tls_context

THROTTLING_STATUSES = frozenset({429, 503})
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
ZEEP_SETTINGS = zeep.Settings(
    strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True, xml_huge_tree=False
)


class HttpStatusError(Exception):
    """An HTTP status answered instead of a SOAP reply (or instead of the WSDL), with its Retry-After."""

    def __init__(self, status_code: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code
        self.retry_after = retry_after


class ResponseTooLarge(Exception):
    """A reply body over the size cap: not read further, not parsed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"reply larger than {limit} bytes")
        self.limit = limit


class MalformedReply(Exception):
    """A SOAP reply that parsed but lacks what the WSDL promises (a receipt without a document id...)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The archive's answer to an archive request."""

    acknowledgement: str
    message_id: str
    document_id: str
    set_id: str
    version_number: int
    archived_at: datetime | None


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    document_id: str
    set_id: str
    version_number: int
    structure: str
    function_code: str
    archived_at: datetime | None
    replaced_by: str | None


@dataclass(frozen=True, slots=True)
class ArchivedDocument:
    summary: DocumentSummary
    content: bytes


class _Transport(AsyncTransport):  # zeep is only partly typed: its calls below are marked
    """zeep's AsyncTransport narrowed: it loads only the WSDL fetched beforehand, and reads capped.

    zeep resolves every import of a WSDL or schema through :meth:`load`, and its own ``load`` reads
    ``file://`` URLs and bare paths from the local disk (``forbid_external`` only stops http(s)):
    a back-end's WSDL importing ``file:///etc/...`` would have the gateway read its own files.
    """

    def __init__(self, *, client: httpx.AsyncClient, max_response_bytes: int) -> None:
        # zeep's synchronous ``wsdl_client`` is never used (``load`` fetches nothing), so none is made.
        super().__init__(client=client, wsdl_client=client)  # type: ignore[no-untyped-call]
        self.max_response_bytes = max_response_bytes
        self._preloaded: dict[str, bytes] = {}

    def preload(self, url: str, content: bytes) -> None:
        self._preloaded[url] = content

    def load(self, url: str) -> bytes:
        if url in self._preloaded:
            return self._preloaded[url]
        raise zeep.exceptions.ExternalReferenceForbidden(url)  # type: ignore[no-untyped-call]

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        reply = await read_capped(
            self.client, "POST", address, self.max_response_bytes, content=message, headers=headers
        )
        return self.new_response(reply)  # type: ignore[no-untyped-call]

    async def post_xml(self, address: str, envelope: etree._Element, headers: dict[str, str]) -> Any:
        return await self.post(address, etree_to_string(envelope), headers)  # type: ignore[no-untyped-call]


async def read_capped(http: httpx.AsyncClient, method: str, url: str, limit: int, **kwargs: Any) -> httpx.Response:
    """One request's answer, read completely but never past ``limit`` bytes of body."""
    request = http.build_request(method, url, **kwargs)
    response = await http.send(request, stream=True)
    try:
        if response.status_code in THROTTLING_STATUSES:
            raise HttpStatusError(response.status_code, response.headers.get("retry-after"))
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(limit)
        body = bytearray()
        async for chunk in response.aiter_bytes():  # decoded: the cap holds for compressed replies too
            body.extend(chunk)
            if len(body) > limit:
                raise ResponseTooLarge(limit)
    finally:
        await response.aclose()
    headers = httpx.Headers([(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS])
    return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=request)


class KantaClient:
    """The archive service behind one WSDL: archive, archive a new version, fetch, query."""

    def __init__(
        self,
        settings: KantaSettings,
        *,
        wsdl_url: str,
        max_response_bytes: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        verify = tls_context(
            "kanta", ca_bundle=settings.ca_bundle, client_cert=settings.client_cert, client_key=settings.client_key
        )
        timeout = httpx.Timeout(settings.timeout_seconds)
        self._wsdl_url = wsdl_url
        self._max = max_response_bytes or settings.max_response_bytes
        self._http = httpx.AsyncClient(
            verify=verify,
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=16),
            transport=transport,
        )
        self._transport = _Transport(client=self._http, max_response_bytes=self._max)
        self._zeep: Any = None
        self._loading = asyncio.Lock()

    async def archive(self, message: etree._Element, *, new_version: bool) -> Receipt:
        """Send an RCMR_IN100002FI01 (or, for a new version, RCMR_IN100016FI01) message."""
        service = await self._service()
        operation = service.ArchiveNewVersion if new_version else service.ArchiveDocument
        reply = await _answer_of(operation, _value_1=message)
        try:
            return Receipt(
                acknowledgement=_text(reply.acknowledgement),
                message_id=_text(reply.messageId),
                document_id=_text(reply.documentId),
                set_id=_text(reply.setId),
                version_number=int(reply.versionNumber),
                archived_at=reply.archivedAt,
            )
        except (AttributeError, TypeError, ValueError):
            raise MalformedReply("the archive receipt lacks a required part") from None

    async def fetch(self, document_id: str) -> ArchivedDocument:
        service = await self._service()
        reply = await _answer_of(service.FetchDocument, documentId=document_id)
        try:
            return ArchivedDocument(summary=_summary(reply), content=bytes(reply.content))
        except (AttributeError, TypeError, ValueError):
            raise MalformedReply("the fetched document lacks a required part") from None

    async def query(self, client_id: str) -> list[DocumentSummary]:
        """Every document archived for a client, by hetu (sent in the body, never in a URL)."""
        service = await self._service()
        reply = await _answer_of(service.QueryDocuments, clientId=client_id)
        try:
            return [_summary(item) for item in reply or []]
        except (AttributeError, TypeError, ValueError):
            raise MalformedReply("a listed document lacks a required part") from None

    async def _service(self) -> Any:
        async with self._loading:
            if self._zeep is None:
                answer = await read_capped(self._http, "GET", self._wsdl_url, self._max)
                if answer.status_code != 200:
                    raise HttpStatusError(answer.status_code, answer.headers.get("retry-after"))
                self._transport.preload(self._wsdl_url, answer.content)
                self._zeep = zeep.AsyncClient(  # type: ignore[no-untyped-call]
                    self._wsdl_url, transport=self._transport, settings=ZEEP_SETTINGS
                )
        return self._zeep.service

    async def aclose(self) -> None:
        await self._http.aclose()


async def _answer_of(operation: Any, **kwargs: Any) -> Any:
    """Call one operation; a reply whose SOAP Body holds no answer element is a MalformedReply.

    zeep reads the answer as the Body's first child and fails with a bare IndexError when there is
    none (a 200 with ``<soap:Body/>``): caught here, at the call, so that it reaches the one
    translation as what it is.
    """
    try:
        return await operation(**kwargs)
    except IndexError:
        raise MalformedReply("the reply's SOAP Body holds no answer") from None


def _text(value: Any) -> str:
    if value is None:
        raise TypeError("missing")
    return str(value)


def _summary(item: Any) -> DocumentSummary:
    return DocumentSummary(
        document_id=_text(item.documentId),
        set_id=_text(item.setId),
        version_number=int(item.versionNumber),
        structure=_text(item.structure),
        function_code=_text(item.functionCode),
        archived_at=item.archivedAt,
        replaced_by=str(item.replacedBy) if item.replacedBy else None,
    )
