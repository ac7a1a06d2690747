"""Settings of the Kanta (social care client register archive, SOAP) adapter.

Which values are published and which are modelled: the reference messages (HL7 V3 RCMR messages
a public integration sent to the Kanta *patient* data archive's test environment) publish the
message structure, the HL7 codes (versionCode, trigger events, acceptAckCode) and Kanta's own code
systems. The *social welfare* archive's own identifiers - its device id (the receiver), its message
profile ids - are not public here, so their defaults below are MODELLED: set them from the
archive's interface specification when connecting to a real one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class KantaSettings(BaseModel):
    enabled: bool = True
    wsdl_url: str | None = Field(default=None, description="The archive service's WSDL; unset: the simulator.")
    timeout_seconds: float = Field(default=20, gt=0)
    client_cert: str | None = Field(default=None, description="PEM client certificate (mutual TLS).")
    client_key: str | None = Field(default=None, description="PEM private key of the client certificate.")
    ca_bundle: str | None = Field(default=None, description="CA bundle that signs the archive's certificate.")
    max_response_bytes: int = Field(
        default=4 * 1024 * 1024, gt=0, description="The largest reply (or WSDL) read; a larger one is refused unread."
    )
    # MODELLED: the patient archive's device id is 1.2.246.556.18007.2 (published, in the references);
    # the social welfare archive's is not public here. This default is this product's placeholder.
    archive_device_oid: str = Field(
        default="1.2.246.556.18007.3",
        pattern=r"^[0-2](\.(0|[1-9][0-9]*))+$",
        description="The archive's device id: the receiver of every archive request (modelled default).",
    )
    # MODELLED: the patient archive's messages carry profile ids 1.2.246.777.11.2015.5 and
    # 1.2.246.777.11.2008.10 (published); the social welfare archive's own are not public here.
    profile_ids: tuple[str, ...] = Field(
        default=("1.2.246.777.11.2015.5", "1.2.246.777.11.2008.10"),
        min_length=1,
        description="The message profile ids the archive expects (modelled default: the patient archive's).",
    )
    # The processing code: P production, D development/test (the references, sent to a test
    # environment, carry D). Published code values (HL7 ProcessingID).
    processing_code: str = Field(default="P", pattern="^[DPT]$")
    signing_key: Path | None = Field(
        default=None, description="PEM private key that signs documents; unset: a development key."
    )
    signing_cert: Path | None = Field(
        default=None, description="PEM certificate of signing_key; unset: a development self-signed certificate."
    )
    signing_dir: Path | None = Field(
        default=None,
        description="Where the development key and certificate are generated; unset: a per-user temp folder.",
    )
