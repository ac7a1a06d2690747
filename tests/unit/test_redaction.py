"""What a back-end says is redacted with what the delivery knows, and by pattern as a safety net."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gateway.logs import redact_text
from gateway.redaction import mask_patterns, personal_values, redact
from gateway.store.engine import create_engine

HETU = "131052-308T"
PAYLOAD = {
    "client": {
        "hetu": HETU,
        "given_names": "Matti Juhani",
        "family_name": "Meikäläinen",
        "birth_date": "1952-10-13",
        "phone": "+358401234567",
        "municipality": "091",
        "guardian": {"given_names": "Anna-Liisa", "family_name": "Virtanen", "phone": "+358501112223"},
    },
    "request": {"email": "matti.m@example.fi", "topic": "KELA-ELAKE"},
    "unit": "ASOHJ-KESKITETTY",
    "worker_id": "T-1042",
}
KNOWN = personal_values(PAYLOAD)


# -- what a payload knows -------------------------------------------------------------------------------------


def test_the_personal_values_of_a_payload_are_its_people_s_hetus_name_parts_phones_and_emails() -> None:
    assert personal_values(PAYLOAD) == {
        HETU,
        "Matti",
        "Juhani",
        "Meikäläinen",
        "+358401234567",
        "Anna-Liisa",
        "Anna",
        "Liisa",
        "Virtanen",
        "+358501112223",
        "matti.m@example.fi",
    }


def test_a_child_and_a_reporter_of_a_notice_are_personal_values_too() -> None:
    payload = {
        "client": {"hetu": "010123A123F", "given_names": "Eeli", "family_name": "Ek"},
        "result": {"reporter_type": "relative", "reporter_name": "Kaisa Koskinen"},
    }

    assert personal_values(payload) == {"010123A123F", "Eeli", "Ek", "Kaisa", "Koskinen"}


def test_codes_ids_and_dates_of_a_payload_are_not_personal_values() -> None:
    assert not KNOWN & {"091", "ASOHJ-KESKITETTY", "T-1042", "KELA-ELAKE", "1952-10-13"}


# -- the delivery's own values ---------------------------------------------------------------------------------


def test_each_name_part_is_masked_in_any_case() -> None:
    assert redact("MATTI juhani Meikäläinen", KNOWN) == "<name> <name> <name>"


def test_a_hyphenated_name_is_masked_whole_and_in_its_parts() -> None:
    assert redact("Anna-Liisa, Anna and Liisa", KNOWN) == "<name>, <name> and <name>"


def test_a_name_with_a_finnish_case_ending_is_masked() -> None:
    assert redact("potilaan Meikäläisen tiedot, huoltaja Virtaselle, Mattia", KNOWN) == (
        "potilaan <name> tiedot, huoltaja <name>, <name>"
    )


def test_a_name_written_without_diacritics_is_masked() -> None:
    assert redact("MEIKALAINEN", KNOWN) == "<name>"


def test_a_word_merely_starting_like_a_name_is_kept() -> None:
    assert redact("Mattimeikalaisenpoika", KNOWN) == "Mattimeikalaisenpoika"


@pytest.mark.parametrize(
    "written",
    [
        "040 123 4567",
        "040-1234567",
        "0401234567",
        "(040) 123 45 67",
        "+358 40 123 4567",
        "+358 (0)40 123 4567",
        "00358401234567",
        "358401234567",
        "401234567",
        "+358-40-123-4567",
    ],
)
def test_a_known_phone_number_is_masked_in_any_formatting(written: str) -> None:
    assert redact(f"numero {written} ei vastaa", KNOWN) == "numero <phone> ei vastaa"


def test_a_known_hetu_is_masked_also_without_its_century_sign_and_in_lower_case() -> None:
    assert redact("131052308t / 131052-308t", KNOWN) == "<hetu> / <hetu>"


def test_a_known_email_address_is_masked() -> None:
    assert redact("no mailbox MATTI.M@example.fi", KNOWN) == "no mailbox <email>"


def test_codes_fhirpath_expressions_fault_codes_and_locations_are_kept() -> None:
    message = (
        "Client.InvalidRequest.InvalidHetu at /ClinicalDocument/recordTarget/patientRole/id: "
        "Patient.name[0].family (Patient.telecom[0].value) OID 1.2.246.10.32219998.10.900.2.1.1 "
        "delivery 3f1b2c4d-0000-4000-8000-000000000001 slot 2026-11-23 10:00 HTTP 422"
    )

    assert redact(message, KNOWN) == message


# -- the safety net: patterns, whoever's the value -------------------------------------------------------------


@pytest.mark.parametrize("sign", list("+-YXWVUABCDEF"))
def test_a_hetu_with_any_century_sign_is_masked(sign: str) -> None:
    assert mask_patterns(f"id 010203{sign}123A.") == "id <hetu>."


@pytest.mark.parametrize(
    "written",
    [
        "040 123 4567",
        "040-1234567",
        "0401234567",
        "09 1234 5678",
        "(09) 1234 5678",
        "050 123 45 67",
        "+358 40 123 4567",
        "+358401234567",
        "00358 40 1234567",
        "+46 70 123 45 67",
        "+44 20 7946 0958",
    ],
)
def test_finnish_national_and_international_phone_numbers_are_masked(written: str) -> None:
    assert mask_patterns(f"call {written} now") == "call <phone> now"


def test_uuids_timestamps_versions_and_oids_are_not_mistaken_for_hetus_or_phones() -> None:
    message = (
        "delivery 3f1b2c4d-0000-4000-8000-000000000001 at 2026-11-23T09:05:00+02:00, "
        "version 1.2.246.537.6.1506.4006.2023.5.31, 1200 ms, attempt 3 of 8"
    )

    assert mask_patterns(message) == message


def test_the_log_safety_net_uses_the_same_patterns() -> None:
    assert redact_text("client 010203A123B called from 040 123 4567") == "client <hetu> called from <phone>"


def test_a_name_nobody_told_about_is_not_caught_by_the_patterns() -> None:
    """Why adapters redact with the delivery's values: a name has no shape."""
    assert redact("Aino Testinen") == "Aino Testinen"


# -- what a database error says -------------------------------------------------------------------------------


async def test_a_failing_statement_does_not_quote_its_parameters(database_url: str) -> None:
    """The statement's parameters are hidden by the engine (a server's own DETAIL may still quote a row)."""
    engine = create_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": HETU})
    finally:
        await engine.dispose()

    assert HETU not in str(caught.value) and "parameters hidden" in str(caught.value)
