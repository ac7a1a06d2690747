"""What an identity provider's verified access token says, mapped to the gateway's terms. Pure: no I/O.

The mapping, claim by claim (names configurable in :class:`gateway.settings.OidcSettings`):

- the **client** is the first present of ``client_claims`` (``azp``, then ``client_id``); it must
  name an API client of the gateway, which is checked against the database elsewhere;
- the **scopes** are the first present of ``scope_claims``: ``scope`` as a space-separated string
  (RFC 8693/9068), ``scp`` as a list (some providers); with ``scope_prefix`` only the prefixed names
  count, prefix removed; whatever the gateway does not know is dropped;
- the token is a **machine's** when ``sub`` equals the client (client-credentials tokens of most
  providers) or ``machine_claim`` has one of ``machine_values`` (e.g. Entra ID's ``idtyp: app``);
  otherwise it is a **person's**, and the person is ``user_claim`` (``sub``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.security.tokens import SCOPES, Principal
from gateway.settings import OidcSettings

# The access log's actor and user columns hold this many characters; a longer value is refused
# rather than cut, since a cut subject could name someone else.
MAX_NAME_LENGTH = 128


class TokenRefused(Exception):
    """A token the gateway does not accept; ``reason`` is a short code for the log, never token content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a verified token claims, before the client is looked up."""

    client: str
    subject: str
    user: str | None  # the person, for a person's token
    scopes: frozenset[str]
    token_ref: str  # jti when present, else the subject
    expires_at: float  # 'exp', seconds since the epoch

    def principal(self, *, client_id: str, client_name: str, systems: frozenset[str]) -> Principal:
        return Principal(
            token_id=f"oidc:{self.token_ref}",
            name=self.user or self.client,
            scopes=self.scopes,
            client_id=client_id,
            client_name=client_name,
            systems=systems,
            user=self.user,
        )


def read_claims(claims: Mapping[str, Any], settings: OidcSettings) -> Claimed:
    """The gateway's reading of a verified token's claims; TokenRefused when they cannot be read."""
    client = client_of(claims, settings.client_claims)
    subject = _name(claims.get("sub"), "bad-subject")
    user = (
        None
        if is_machine(claims, client=client, settings=settings)
        else _name(claims.get(settings.user_claim), "bad-user")
    )
    jti = claims.get("jti")
    return Claimed(
        client=client,
        subject=subject,
        user=user,
        scopes=scopes_of(claims, settings.scope_claims, prefix=settings.scope_prefix),
        token_ref=jti if isinstance(jti, str) and 0 < len(jti) <= MAX_NAME_LENGTH else subject,
        expires_at=float(claims["exp"]),
    )


def client_of(claims: Mapping[str, Any], names: list[str]) -> str:
    """The first present of the client claims."""
    for name in names:
        if claims.get(name) is not None:
            return _name(claims[name], "bad-client-claim")
    raise TokenRefused("no-client-claim")


def scopes_of(claims: Mapping[str, Any], names: list[str], *, prefix: str = "") -> frozenset[str]:
    """The gateway's scopes among the first present scope claim's (string or list); unknown names dropped."""
    for name in names:
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            granted = value.split()
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            granted = value
        else:
            raise TokenRefused("bad-scope-claim")
        if prefix:
            granted = [s.removeprefix(prefix) for s in granted if s.startswith(prefix)]
        return frozenset(granted) & SCOPES.keys()
    return frozenset()


def is_machine(claims: Mapping[str, Any], *, client: str, settings: OidcSettings) -> bool:
    if claims.get("sub") == client:
        return True
    if settings.machine_claim is None:
        return False
    marker = claims.get(settings.machine_claim)
    return isinstance(marker, str) and marker in settings.machine_values


def _name(value: object, reason: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise TokenRefused(reason)
    return value
