"""Corrections posted at the same time never fork: revisions form one chain and the newest wins everywhere."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from gateway.store.engine import create_engine
from tests.support.harness import Harness, example

TRIES = 6


def pending_matter(outcome_id: str, revision: int) -> dict[str, Any]:
    """Example 04 (guidance about a pending matter: one Kanta guidance record), with a note naming its revision."""
    body = example("04")
    body["source"].update(outcome_id=outcome_id, revision=revision)
    body["results"][0]["note"] = f"Korjaus {revision}: pyytää omatyöntekijän yhteydenottoa."
    return body


async def revision_chain(gw: Harness, outcome_id: str) -> list[tuple[int, int | None]]:
    """(revision, revision it supersedes) of every stored revision of one source outcome."""
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT o.revision, earlier.revision FROM outcomes o "
                    "LEFT JOIN outcomes earlier ON earlier.id = o.supersedes "
                    "WHERE o.source_outcome_id = :id ORDER BY o.revision"
                ),
                {"id": outcome_id},
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        await engine.dispose()


async def current_guidance_record(gw: Harness, set_ids_before: set[str]) -> str:
    """The text of the archive's current version of the one document set created since ``set_ids_before``."""
    kanta = gw.simulators["kanta"]
    documents = (await kanta.get("/_sim/documents")).json()["documents"]
    current = [d for d in documents if d["set_id"] not in set_ids_before and d["replaced_by"] is None]
    assert len(current) == 1, current
    cda: str = (await kanta.get(f"/_sim/documents/{current[0]['document_id']}")).json()["cda"]
    return cda


async def test_two_corrections_posted_at_once_form_one_chain_and_the_newest_wins(gw: Harness) -> None:
    for attempt in range(TRIES):
        outcome_id = f"CRM-RACE-{attempt}"
        set_ids = {d["set_id"] for d in (await gw.simulators["kanta"].get("/_sim/documents")).json()["documents"]}
        first = (await gw.post(pending_matter(outcome_id, 1))).json()["id"]
        await gw.deliver_until_settled(first)

        second, third = await asyncio.gather(
            gw.post(pending_matter(outcome_id, 2)), gw.post(pending_matter(outcome_id, 3))
        )

        assert third.status_code == 202
        chain = await revision_chain(gw, outcome_id)
        if second.status_code == 202:  # revision 2 came first: 3 corrects 2
            assert chain == [(1, None), (2, 1), (3, 2)]
        else:  # revision 3 came first: the older correction is refused, never stacked on top
            assert second.status_code == 409 and "revision 3 is already accepted" in second.json()["detail"]
            assert chain == [(1, None), (3, 1)]
        await gw.deliver_until_settled(third.json()["id"])
        assert "Korjaus 3:" in await current_guidance_record(gw, set_ids)


async def test_the_same_revision_posted_twice_at_once_is_stored_once(gw: Harness) -> None:
    await gw.post(pending_matter("CRM-RACE-SAME", 1))
    answers = await asyncio.gather(*(gw.post(pending_matter("CRM-RACE-SAME", 2)) for _ in range(4)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await revision_chain(gw, "CRM-RACE-SAME") == [(1, None), (2, 1)]
