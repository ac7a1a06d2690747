"""Corrected revisions through the API: only the difference is delivered; lower revisions conflict."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Harness, example

INITIATION = "1.2.246.537.6.1506.19001.2023.10.30"
GUIDANCE_RECORD = "1.2.246.537.6.1506.19003.2022.1.10"


def revised(name: str, revision: int) -> dict[str, Any]:
    body = example(name)
    body["source"]["revision"] = revision
    return body


async def test_a_corrected_handover_updates_the_resources_it_created(gw: Harness) -> None:
    await gw.post(example("05"))
    await gw.deliver()
    correction = revised("05", 2)
    correction["results"][0]["note"] = "Yskä jatkunut neljä viikkoa."
    answer = (await gw.post(correction)).json()
    assert [c["change"] for c in answer["changes"]] == ["changed"]
    await gw.deliver()
    status = await gw.status(answer["id"])
    assert status["state"] == "delivered" and status["deliveries"][0]["document_version"] == 2
    stored = await gw.resources()
    assert len(stored["Encounter"]) == 1 and len(stored["ServiceRequest"]) == 1
    request = stored["ServiceRequest"][0]
    assert request["meta"]["versionId"] == "2" and request["note"][0]["text"] == "Yskä jatkunut neljä viikkoa."


async def test_a_correction_that_changes_nothing_sends_nothing(gw: Harness) -> None:
    await gw.post(example("05"))
    await gw.deliver()
    answer = (await gw.post(revised("05", 2))).json()
    assert [c["change"] for c in answer["changes"]] == ["unchanged"]
    assert await gw.deliver() == 0
    delivery = (await gw.status(answer["id"]))["deliveries"][0]
    assert delivery["status"] == "unchanged" and delivery["references"]["resources"]["Encounter"]


async def test_a_correction_before_delivery_replaces_the_queued_delivery(gw: Harness) -> None:
    first = (await gw.post(example("05"))).json()
    correction = revised("05", 2)
    correction["results"][0]["urgency"] = "urgent"
    await gw.post(correction)
    await gw.deliver()
    assert (await gw.status(first["id"]))["deliveries"][0]["status"] == "cancelled"
    stored = await gw.resources()
    assert len(stored["ServiceRequest"]) == 1 and stored["ServiceRequest"][0]["priority"] == "urgent"


async def test_only_the_changed_register_receives_the_correction(gw: Harness) -> None:
    await gw.post(example("07"))
    correction = revised("07", 2)
    correction["results"][1]["note"] = "Mieliala laskenut; uniongelmia."
    changes = {c["key"]: c["change"] for c in (await gw.post(correction)).json()["changes"]}
    assert changes == {
        "kanta:initiation:AIKUISSOSTYO": "unchanged",
        "kanta:guidance-record:AIKUISSOSTYO": "unchanged",
        "lifecare:patient-record": "changed",
    }


async def test_a_lower_revision_with_a_different_body_is_409(gw: Harness) -> None:
    await gw.post(revised("05", 3))
    stale = revised("05", 2)
    response = await gw.post(stale)
    assert response.status_code == 409 and "revision 3 is already accepted" in response.json()["detail"]


async def test_a_correction_replaces_the_statistics_event(gw: Harness) -> None:
    await gw.post(example("05"))
    await gw.post(revised("05", 2))
    assert await gw.count("statistics_events") == 1


async def test_a_later_correction_replaces_the_delivery_an_unchanged_revision_pointed_at(gw: Harness) -> None:
    await gw.post(example("05"))
    await gw.deliver()
    await gw.post(revised("05", 2))  # unchanged
    third = revised("05", 3)
    third["results"][0]["note"] = "Kolmas versio."
    answer = (await gw.post(third)).json()
    await gw.deliver()
    delivery = (await gw.status(answer["id"]))["deliveries"][0]
    assert delivery["document_version"] == 2 and delivery["status"] == "delivered"
    assert len((await gw.resources())["ServiceRequest"]) == 1


async def test_adding_a_handover_archives_nothing_new_in_kanta_and_keeps_the_guidance_records_description(
    gw: Harness,
) -> None:
    first = example("03")  # a social care initiation with a generic summary
    await gw.post(first)
    await gw.deliver()
    correction = revised("03", 2)
    correction["results"].append(
        {"kind": "health_care_handover", "receiving": "hta", "urgency": "non_urgent", "note": "Kaatuillut kotona."}
    )
    answer = (await gw.post(correction)).json()
    assert {c["key"]: c["change"] for c in answer["changes"]} == {
        "kanta:initiation:IKAANTYNEET": "unchanged",
        "kanta:guidance-record:IKAANTYNEET": "unchanged",
        "lifecare:patient-record": "new",
    }
    await gw.deliver()
    assert (await gw.status(answer["id"]))["state"] == "delivered"

    kanta = gw.simulators["kanta"]
    listing = (await kanta.get("/_sim/documents")).json()["documents"]
    assert sorted((d["structure"], d["version"]) for d in listing) == [
        (INITIATION, 1),
        (GUIDANCE_RECORD, 1),
    ]
    [record] = [d for d in listing if d["structure"] == GUIDANCE_RECORD]
    content = (await kanta.get(f"/_sim/documents/{record['document_id']}")).json()["content"]
    entry = content["merkinta_ohjauksesta_ja_neuvonnasta"]["asiakaskertomusmerkinta"]
    assert first["guidance"]["summary"] in entry["tapahtuma"]["kuvaus"]
    assert len((await gw.resources())["ServiceRequest"]) == 1
