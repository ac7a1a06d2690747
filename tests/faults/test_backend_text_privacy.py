"""What a back-end says about the person of a delivery reaches no log line, no table and no API answer.

Each simulator is told to answer with a diagnostic quoting the person its delivery is about: the
hetu, the names (one of them in capitals, as registers write surnames) and the phone number in
Finnish national format, the way a FHIR server or a SOAP service repeats what it refused. Lifecare
and Kanta refuse (failed), Kela keeps failing on its side (retried, then held). Then everything the
gateway wrote or answered is scanned for every personal value posted.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import phonenumbers
from sqlalchemy import select

from gateway.examples import move_dates
from gateway.store.engine import create_engine
from gateway.store.schema import metadata
from tests.support.harness import ACTOR, Harness, booking_body, consent_body, example, running_gateway

HOLDS_PERSONAL_DATA_BY_DESIGN = {
    # What the register must receive: the payload of an open delivery (purged once it has settled
    # and the purge window has passed; these deliveries are held or failed, so still open).
    ("deliveries", "payload"),
    # The consent record itself names who consented (Kela example): the registry's own data.
    ("consents", "consenter"),
    ("consents", "guardian"),
}
"""The only columns not scanned, and why: they hold the posted person on purpose, not what a back-end said."""


def people(body: dict[str, Any]) -> list[dict[str, Any]]:
    client = body["client"]
    return [client, *([client["guardian"]] if client.get("guardian") else [])]


def national(phone: str) -> str:
    """``+358401234573`` → ``040 1234573``: how a Finnish register writes a number back."""
    return phonenumbers.format_number(phonenumbers.parse(phone, "FI"), phonenumbers.PhoneNumberFormat.NATIONAL)


def quoting(body: dict[str, Any]) -> str:
    """A diagnostic that repeats everything the back-end knows of the delivery's people."""
    parts = []
    for person in people(body):
        said = f"{person['given_names']} {person['family_name'].upper()}"
        if person.get("hetu"):
            said += f" ({person['hetu']})"
        if person.get("phone"):
            said += f", puh. {national(person['phone'])}"
        parts.append(said)
    return "tiedot eivät täsmää: " + "; ".join(parts)


def lifecare_fault(body: dict[str, Any]) -> dict[str, Any]:
    issue = {
        "severity": "error",
        "code": "business-rule",
        "diagnostics": quoting(body),
        "expression": ["Patient.name[0].family", f"Patient.identifier.where(value='{body['client']['hetu']}')"],
    }
    return {
        "method": "POST",
        "path": "^/$",
        "status": 422,
        "raw_body": json.dumps({"resourceType": "OperationOutcome", "issue": [issue]}, ensure_ascii=False),
        "content_type": "application/fhir+json",
    }


def kanta_fault(body: dict[str, Any]) -> dict[str, Any]:
    location = f"/ClinicalDocument/recordTarget/patientRole/patient/name[family='{body['client']['family_name']}']"
    envelope = f"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
<faultcode>soap:Client.DocumentInvalid</faultcode><faultstring>{escape(quoting(body))}</faultstring>
<detail><k:FaultDetail xmlns:k="urn:asiakasohjaus:kanta-archive-model:1"><k:code>DocumentInvalid</k:code>
<k:location>{escape(location)}</k:location></k:FaultDetail></detail>
</soap:Fault></soap:Body></soap:Envelope>"""
    return {"method": "POST", "path": "archive", "status": 500, "raw_body": envelope}


def kela_fault(body: dict[str, Any]) -> dict[str, Any]:
    envelope = f"""<?xml version="1.0" encoding="utf-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><SOAP-ENV:Fault>
<faultcode>Server.ServerProxy.ServiceFailed</faultcode><faultstring>{escape(quoting(body))}</faultstring>
</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
    return {"method": "POST", "status": 500, "raw_body": envelope}


CASES: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "lifecare": ("05", lifecare_fault),  # a health care hand-over
    "kanta": ("03", kanta_fault),  # a social care initiation (the client's phone posted in national format)
    "kela": ("09", kela_fault),  # a Kela booking with a Y100 consent
}


