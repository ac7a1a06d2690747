"""The mappings admin API (scope ``mappings:admin``): versions, diff, dry-run, activate, roll back, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from gateway.mapsets import service, store
from gateway.mapsets.conceptmap import concept_maps
from gateway.mapsets.document import DocumentError, document_from_texts, parse
from gateway.openapi import AUTHENTICATED, JSON_BODY, problem_responses
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.tokens import Principal
from gateway.state import State
from gateway.store.engine import reading

router = APIRouter(prefix="/v1/mappings", tags=["mappings"])
Admin = Annotated[Principal, Depends(require("mappings:admin"))]


# Version numbers are INTEGER columns: a bigger number cannot name a version, and must not reach the driver.
MAX_NUMBER = 2**31 - 1
VersionNumber = Annotated[int, Path(ge=1, le=MAX_NUMBER, description="A mapping version's number.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UploadIn(_In):
    document: dict[str, Any] | None = Field(default=None, description="The mapping document: the YAML files merged.")
    files: dict[str, str] | None = Field(default=None, description="Or the YAML files' texts, by file name.")
    comment: str | None = Field(default=None, max_length=500)


class ActivateIn(_In):
    number: int = Field(ge=1, le=MAX_NUMBER, description="The version to activate.")
    expected_current: int | None = Field(
        default=None,
        ge=1,
        le=MAX_NUMBER,
        description="The version you believe is active; another one active answers 409.",
    )
    comment: str | None = Field(default=None, max_length=500)


class RollbackIn(_In):
    expected_current: int | None = Field(default=None, ge=1, le=MAX_NUMBER)
    comment: str | None = Field(default=None, max_length=500)


class DryRunIn(_In):
    number: int | None = Field(default=None, ge=1, le=MAX_NUMBER, description="A stored candidate version ...")
    document: dict[str, Any] | None = Field(default=None, description="... or a candidate document not stored.")
    samples: list[dict[str, Any]] = Field(default_factory=list, max_length=100, description="Outcome bodies.")
    examples: bool = Field(default=True, description="Also the shipped examples.")
    recent: int = Field(default=service.RECENT_DEFAULT, ge=0, le=1000, description="And this many recent outcomes.")


class VersionOut(BaseModel):
    number: int
    label: str
    created_at: str
    created_by: str
    comment: str | None
    active: bool


class VersionDetail(VersionOut):
    content: dict[str, Any]


class UploadOut(BaseModel):
    version: VersionOut
    created: bool = Field(description="False: the same content was already stored as this version.")


class VersionsOut(BaseModel):
    active: int | None
    versions: list[VersionOut]


class ChangeOut(BaseModel):
    id: int
    changed_at: str
    actor: str
    action: str
    number: int
    previous_number: int | None
    comment: str | None


class HistoryOut(BaseModel):
    changes: list[ChangeOut]


class DifferenceOut(BaseModel):
    path: str
    change: str
    old: Any = None
    new: Any = None


class DiffOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: int | None = Field(alias="from")
    to: int | None
    summary: dict[str, int]
    differences: list[DifferenceOut]


class ActivationOut(BaseModel):
    active: int
    previous: int | None


def actor_of(principal: Principal) -> str:
    return f"{principal.client_name}:{principal.user or principal.name}"


def invalid(problems: list[dict[str, str]]) -> Problem:
    """A 422 listing every problem, each a ``FieldProblem`` as every other 422 of the API has it."""
    return Problem(
        422,
        "invalid-mappings",
        "The mapping document is not valid",
        f"{len(problems)} problem(s) found; nothing was stored.",
        errors=[{"code": "invalid_mapping", **problem} for problem in problems],
    )


def _problems(exc: service.InvalidMappings) -> list[dict[str, str]]:
    return [{"field": p.location, "message": p.message} for p in exc.problems]


def _unknown(exc: store.UnknownVersion) -> Problem:
    return Problem(404, "unknown-mapping-version", "No such mapping version", str(exc))


def _stale(exc: store.StaleActivation) -> Problem:
    return Problem(409, "stale-activation", "The active version has changed", f"{exc} (expected_current).")


def document_in(body: UploadIn | DryRunIn) -> dict[str, Any] | None:
    files = getattr(body, "files", None)
    if body.document is not None and files is not None:
        raise invalid([{"field": "files", "message": "give document or files, not both"}])
    if files is not None:
        try:
            return document_from_texts(files)
        except DocumentError as exc:
            raise invalid([{"field": where, "message": message} for where, message in exc.problems]) from None
    return body.document


@router.get("/versions", summary="List mapping versions", responses=problem_responses(*AUTHENTICATED))
async def list_versions(state: State, _: Admin) -> VersionsOut:
    async with reading(state.engine) as conn:
        active = await store.active_number(conn)
        versions = await store.list_versions(conn)
    return VersionsOut(active=active, versions=[VersionOut(**v.as_dict(active)) for v in versions])


@router.post(
    "/versions",
    status_code=201,
    summary="Upload a mapping version",
    description="Validated as a whole: an invalid document is a 422 listing every problem, and nothing is "
    "stored. The same content uploaded again answers the existing version (`created: false`).",
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY),
)
async def upload(body: UploadIn, state: State, principal: Admin) -> UploadOut:
    document = document_in(body)
    if document is None:
        raise invalid([{"field": "document", "message": "give document or files"}])
    try:
        number, created = await service.upload(
            state.engine, document=document, actor=actor_of(principal), now=state.now(), comment=body.comment
        )
    except service.InvalidMappings as exc:
        raise invalid(_problems(exc)) from None
    async with reading(state.engine) as conn:
        active = await store.active_number(conn)
        found = await store.get_version(conn, number)
    assert found is not None  # just stored
    return UploadOut(version=VersionOut(**found[0].as_dict(active)), created=created)


@router.get(
    "/versions/{number}",
    summary="One mapping version with its content",
    responses=problem_responses(*AUTHENTICATED, 404),
)
async def get_version(number: VersionNumber, state: State, _: Admin) -> VersionDetail:
    async with reading(state.engine) as conn:
        active = await store.active_number(conn)
        found = await store.get_version(conn, number)
    if found is None:
        raise _unknown(store.UnknownVersion(number))
    return VersionDetail(**found[0].as_dict(active), content=found[1])


@router.get(
    "/versions/{number}/diff",
    summary="Diff a version against the active one (or another)",
    responses=problem_responses(*AUTHENTICATED, 404),
)
async def diff(
    number: VersionNumber,
    state: State,
    _: Admin,
    against: Annotated[int | None, Query(ge=1, le=MAX_NUMBER, description="Default: the active version.")] = None,
) -> DiffOut:
    try:
        async with reading(state.engine) as conn:
            return DiffOut.model_validate(await service.diff_versions(conn, number=number, against=against))
    except store.UnknownVersion as exc:
        raise _unknown(exc) from None


@router.get(
    "/versions/{number}/concept-maps",
    summary="The version's code translations as FHIR R4 ConceptMap resources (a collection Bundle)",
    responses=problem_responses(*AUTHENTICATED, 404),
)
async def export_concept_maps(number: VersionNumber, state: State, _: Admin) -> dict[str, Any]:
    try:
        async with reading(state.engine) as conn:
            active = await store.active_number(conn)
            document = await service.document_of(conn, number)
    except store.UnknownVersion as exc:
        raise _unknown(exc) from None
    maps = concept_maps(parse(document), status="active" if number == active else "draft")
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": m} for m in maps]}


@router.post(
    "/dry-run",
    summary="Plan samples, the examples and recent outcomes with the active and a candidate version",
    description="Says per outcome whether its plan changes and how (actions by key, rules, deadlines, and which "
    "parts of a record would differ), with totals. Never shows a payload or personal data.",
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY, 404),
)
async def dry_run(body: DryRunIn, state: State, _: Admin) -> dict[str, Any]:
    if (body.number is None) == (body.document is None):
        raise invalid([{"field": "number", "message": "give a stored version's number or a document"}])
    samples, problems = service.sample_outcomes(body.samples)
    try:
        if body.document is not None:
            candidate = service.checked(body.document)
        else:
            assert body.number is not None
            async with reading(state.engine) as conn:
                candidate = await service.document_of(conn, body.number)
    except service.InvalidMappings as exc:
        raise invalid(_problems(exc)) from None
    except store.UnknownVersion as exc:
        raise _unknown(exc) from None
    if problems:
        raise invalid(problems)
    return await service.dry_run_versions(
        state.engine, candidate=candidate, samples=samples, with_examples=body.examples, recent=body.recent
    )


@router.post(
    "/active",
    summary="Activate a version",
    description="Every API and worker process switches within seconds (GATEWAY_MAPPINGS_POLL_SECONDS).",
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY, 404, 409),
)
async def activate(body: ActivateIn, state: State, principal: Admin) -> ActivationOut:
    try:
        async with state.engine.begin() as conn:
            previous = await store.activate(
                conn,
                number=body.number,
                actor=actor_of(principal),
                now=state.now(),
                comment=body.comment,
                expected_current=body.expected_current,
            )
    except store.UnknownVersion as exc:
        raise _unknown(exc) from None
    except store.StaleActivation as exc:
        raise _stale(exc) from None
    return ActivationOut(active=body.number, previous=previous)


@router.post(
    "/rollback",
    summary="Roll back to the version active before the current one",
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY, 409),
)
async def rollback(body: RollbackIn, state: State, principal: Admin) -> ActivationOut:
    try:
        async with state.engine.begin() as conn:
            active, previous = await store.rollback(
                conn,
                actor=actor_of(principal),
                now=state.now(),
                comment=body.comment,
                expected_current=body.expected_current,
            )
    except store.StaleActivation as exc:
        raise _stale(exc) from None
    except store.NothingToRollBack as exc:
        raise Problem(409, "nothing-to-roll-back", "Nothing to roll back to", str(exc)) from None
    return ActivationOut(active=active, previous=previous)


@router.get(
    "/history", summary="Every change to the mappings: who, what, when", responses=problem_responses(*AUTHENTICATED)
)
async def history(state: State, _: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> HistoryOut:
    async with reading(state.engine) as conn:
        changes = await store.history(conn, limit=limit)
    return HistoryOut(changes=[ChangeOut(**c.as_dict()) for c in changes])
