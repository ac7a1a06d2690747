"""How an identity provider's claims become the gateway's client, scopes and person: the mapping's specification."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from gateway.errors import ConfigurationError
from gateway.security.oidc import build_verifier, looks_like_jwt, refusal_reason
from gateway.security.oidc_claims import TokenRefused, client_of, read_claims, scopes_of
from gateway.settings import OidcSettings

SETTINGS = OidcSettings(issuer="https://idp.example.fi/realms/county", audience="gateway")


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "county-crm", "azp": "county-crm", "scope": "outcomes:write", "exp": 2_000_000_000}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_the_client_is_azp() -> None:
    assert client_of(claims(azp="crm", client_id="other"), ["azp", "client_id"]) == "crm"


def test_the_client_falls_back_to_client_id() -> None:
    assert client_of(claims(azp=None, client_id="crm"), ["azp", "client_id"]) == "crm"


def test_a_token_naming_no_client_is_refused() -> None:
    with pytest.raises(TokenRefused, match="no-client-claim"):
        client_of(claims(azp=None), ["azp", "client_id"])


def test_a_client_claim_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(TokenRefused, match="bad-client-claim"):
        client_of(claims(azp=["crm"]), ["azp"])


def test_scopes_are_read_from_a_space_separated_string() -> None:
    assert scopes_of({"scope": "openid outcomes:write  outcomes:read"}, ["scope", "scp"]) == {
        "outcomes:write",
        "outcomes:read",
    }


def test_scopes_are_read_from_a_list() -> None:
    assert scopes_of({"scp": ["outcomes:read", "profile"]}, ["scope", "scp"]) == {"outcomes:read"}


def test_scopes_the_gateway_does_not_know_are_dropped() -> None:
    assert scopes_of({"scope": "openid admin:everything"}, ["scope"]) == frozenset()


def test_a_scope_prefix_is_stripped_and_unprefixed_names_are_ignored() -> None:
    granted = scopes_of({"scope": "gateway:outcomes:write outcomes:read"}, ["scope"], prefix="gateway:")
    assert granted == {"outcomes:write"}


def test_a_token_without_scopes_has_none() -> None:
    assert scopes_of({}, ["scope", "scp"]) == frozenset()


def test_a_scope_claim_of_another_shape_is_refused() -> None:
    with pytest.raises(TokenRefused, match="bad-scope-claim"):
        scopes_of({"scope": {"outcomes:write": True}}, ["scope"])


def test_a_token_whose_subject_is_its_client_is_a_machines() -> None:
    assert read_claims(claims(), SETTINGS).user is None


def test_a_token_whose_subject_is_someone_else_is_a_persons() -> None:
    claimed = read_claims(claims(sub="worker-7f3a"), SETTINGS)
    assert (claimed.client, claimed.user) == ("county-crm", "worker-7f3a")


def test_a_configured_machine_claim_marks_a_machine_whose_subject_is_not_the_client() -> None:
    settings = SETTINGS.model_copy(update={"machine_claim": "idtyp"})
    assert read_claims(claims(sub="5f1c-object-id", idtyp="app"), settings).user is None
    assert read_claims(claims(sub="5f1c-object-id", idtyp="user"), settings).user == "5f1c-object-id"


def test_the_person_is_read_from_the_configured_claim() -> None:
    settings = SETTINGS.model_copy(update={"user_claim": "preferred_username"})
    assert read_claims(claims(sub="uuid-1", preferred_username="tt-hoitaja"), settings).user == "tt-hoitaja"


def test_a_subject_too_long_for_the_access_log_is_refused_not_cut() -> None:
    with pytest.raises(TokenRefused, match="bad-subject"):
        read_claims(claims(sub="x" * 129), SETTINGS)


def test_a_persons_principal_is_named_for_the_person_and_acts_for_the_client() -> None:
    principal = read_claims(claims(sub="worker-7f3a", jti="j-1"), SETTINGS).principal(
        client_id="c-1", client_name="county-crm", systems=frozenset({"crm"})
    )
    assert (principal.token_id, principal.name, principal.user, principal.client_name) == (
        "oidc:j-1",
        "worker-7f3a",
        "worker-7f3a",
        "county-crm",
    )


def test_a_machines_principal_without_jti_is_named_for_its_subject() -> None:
    principal = read_claims(claims(), SETTINGS).principal(
        client_id="c-1", client_name="county-crm", systems=frozenset()
    )
    assert (principal.token_id, principal.name, principal.user) == ("oidc:county-crm", "county-crm", None)


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["RS256", "HS512"]])
def test_symmetric_and_absent_signatures_cannot_be_configured(algorithms: list[str]) -> None:
    with pytest.raises(ValidationError):
        OidcSettings(issuer="https://idp.example.fi", audience="gateway", algorithms=algorithms)


def test_an_issuer_without_an_audience_cannot_be_configured() -> None:
    with pytest.raises(ValidationError, match="audience"):
        OidcSettings(issuer="https://idp.example.fi")


def test_oidc_is_off_without_an_issuer() -> None:
    assert not OidcSettings().enabled


@pytest.mark.parametrize(
    ("token", "jwt_shaped"),
    [
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", True),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", True),
        ("gwt_abcDEF123-_", False),
        ("a.b", False),
        ("a.b.c.d", False),
        ("a b.c.d", False),
    ],
)
def test_only_three_base64url_parts_go_to_the_identity_provider_path(token: str, jwt_shaped: bool) -> None:
    assert looks_like_jwt(token) is jwt_shaped


def test_every_refusal_has_a_reason_code_and_the_most_specific_wins() -> None:
    assert refusal_reason(jwt.ExpiredSignatureError()) == "expired"
    assert refusal_reason(jwt.InvalidSignatureError()) == "signature"
    assert refusal_reason(jwt.DecodeError()) == "malformed"
    assert refusal_reason(jwt.InvalidTokenError()) == "invalid"


def test_no_verifier_is_built_without_an_issuer() -> None:
    assert build_verifier(OidcSettings()) is None


def test_an_issuer_over_plain_http_to_another_machine_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        build_verifier(OidcSettings(issuer="http://idp.example.fi/realms/county", audience="gateway"))
