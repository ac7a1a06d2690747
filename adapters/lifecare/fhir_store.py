"""The Lifecare simulator's in-memory FHIR store: create, read, update, search and transactions.

Validation uses the same ``fhir.resources`` R4B models the adapter renders with. Transactions
are atomic: every entry is staged, ``urn:uuid`` references are resolved to the ids assigned in
the transaction, literal references must point at something that exists, and only then is
anything written. The store runs inside one event loop and never awaits mid-transaction, which
is what makes "all or nothing" hold without locks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

SUPPORTED = ("Patient", "Encounter", "ServiceRequest", "Task", "Appointment", "Provenance", "Consent")
REFERENCE_FIELDS = ("subject", "for", "patient", "participant", "target", "focus", "encounter")
SEARCH_PARAMS = {"identifier", "subject", "patient", "_tag", "_id", "_count"}


class FhirProblem(Exception):
    """An error the server answers as an OperationOutcome."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: list[str] | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression or []

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": "error", "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = self.expression
        return {"resourceType": "OperationOutcome", "issue": [issue]}


@dataclass
class Stored:
    resource: dict[str, Any]
    version: int
    last_updated: str


@dataclass
class FhirStore:
    resources: dict[str, dict[str, Stored]] = field(default_factory=lambda: {t: {} for t in SUPPORTED})
    next_id: int = 1

    # -- validation ------------------------------------------------------------------------------

    @staticmethod
    def validate(resource: Any, where: str = "") -> dict[str, Any]:
        if not isinstance(resource, dict) or "resourceType" not in resource:
            raise FhirProblem(400, "structure", f"{where}not a FHIR resource (no resourceType)")
        kind = resource["resourceType"]
        if kind not in SUPPORTED:
            raise FhirProblem(422 if where else 404, "not-supported", f"{where}resource type {kind} is not supported")
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(p) for p in first["loc"])
            raise FhirProblem(
                400, "invalid", f"{where}{kind} is not valid: {first['msg']}", [f"{kind}.{path}" if path else kind]
            ) from None
        return resource

    # -- reads -----------------------------------------------------------------------------------

    def read(self, kind: str, resource_id: str) -> dict[str, Any]:
        self._supported(kind)
        stored = self.resources[kind].get(resource_id)
        if stored is None:
            raise FhirProblem(404, "not-found", f"{kind}/{resource_id} is not known")
        return stored.resource

    def search(self, kind: str, params: dict[str, str]) -> list[dict[str, Any]]:
        self._supported(kind)
        unknown = set(params) - SEARCH_PARAMS
        if unknown:
            raise FhirProblem(400, "not-supported", f"unknown search parameter(s): {', '.join(sorted(unknown))}")
        return [s.resource for s in self.resources[kind].values() if _matches(s.resource, params)]

    def count(self) -> dict[str, int]:
        return {kind: len(items) for kind, items in self.resources.items()}

    # -- writes ----------------------------------------------------------------------------------

    def create(self, resource: dict[str, Any], if_none_exist: str | None = None) -> tuple[str, dict[str, Any]]:
        resource = self.validate(resource)
        kind = resource["resourceType"]
        if if_none_exist:
            existing = self._conditional(kind, if_none_exist)
            if existing is not None:
                return "200 OK", existing
        self._check_references(resource, staged=set())
        return "201 Created", self._write(kind, self._new_id(), resource)

    def update(self, kind: str, resource_id: str, resource: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        resource = self.validate(resource)
        if resource["resourceType"] != kind or resource.get("id") != resource_id:
            raise FhirProblem(400, "invalid", "the resource's type and id must match the URL")
        self._check_references(resource, staged=set())
        status = "200 OK" if resource_id in self.resources[kind] else "201 Created"
        return status, self._write(kind, resource_id, resource)

    def transaction(self, bundle: Any) -> dict[str, Any]:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise FhirProblem(400, "structure", "POST to the base expects a Bundle")
        if bundle.get("type") != "transaction":
            raise FhirProblem(400, "not-supported", "only transaction bundles are processed at the base")
        entries = bundle.get("entry") or []
        # fullUrl → (kind, id, resource, status, whether to write it)
        staged: dict[str, tuple[str, str, dict[str, Any], str, bool]] = {}
        resolved: dict[str, str] = {}
        for i, entry in enumerate(entries):
            where = f"Bundle.entry[{i}]: "
            request = entry.get("request") or {}
            resource = self.validate(entry.get("resource"), where)
            kind = resource["resourceType"]
            full_url = entry.get("fullUrl") or f"entry-{i}"
            method = request.get("method")
            if method == "POST":
                if request.get("url") != kind:
                    raise FhirProblem(400, "invalid", f"{where}request.url must be {kind}", [f"Bundle.entry[{i}]"])
                existing = self._conditional(kind, request["ifNoneExist"]) if request.get("ifNoneExist") else None
                if existing is not None:
                    resolved[full_url] = f"{kind}/{existing['id']}"
                    staged[full_url] = (kind, existing["id"], existing, "200 OK", False)
                    continue
                new_id = self._new_id()
                resolved[full_url] = f"{kind}/{new_id}"
                staged[full_url] = (kind, new_id, resource, "201 Created", True)
            elif method == "PUT":
                target = str(request.get("url", "")).split("/")
                if len(target) != 2 or target[0] != kind:
                    raise FhirProblem(400, "invalid", f"{where}PUT url must be {kind}/<id>", [f"Bundle.entry[{i}]"])
                resolved[full_url] = f"{kind}/{target[1]}"
                status = "200 OK" if target[1] in self.resources[kind] else "201 Created"
                staged[full_url] = (kind, target[1], {**resource, "id": target[1]}, status, True)
            else:
                raise FhirProblem(400, "not-supported", f"{where}method {method!r} is not supported in transactions")
        writes = []
        for full_url, (kind, resource_id, resource, status, write) in staged.items():
            if not write:
                writes.append((full_url, kind, resource_id, resource, status, False))
                continue
            body = _resolve(copy.deepcopy(resource), resolved, full_url)
            self.validate(body, f"{full_url}: ")
            writes.append((full_url, kind, resource_id, body, status, True))
        targets = {f"{k}/{rid}" for _, k, rid, _, _, _ in writes}
        for full_url, _, _, body, _, is_write in writes:
            if is_write:
                self._check_references(body, staged=targets, where=f"{full_url}: ")
        response_entries = []
        for _, kind, resource_id, body, status, is_write in writes:
            stored = self._write(kind, resource_id, body) if is_write else body
            meta = stored.get("meta", {})
            response_entries.append(
                {
                    "response": {
                        "status": status,
                        "location": f"{kind}/{resource_id}/_history/{meta.get('versionId', '1')}",
                        "etag": f'W/"{meta.get("versionId", "1")}"',
                        "lastModified": meta.get("lastUpdated"),
                    }
                }
            )
        return {"resourceType": "Bundle", "type": "transaction-response", "entry": response_entries}

    # -- internals -------------------------------------------------------------------------------

    def _supported(self, kind: str) -> None:
        if kind not in SUPPORTED:
            raise FhirProblem(404, "not-supported", f"resource type {kind} is not supported")

    def _new_id(self) -> str:
        value = str(self.next_id)
        self.next_id += 1
        return value

    def _conditional(self, kind: str, condition: str) -> dict[str, Any] | None:
        params = dict(part.split("=", 1) for part in condition.split("&") if "=" in part)
        if not params:
            raise FhirProblem(400, "invalid", f"ifNoneExist {condition!r} has no search parameters")
        found = self.search(kind, params)
        if len(found) > 1:
            raise FhirProblem(412, "multiple-matches", f"the condition on {kind} matches {len(found)} resources")
        return found[0] if found else None

    def _write(self, kind: str, resource_id: str, resource: dict[str, Any]) -> dict[str, Any]:
        previous = self.resources[kind].get(resource_id)
        version = previous.version + 1 if previous else 1
        now = datetime.now(UTC).isoformat()
        body = {
            **resource,
            "id": resource_id,
            "meta": {**resource.get("meta", {}), "versionId": str(version), "lastUpdated": now},
        }
        self.resources[kind][resource_id] = Stored(body, version, now)
        return body

    def _check_references(self, resource: dict[str, Any], *, staged: set[str], where: str = "") -> None:
        for reference in _references(resource):
            kind, _, rid = reference.partition("/")
            if kind in SUPPORTED and reference not in staged and rid not in self.resources[kind]:
                raise FhirProblem(400, "invalid", f"{where}reference {reference} does not resolve")


def _resolve(value: Any, resolved: dict[str, str], where: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and item.startswith("urn:uuid:"):
                if item not in resolved:
                    raise FhirProblem(400, "invalid", f"{where}: reference {item} is not in this transaction")
                out[key] = resolved[item]
            else:
                out[key] = _resolve(item, resolved, where)
        return out
    if isinstance(value, list):
        return [_resolve(v, resolved, where) for v in value]
    return value


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _token_matches(codings: list[dict[str, Any]], token: str, code_key: str) -> bool:
    system, bar, code = token.rpartition("|")
    return any(coding.get(code_key) == code and (not bar or coding.get("system") == system) for coding in codings)


def _matches(resource: dict[str, Any], params: dict[str, str]) -> bool:
    for name, wanted in params.items():
        if name == "_count":
            continue
        if name == "_id" and resource.get("id") != wanted:
            return False
        if name == "identifier" and not _token_matches(resource.get("identifier", []), wanted, "value"):
            return False
        if name == "_tag" and not _token_matches(resource.get("meta", {}).get("tag", []), wanted, "code"):
            return False
        if name in ("subject", "patient"):
            refs: set[str] = set()
            for fld in REFERENCE_FIELDS:
                refs.update(_references(resource.get(fld)))
            if wanted not in refs:
                return False
    return True