def personal_values(bodies: list[dict[str, Any]]) -> set[str]:
    """Every personal value posted, in every form the diagnostics used: each name part, phones both ways."""
    values: set[str] = set()
    for body in bodies:
        for person in people(body):
            for name in (person["given_names"], person["family_name"]):
                values.update(name.split())
            if person.get("hetu"):
                values.add(person["hetu"])
            if person.get("phone"):
                e164 = phonenumbers.format_number(phonenumbers.parse(person["phone"], "FI"), 0)
                values.update({person["phone"], e164, national(person["phone"])})
    return values


def hits(values: set[str], lines: list[str]) -> list[tuple[str, str]]:
    """(value, line) for each value found in a line: names as whole words in any case, the rest as written."""
    found = []
    for value in sorted(values):
        pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
        found.extend((value, line[:200]) for line in lines if pattern.search(line))
    return found


async def table_lines(gw: Harness) -> dict[str, list[str]]:
    """Every row of every table as text, but for the columns of :data:`HOLDS_PERSONAL_DATA_BY_DESIGN`."""
    engine = create_engine(gw.settings.resolved_database_url)
    try:
        rows: dict[str, list[str]] = {}
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                columns = [c for c in table.columns if (table.name, c.name) not in HOLDS_PERSONAL_DATA_BY_DESIGN]
                result = await conn.execute(select(*columns))
                rows[table.name] = [json.dumps([str(v) for v in row], ensure_ascii=False) for row in result]
        return rows
    finally:
        await engine.dispose()


async def test_what_a_back_end_says_about_the_person_is_stored_logged_and_answered_redacted(
    database_url: str, tmp_path: Path, captured_logs: io.StringIO
) -> None:
    bodies = {backend: move_dates(example(number), now=datetime.now(UTC)) for backend, (number, _) in CASES.items()}
    async with running_gateway(database_url, tmp_path) as gw:
        for backend, (_, fault) in CASES.items():
            await gw.fault(backend, **fault(bodies[backend]))
        ids = {backend: (await gw.post(body)).json()["id"] for backend, body in bodies.items()}
        settled = {backend: await gw.deliver_until_settled(outcome_id) for backend, outcome_id in ids.items()}
        answers = [(await gw.api.get(f"/v1/outcomes/{outcome_id}")).text for outcome_id in ids.values()]
        tables = await table_lines(gw)

    # Each back-end's diagnostic arrived and was kept, redacted: the codes and markers are there.
    ended = {b: {(d["kind"], d["status"]) for d in s["deliveries"]} for b, s in settled.items()}
    assert ended == {
        "lifecare": {("patient_record", "failed")},
        "kanta": {("social_care_document", "failed")},
        "kela": {("kela_consent", "held"), ("kela_booking", "held")},
    }
    messages = [a["message"] for s in settled.values() for d in s["deliveries"] for a in d["attempt_history"]]
    assert all("<name>" in m and "<hetu>" in m and "<phone>" in m for m in messages)
    assert any("Patient.name[0].family" in m for m in messages)
    assert any("Client.DocumentInvalid at /ClinicalDocument/recordTarget" in m for m in messages)
    assert any("Server.ServerProxy.ServiceFailed" in m for m in messages)

    values = personal_values(list(bodies.values()))
    log_lines = captured_logs.getvalue().splitlines()
    row_lines = [line for lines in tables.values() for line in lines]
    assert '"event": "delivery failed"' in captured_logs.getvalue()  # the logs were captured
    assert len(tables) == len(metadata.sorted_tables) and row_lines
    assert hits(values, log_lines) == []
    assert hits(values, row_lines) == []
    assert hits(values, answers) == []


async def test_what_kela_says_about_the_client_when_a_booking_is_cancelled_is_answered_redacted(
    database_url: str, tmp_path: Path
) -> None:
    body = booking_body()
    async with running_gateway(database_url, tmp_path) as gw:
        await gw.api.post("/v1/consents", json=consent_body())
        booking = await gw.api.post("/v1/bookings", json=body)
        assert booking.status_code == 201, booking.text
        await gw.fault("kela", **{**kela_fault(body), "body_contains": "cancelBooking", "times": 1})
        cancel = {"reason": "ei tarvita", "cancelled_by": ACTOR}
        answer = await gw.api.post(f"/v1/bookings/{booking.json()['id']}/cancel", json=cancel)
    assert answer.status_code == 503 and "<name>" in answer.text
    assert hits(personal_values([body]), [answer.text]) == []
