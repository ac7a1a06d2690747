"""The document's signature: an XML signature in ``hl7fi:localHeader/hl7fi:signatureCollection``.

Layout, as the reference documents carry it (published, HL7 Finland CDA R2 header): one
``hl7fi:signature`` holding ``signatureDescription`` (code 3 "Järjestelmäallekirjoitus /
perusjärjestelmä", a system signature: the gateway signs as the organisation's system, not as a
person), ``signatureTimestamp`` (an ``ID``) and a ``ds:Signature`` (exclusive C14N, RSA-SHA256,
SHA-256 digests, the certificate in ``KeyInfo``) with two references: the timestamp and the
``structuredBody`` (``ID="OID<document oid>.0"``). The signature sits inside the document it signs
(enveloped in the document), but neither referenced element contains it, so no enveloped-signature
transform is needed, exactly as in the references. The header is not signed (the references do
not sign it either); the body and the signing time are.

Key and certificate: the organisation's, from :class:`adapters.kanta.settings.KantaSettings`
(``signing_key``, ``signing_cert``, PEM paths). Unset, a development identity (an RSA key and a
self-signed certificate) is generated on first use into ``signing_dir`` (default: a per-user
folder in the system's temp directory) and reused after; it is never part of the repository. The
simulator trusts that development certificate unless it is given others.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.kanta import structures as cs
from adapters.kanta.settings import KantaSettings

V3 = "urn:hl7-org:v3"
HL7FI = "urn:hl7finland"
DS = "http://www.w3.org/2000/09/xmldsig#"
DEV_IDENTITY_FILE = "kanta-signing-dev.pem"
DEV_SUBJECT = "asiakasohjaus gateway development signing (not for production)"


class SignatureRefused(Exception):
    """A document whose signature is missing, broken, untrusted or does not match what it signs."""


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """The organisation's signing key and certificate, PEM, and the key loaded once.

    Loading an RSA key checks it, which costs tens of milliseconds: done here once, not per document.
    """

    key_pem: bytes
    cert_pem: bytes
    key: rsa.RSAPrivateKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            # The signature method is RSA-SHA256, as in the references.
            raise ValueError("the signing key must be an RSA key")
        object.__setattr__(self, "key", key)


def body_id(document_oid: str) -> str:
    """The ``structuredBody/@ID`` the signature references (as in the references: ``OID<oid>.0``)."""
    return f"OID{document_oid}.0"


# -- the identity -------------------------------------------------------------------------------------


def load_identity(settings: KantaSettings) -> SigningIdentity:
    """The configured key and certificate, or the development identity (generated on first use)."""
    if settings.signing_key is not None and settings.signing_cert is not None:
        return SigningIdentity(settings.signing_key.read_bytes(), settings.signing_cert.read_bytes())
    if settings.signing_key is not None or settings.signing_cert is not None:
        raise ValueError("kanta.signing_key and kanta.signing_cert are set together or not at all")
    return development_identity(settings.signing_dir or default_signing_dir())


def default_signing_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"asiakasohjaus-kanta-signing-{os.getuid()}"


def development_identity(folder: Path) -> SigningIdentity:
    """The development key and certificate in ``folder``, made there once (the first writer wins)."""
    path = folder / DEV_IDENTITY_FILE
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DEV_SUBJECT)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ) + cert.public_bytes(serialization.Encoding.PEM)
        # Written beside and linked into place: two processes starting together (the worker and the
        # simulator) end with one identity, never a half-written file.
        handle, temporary = tempfile.mkstemp(dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(pem)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    pem = path.read_bytes()
    start = pem.index(b"-----BEGIN CERTIFICATE-----")
    return SigningIdentity(key_pem=pem[:start], cert_pem=pem[start:])


# -- signing and verifying ----------------------------------------------------------------------------


def sign_document(document: etree._Element, identity: SigningIdentity, *, signed_at: datetime) -> None:
    """Add the signature to ``document`` (a ClinicalDocument with a localHeader and a structuredBody)."""
    header = document.find(f"{{{HL7FI}}}localHeader")
    body = document.find(f"{{{V3}}}component/{{{V3}}}structuredBody")
    oid = document.find(f"{{{V3}}}id")
    if header is None or body is None or oid is None:
        raise ValueError("a signed document needs hl7fi:localHeader, structuredBody and id")
    body_ref = body_id(str(oid.get("root")))
    body.set("ID", body_ref)
    suffix = str(oid.get("root")).replace(".", "_")
    collection = _signature_collection(header)
    signature = etree.SubElement(collection, f"{{{HL7FI}}}signature", ID=f"sig1_{suffix}")
    description = etree.SubElement(signature, f"{{{HL7FI}}}signatureDescription")
    for name, value in (
        ("code", cs.SYSTEM_SIGNATURE[0]),
        ("codeSystem", cs.SIGNATURE_TYPE),
        ("codeSystemName", cs.CODE_SYSTEM_NAMES[cs.SIGNATURE_TYPE]),
        ("displayName", cs.SYSTEM_SIGNATURE[1]),
    ):
        description.set(name, value)
    stamp_ref = f"sigt_{suffix}"
    stamp = etree.SubElement(signature, f"{{{HL7FI}}}signatureTimestamp", ID=stamp_ref)
    stamp.text = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    # The references write ds:Signature in the default namespace (lxml-stubs cannot say that).
    signer.namespaces = cast(dict[str, str], {None: DS})
    signed = signer.sign(
        document,
        key=identity.key,
        cert=identity.cert_pem.decode("ascii"),
        reference_uri=[stamp_ref, body_ref],
        id_attribute="ID",
    )
    signed.set("Id", f"sig2_{suffix}")
    signature.append(signed)


def _signature_collection(header: etree._Element) -> etree._Element:
    """``signatureCollection`` at its place in the local header: after recordStatus, before the rest."""
    collection = etree.Element(f"{{{HL7FI}}}signatureCollection")
    before = {"sender", "password", "patientRegistrySpecifier", "patientRegistrySpecifierName", "custodianTypeCode"}
    for index, child in enumerate(header):
        if isinstance(child.tag, str) and etree.QName(child).localname in before:
            header.insert(index, collection)
            return collection
    header.append(collection)
    return collection


def verify_document(document: etree._Element, trusted_certs: list[bytes], *, at: datetime | None = None) -> None:
    """Check the document's signature against ``trusted_certs`` (PEM); :class:`SignatureRefused` if not.

    The certificate must be valid at ``at`` (default: now); an archive checks it when it receives
    the document, and a signed reference from years ago is checked at its own signing time.
    """
    signatures = document.findall(
        f"{{{HL7FI}}}localHeader/{{{HL7FI}}}signatureCollection/{{{HL7FI}}}signature/{{{DS}}}Signature"
    )
    if len(signatures) != 1:
        raise SignatureRefused("the document carries no signature in hl7fi:signatureCollection")
    body = document.find(f"{{{V3}}}component/{{{V3}}}structuredBody")
    oid = document.find(f"{{{V3}}}id")
    expected_body = body_id(str(oid.get("root"))) if oid is not None else ""
    if body is None or body.get("ID") != expected_body:
        raise SignatureRefused("structuredBody does not carry the ID the signature must reference")
    for cert in trusted_certs:
        try:
            results = XMLVerifier().verify(
                document,
                x509_cert=cert.decode("ascii"),
                id_attribute="ID",
                expect_references=2,
                expect_config=SignatureConfiguration(verification_time=at),
            )
        except InvalidDigest:
            raise SignatureRefused("what the signature covers has changed after signing") from None
        except InvalidCertificate:
            raise SignatureRefused("the signing certificate is not valid at the time of checking") from None
        except InvalidSignature:
            continue
        except InvalidInput:
            raise SignatureRefused("the signature is not a well-formed XML signature") from None
        listed = results if isinstance(results, list) else [results]
        referenced = {str(r.signed_xml.get("ID")) for r in listed if r.signed_xml is not None}
        if expected_body not in referenced:
            raise SignatureRefused("the signature does not cover structuredBody")
        return
    raise SignatureRefused("the signature does not verify with a trusted certificate")
