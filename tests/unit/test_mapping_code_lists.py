"""The code lists are data in the mapping set: every code the contract can produce has its entry there."""

from __future__ import annotations

import typing

import httpx

from adapters.kela.simulator import create_simulator
from gateway.contract import results
from gateway.contract.vocabulary import AuthorityKind, ContactedBy
from gateway.mappings import KelaTopic, MappingSet


def _result_kinds() -> set[str]:
    kinds = set()
    for name in dir(results):
        model = getattr(results, name)
        hints = getattr(model, "model_fields", {})
        if "kind" in hints:
            kinds.update(typing.get_args(hints["kind"].annotation))
    return kinds


def test_every_result_kind_says_where_the_guidance_ended(mappings: MappingSet) -> None:
    assert _result_kinds() <= set(mappings.statistics.ended_how)


def test_every_contacting_party_and_authority_kind_has_a_finnish_display(mappings: MappingSet) -> None:
    displays = mappings.statistics.displays
    assert {c.value for c in ContactedBy} <= set(displays["contacted_by"])
    assert {k.value for k in AuthorityKind} <= set(displays["authority_kind"])


async def _served_topics(simulator: object) -> dict[str, object]:
    transport = httpx.ASGITransport(app=simulator)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kela") as client:
        answer: dict[str, object] = (await client.get("/_sim/topics")).json()
    return answer


async def test_the_kela_simulator_serves_the_topics_it_is_given() -> None:
    topics = {"KELA-TESTI": KelaTopic(fi="Testiaihe", en="Test topic")}
    answer = await _served_topics(create_simulator(topics=topics))
    assert answer["topics"] == {"KELA-TESTI": {"fi": "Testiaihe", "en": "Test topic"}}


async def test_the_kela_simulator_serves_the_shipped_mapping_sets_topics_by_default(mappings: MappingSet) -> None:
    answer = await _served_topics(create_simulator())
    assert set(answer["topics"]) == set(mappings.kela.topics)  # type: ignore[arg-type]
