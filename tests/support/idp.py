"""A stand-in OpenID Connect provider on a real socket: discovery, a key set it can rotate, tokens it signs.

Keys are generated per provider (RSA 2048 for RS256, P-256 for ES256). ``down`` makes the key set
answer 503; ``fetches`` counts how often the key set was asked for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.servers import ThreadedServer

AUDIENCE = "asiakasohjaus-gateway"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.algorithms.RSAAlgorithm if self.alg.startswith("RS") else jwt.algorithms.ECAlgorithm
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return jwk | {"kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_key(alg: str = "RS256", kid: str | None = None) -> SigningKey:
    private: PrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if alg == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    return SigningKey(kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", alg, private)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """The header and claims parts of a token, encoded: what a signature signs."""
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())


@dataclass
class TestIdentityProvider:
    __test__ = False  # not a test class, despite the name

    published: list[SigningKey] = field(default_factory=list)
    down: bool = False
    fetches: int = 0
    server: ThreadedServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = ThreadedServer(
            Starlette(
                routes=[
                    Route("/.well-known/openid-configuration", self._discovery),
                    Route("/keys", self._keys),
                ]
            )
        )
        if not self.published:
            self.published = [new_key("RS256"), new_key("ES256")]

    @property
    def issuer(self) -> str:
        return self.server.url

    def publish(self, key: SigningKey) -> SigningKey:
        self.published.append(key)
        return key

    def key(self, alg: str = "RS256") -> SigningKey:
        return next(k for k in self.published if k.alg == alg)

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A machine's claims for the client ``county-crm``, valid for five minutes; ``None`` drops a claim."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "county-crm",
            "azp": "county-crm",
            "scope": "openid outcomes:write outcomes:read",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: SigningKey | None = None, *, headers: dict[str, Any] | None = None, **changes: Any) -> str:
        signer = key or self.key()
        return jwt.encode(
            self.claims(**changes), signer.private, algorithm=signer.alg, headers={"kid": signer.kid, **(headers or {})}
        )

    def unsigned_token(self, **changes: Any) -> str:
        """``alg: none``: no signature at all."""
        return unsigned({"alg": "none", "typ": "JWT", "kid": self.key().kid}, self.claims(**changes)) + "."

    def hmac_with_public_key(self, **changes: Any) -> str:
        """HS256 keyed with the published RSA key's PEM: the classic algorithm confusion attack."""
        key = self.key("RS256")
        signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": key.kid}, self.claims(**changes))
        signature = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + b64url(signature)

    async def _discovery(self, _: Request) -> JSONResponse:
        return JSONResponse({"issuer": self.issuer, "jwks_uri": self.issuer + "/keys"})

    async def _keys(self, _: Request) -> JSONResponse:
        self.fetches += 1
        if self.down:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return JSONResponse({"keys": [k.public_jwk() for k in self.published]})

    def __enter__(self) -> TestIdentityProvider:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
