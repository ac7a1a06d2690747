"""The X-Road 4.0 header: built in protocol order, parsed strictly, echo checked field by field."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from lxml import etree

from adapters.kela.xroad import (
    ID_NS,
    SOAP_HEADER_TAG,
    XRD_NS,
    ClientId,
    ServiceId,
    XRoadHeader,
    XRoadHeaderError,
    build_header,
    check_echo,
    new_header,
    parse_header,
)

CLIENT = ClientId("FI-DEV", "MUN", "3221999-8", "asiakasohjaus")
SERVICE = ServiceId("FI-DEV", "GOV", "0246246-0", "kela-ajanvaraus", "findSlots", "v1")
MESSAGE_ID = "7b4cf0d4-2a51-4a3c-9f3e-0d7f1f0c9a11"
HEADER = XRoadHeader(CLIENT, SERVICE, MESSAGE_ID, user_id="FIworker-17", issue="outcome-42")


def soap_header(header: XRoadHeader = HEADER) -> etree._Element:
    element = etree.Element(SOAP_HEADER_TAG)
    element.extend(build_header(header))
    return element


def field(element: etree._Element, name: str) -> etree._Element:
    found = element.find(f"{{{XRD_NS}}}{name}")
    assert found is not None
    return found


def rejected(element: etree._Element) -> XRoadHeaderError:
    with pytest.raises(XRoadHeaderError) as caught:
        parse_header(element)
    return caught.value


def test_build_lists_the_fields_in_protocol_order() -> None:
    names = [etree.QName(e).localname for e in build_header(HEADER)]

    assert names == ["client", "service", "id", "userId", "issue", "protocolVersion"]


def test_build_marks_a_subsystem_client_and_a_service_by_object_type() -> None:
    element = soap_header()

    assert field(element, "client").get(f"{{{ID_NS}}}objectType") == "SUBSYSTEM"
    assert field(element, "service").get(f"{{{ID_NS}}}objectType") == "SERVICE"
    assert field(element, "service").findtext(f"{{{ID_NS}}}serviceCode") == "findSlots"
    assert field(element, "protocolVersion").text == "4.0"


def test_build_leaves_out_absent_optional_fields() -> None:
    names = [etree.QName(e).localname for e in build_header(replace(HEADER, user_id=None, issue=None))]

    assert names == ["client", "service", "id", "protocolVersion"]


def test_parse_reads_back_what_build_wrote() -> None:
    assert parse_header(soap_header()) == HEADER


def test_member_client_without_subsystem_round_trips() -> None:
    header = replace(HEADER, client=ClientId("FI", "GOV", "0245437-2"))

    parsed = parse_header(soap_header(header))

    assert parsed.client == header.client
    assert field(soap_header(header), "client").get(f"{{{ID_NS}}}objectType") == "MEMBER"


def test_new_header_keeps_the_message_id_the_caller_gives() -> None:
    request_id = uuid.uuid4()

    assert new_header(CLIENT, SERVICE, message_id=request_id).message_id == str(request_id)


def test_new_header_without_message_id_gets_a_fresh_uuid() -> None:
    first, second = new_header(CLIENT, SERVICE), new_header(CLIENT, SERVICE)

    assert first.message_id != second.message_id
    assert uuid.UUID(first.message_id)


@pytest.mark.parametrize("name", ["client", "service", "id", "protocolVersion"])
def test_missing_required_field_is_named(name: str) -> None:
    element = soap_header()
    element.remove(field(element, name))

    error = rejected(element)

    assert (error.field, error.code) == (f"xrd:{name}", "MissingHeaderField")


def test_missing_soap_header_is_rejected() -> None:
    with pytest.raises(XRoadHeaderError) as caught:
        parse_header(None)

    assert (caught.value.field, caught.value.code) == ("soap:Header", "MissingHeader")


def test_unknown_instance_is_rejected_naming_the_client() -> None:
    element = soap_header()
    instance = field(element, "client").find(f"{{{ID_NS}}}xRoadInstance")
    assert instance is not None
    instance.text = "EE"

    error = rejected(element)

    assert (error.field, error.code) == ("xrd:client", "InvalidClientIdentifier")
    assert "EE" not in str(error)


def test_unknown_member_class_is_rejected_naming_the_service() -> None:
    element = soap_header()
    member_class = field(element, "service").find(f"{{{ID_NS}}}memberClass")
    assert member_class is not None
    member_class.text = "PRIV"

    error = rejected(element)

    assert (error.field, error.code) == ("xrd:service", "InvalidServiceIdentifier")


def test_identifier_with_forbidden_characters_is_rejected() -> None:
    element = soap_header()
    subsystem = field(element, "client").find(f"{{{ID_NS}}}subsystemCode")
    assert subsystem is not None
    subsystem.text = "asiakas/ohjaus"

    assert rejected(element).field == "xrd:client"


def test_subsystem_object_type_without_subsystem_code_is_rejected() -> None:
    element = soap_header()
    client = field(element, "client")
    subsystem = client.find(f"{{{ID_NS}}}subsystemCode")
    assert subsystem is not None
    client.remove(subsystem)

    assert rejected(element).code == "InvalidClientIdentifier"


def test_protocol_version_other_than_4_0_is_rejected() -> None:
    element = soap_header()
    field(element, "protocolVersion").text = "3.1"

    error = rejected(element)

    assert (error.field, error.code) == ("xrd:protocolVersion", "InvalidProtocolVersion")


def test_message_id_must_be_a_uuid() -> None:
    element = soap_header()
    field(element, "id").text = "not-a-uuid"

    assert rejected(element).field == "xrd:id"


def test_a_field_given_twice_is_rejected() -> None:
    element = soap_header()
    element.append(build_header(HEADER)[2])

    error = rejected(element)

    assert (error.field, error.code) == ("xrd:id", "DuplicateHeaderField")


def test_other_header_blocks_are_ignored() -> None:
    element = soap_header()
    etree.SubElement(element, "{urn:example:other}trace").text = "x"

    assert parse_header(element) == HEADER


def test_echo_of_the_same_header_passes() -> None:
    check_echo(HEADER, parse_header(soap_header()))


def test_echo_with_another_message_id_names_xrd_id() -> None:
    with pytest.raises(XRoadHeaderError) as caught:
        check_echo(HEADER, replace(HEADER, message_id=str(uuid.uuid4())))

    assert (caught.value.field, caught.value.code) == ("xrd:id", "InconsistentResponse")


def test_echo_with_another_client_names_xrd_client() -> None:
    with pytest.raises(XRoadHeaderError) as caught:
        check_echo(HEADER, replace(HEADER, client=replace(CLIENT, member_code="1234567-1")))

    assert caught.value.field == "xrd:client"


def test_echo_that_drops_the_issue_names_xrd_issue() -> None:
    with pytest.raises(XRoadHeaderError) as caught:
        check_echo(HEADER, replace(HEADER, issue=None))

    assert caught.value.field == "xrd:issue"
