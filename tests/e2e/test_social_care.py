"""The social care register through the public API: outcomes in, THL documents archived in the Kanta simulator."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lxml import etree

from tests.support.harness import Harness, example

NS = {"v3": "urn:hl7-org:v3"}

INITIATION = "1.2.246.537.6.1506.19001.2023.10.30"
GUIDANCE_RECORD = "1.2.246.537.6.1506.19003.2022.1.10"
AUTHORITY_CONTACT = "1.2.246.537.6.1506.4018.2022.9.28"
NEED_NOTICE = "1.2.246.537.6.1506.4006.2023.5.31"
CHILD_WELFARE_NOTICE = "1.2.246.537.6.1506.4009.2023.4.28"
SERVICE_TASK = "urn:oid:1.2.246.537.6.1221"

# -- reading the archive -----------------------------------------------------------------------------------


async def archived(gw: Harness) -> list[dict[str, Any]]:
    """Every archived document: its summary, its CDA text and its structured content."""
    kanta = gw.simulators["kanta"]
    listing = (await kanta.get("/_sim/documents")).json()["documents"]
    return [(await kanta.get(f"/_sim/documents/{d['document_id']}")).json() for d in listing]


def cda(document: dict[str, Any]) -> etree._Element:
    return etree.fromstring(document["cda"].encode("utf-8"))


def readable(document: dict[str, Any]) -> str:
    """A document as text to scan: the CDA with its base64 parts decoded, and the structured content."""
    root = cda(document)
    for value in root.iterfind(".//v3:value[@representation='B64']", NS):
        value.text = base64.b64decode("".join((value.text or "").split())).decode("utf-8")
    return etree.tostring(root, encoding="unicode") + json.dumps(document["content"], ensure_ascii=False)


def values_of(node: Any, key: str) -> Iterator[Any]:
    """Every value under ``key`` anywhere in a JSON tree."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield value
            yield from values_of(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from values_of(value, key)


def service_task_codes(content: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("system") == SERVICE_TASK:
                found.add(node["code"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(content)
    return found


# -- each social care example becomes its documents ----------------------------------------------------------


def need_notice_outcome() -> dict[str, Any]:
    """Example 10, but the police contacted social care without the person's consent (SHL 35 §)."""
    body = example("10")
    body["results"][0]["made_with_consent"] = False
    return body


# The guidance record carries the guidance unit's own service task (03, mappings.guidance_service_task);
# every other document the task of the service area the outcome names (LASTENSUOJELU for a notice).
SOCIAL_CARE_EXAMPLES = [
    pytest.param(lambda: example("03"), "120348-912Y", {INITIATION: "04", GUIDANCE_RECORD: "03"}, id="03-initiation"),
    pytest.param(lambda: example("04"), "240787-934P", {GUIDANCE_RECORD: "03"}, id="04-pending-matter"),
    pytest.param(lambda: example("08"), "070819A925P", {CHILD_WELFARE_NOTICE: "02"}, id="08-child-welfare-notice"),
    pytest.param(
        lambda: example("10"),
        "051115A956T",
        {INITIATION: "01", GUIDANCE_RECORD: "03", AUTHORITY_CONTACT: "01"},
        id="10-authority-contact",
    ),
    pytest.param(
        need_notice_outcome,
        "051115A956T",
        {INITIATION: "01", GUIDANCE_RECORD: "03", NEED_NOTICE: "01"},
        id="10-need-notice",
    ),
]


@pytest.mark.parametrize(("body", "hetu", "expected"), SOCIAL_CARE_EXAMPLES)
async def test_a_social_care_outcome_becomes_its_archived_documents(
    gw: Harness, body: Callable[[], dict[str, Any]], hetu: str, expected: dict[str, str]
) -> None:
    accepted = await gw.post(body())
    assert accepted.status_code == 202
    await gw.deliver()
    documents = await archived(gw)
    assert sorted(d["structure"] for d in documents) == sorted(expected)
    for document in documents:
        task = expected[document["structure"]]
        assert list(values_of(document["content"], "henkilotunnus")) == [
            {"system": "urn:oid:1.2.246.21", "value": hetu}
        ]
        assert document["function_code"] == task
        assert service_task_codes(document["content"]) <= {task}
    status = await gw.status(accepted.json()["id"])
    assert status["state"] == "delivered"
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in status["deliveries"])
    references = {d["references"]["document_oid"]: d["references"]["structure"] for d in status["deliveries"]}
    assert references == {d["document_id"]: d["structure"] for d in documents}


async def test_the_child_welfare_notice_carries_its_seven_working_day_decision_deadline(gw: Harness) -> None:
    await gw.post(example("08"))
    await gw.deliver()
    [notice] = await archived(gw)
    due = {
        act.findtext("v3:code/v3:originalText", namespaces=NS): act.find("v3:effectiveTime/v3:high", NS).get("value")
        for act in cda(notice).iterfind(".//v3:entry/v3:act", NS)
    }
    assert due["lsl-26-decision"] == "20261202"


# -- both registers -----------------------------------------------------------------------------------------

# Example 07: an initiation in adult social work and a hand-over to mental health care.
SOCIAL_ONLY = ("Toimeentulo-ongelmat, vuokrarästejä.", "Aikuissosiaalityö", "Toimeentulo ja talous")
SOCIAL_CODES = ("AIKUISSOSTYO", "TALOUS", "urn:oid:1.2.246.537.6.1282", SERVICE_TASK)
PATIENT_ONLY = ("Mieliala laskenut syksyn aikana.", "Mielenterveyden avopalvelut", "1.2.246.10.32219998.10.304")
PATIENT_CODES = ("MIELENTERVEYS-AVO", "MIELI", "Mielenterveys")
BOTH_SIDES_SUMMARY = "Taloudellinen ahdinko ja mielialan lasku"


async def test_an_outcome_for_both_registers_gives_each_only_its_own_data(gw: Harness) -> None:
    outcome_id = (await gw.post(example("07"))).json()["id"]
    await gw.deliver()
    assert (await gw.status(outcome_id))["state"] == "delivered"
    kanta = "\n".join(readable(d) for d in await archived(gw))
    lifecare = json.dumps(await gw.resources(), ensure_ascii=False)
    assert "210179-967X" in kanta and "210179-967X" in lifecare
    for value in SOCIAL_ONLY:
        assert value in kanta and value not in lifecare, value
    for value in SOCIAL_CODES:
        assert value not in lifecare, value
    for value in PATIENT_ONLY:
        assert value in lifecare and value not in kanta, value
    for value in PATIENT_CODES:
        assert value not in kanta, value
    assert BOTH_SIDES_SUMMARY not in kanta and BOTH_SIDES_SUMMARY not in lifecare


# -- corrections, lost answers, rejections ------------------------------------------------------------------------


async def test_a_corrected_initiation_archives_a_new_version_of_that_document_only(gw: Harness) -> None:
    first = (await gw.post(example("03"))).json()
    await gw.deliver()
    before = {d["action_key"]: d["references"] for d in (await gw.status(first["id"]))["deliveries"]}
    correction = example("03")
    correction["source"]["revision"] = 2
    correction["results"][0]["description"] = "Kotihoidon tarve arvioitava; omainen uupunut."
    answer = (await gw.post(correction)).json()
    await gw.deliver()

    replaced = before["kanta:initiation:IKAANTYNEET"]["document_oid"]
    documents = {d["document_id"]: d for d in await archived(gw)}
    [new] = [d for d in documents.values() if d["version"] == 2 and d["structure"] == INITIATION]
    assert new["set_id"] == replaced and documents[replaced]["replaced_by"] == new["document_id"]
    related = cda(new).find("v3:relatedDocument", NS)
    assert related is not None and related.get("typeCode") == "RPLC"
    assert related.find("v3:parentDocument/v3:id", NS).get("root") == replaced
    assert new["content"]["merkinta_asian_vireilletulosta"]["kuvaus_asian_vireilletulosta"] == (
        "Kotihoidon tarve arvioitava; omainen uupunut."
    )
    delivered = {d["action_key"]: d for d in (await gw.status(answer["id"]))["deliveries"]}
    initiation = delivered["kanta:initiation:IKAANTYNEET"]
    assert initiation["status"] == "delivered" and initiation["references"]["version_number"] == 2
    assert initiation["references"]["document_oid"] == new["document_id"]

    # The guidance record does not carry the initiation's description: nothing of it changed.
    assert {c["key"]: c["change"] for c in answer["changes"]} == {
        "kanta:initiation:IKAANTYNEET": "changed",
        "kanta:guidance-record:IKAANTYNEET": "unchanged",
    }
    assert len(documents) == 3


async def test_a_lost_answer_ends_with_the_document_archived_once(gw: Harness) -> None:
    await gw.fault("kanta", method="POST", path="^/archive$", drop="after", times=1)
    outcome_id = (await gw.post(example("04"))).json()["id"]
    status = await gw.deliver_until_settled(outcome_id)
    [delivery] = status["deliveries"]
    assert delivery["status"] == "delivered"
    assert [a["result"] for a in delivery["attempt_history"]] == ["transient", "delivered"]
    assert "already holds this document" in delivery["attempt_history"][1]["message"]
    [document] = await archived(gw)
    assert document["document_id"] == delivery["references"]["document_oid"]
    sent = [r for r in (await gw.simulators["kanta"].get("/_sim/requests")).json()["requests"] if r["method"] == "POST"]
    assert len(sent) == 2  # the lost one and the resend


async def test_a_kanta_client_fault_fails_the_delivery_at_once_for_an_operator(gw: Harness) -> None:
    await gw.fault(
        "kanta",
        method="POST",
        path="^/archive$",
        status=500,
        fault_code="Client.DocumentInvalid",
        message="custodian is not a register keeper of this archive",
    )
    outcome_id = (await gw.post(example("04"))).json()["id"]
    assert await gw.deliver() == 1
    status = await gw.status(outcome_id)
    [delivery] = status["deliveries"]
    assert status["state"] == "needs_attention"
    assert delivery["status"] == "failed" and delivery["attempts"] == 1
    assert [(a["result"], a["backend_status"]) for a in delivery["attempt_history"]] == [
        ("permanent", "Client.DocumentInvalid")
    ]
    assert "custodian is not a register keeper of this archive" in delivery["last_error"]
    assert await archived(gw) == []


# -- who reports ----------------------------------------------------------------------------------------------


def anonymous_report_about_identified_child() -> dict[str, Any]:
    """Example 08 phoned in by someone who would not give their name; the client is the child."""
    body = example("08")
    body["contact"] = {"received_at": "2026-11-23T09:05:00+02:00", "channel": "phone", "contacted_by": "anonymous"}
    notice = body["results"][0]
    notice["reporter_type"] = "anonymous"
    del notice["reporter_name"]
    return body


async def test_an_anonymous_child_welfare_notice_is_recorded_on_the_identified_child(gw: Harness) -> None:
    body = anonymous_report_about_identified_child()
    child = body["results"][0]["child"]["hetu"]
    accepted = await gw.post(body)
    assert accepted.status_code == 202, accepted.text
    await gw.deliver()
    assert (await gw.status(accepted.json()["id"]))["state"] == "delivered"
    [notice] = await archived(gw)
    assert notice["structure"] == CHILD_WELFARE_NOTICE
    assert cda(notice).find("v3:recordTarget/v3:patientRole/v3:id", NS).get("extension") == child
    content = notice["content"]["lastensuojeluilmoitus"]
    assert content["asiakas"]["henkilotunnus"]["value"] == child
    assert content["anonyymi_ilmoitus"] is True and "ilmoittaja" not in content
