"""Settings: one pydantic-settings model, read from ``GATEWAY_*`` environment variables.

Nested adapter settings use ``__``: ``GATEWAY_LIFECARE__BASE_URL=https://fhir.example.fi/R4``.
When an adapter has no ``base_url``, ``gateway serve`` runs its simulator beside the gateway.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapters.kanta.settings import KantaSettings
from adapters.kela.settings import KelaSettings
from adapters.lifecare.settings import LifecareSettings
from gateway.mappings import DEFAULT_MAPPINGS_DIR

DEFAULT_CONSENT_WAIT_HOURS = 168
DEFAULT_FAILED_PURGE_HOURS = 336


class WorkerSettings(BaseModel):
    concurrency: int = Field(default=4, ge=1, le=64, description="Deliveries in flight per back-end.")
    poll_seconds: float = Field(default=0.5, gt=0, description="Idle wait between claims when nothing is due.")
    lease_seconds: float = Field(default=60, gt=0, description="A claim older than this is reclaimed.")
    # GATEWAY_WORKER__MAX_ATTEMPTS is gone: the budget is time now. A leftover variable is ignored
    # (unknown settings are), so an old deployment starts and simply gets the horizon below.
    retry_horizon_hours: float = Field(
        default=24,
        gt=0,
        description="Transient failures are retried until a delivery has spent this long failing, then it is held "
        "for an operator. 24 h covers a maintenance night plus a working day at the back-end; a delivery "
        "stuck longer should be in front of an operator the next morning. Time while the back-end's circuit "
        "is open is not spent.",
    )
    base_delay_seconds: float = Field(default=2, gt=0)
    max_delay_seconds: float = Field(default=900, gt=0)
    max_retry_after_seconds: float = Field(default=3600, gt=0, description="Cap on a back-end's Retry-After.")
    circuit_failures: int = Field(
        default=5,
        ge=1,
        description="Consecutive transient failures that open a back-end's circuit (every worker's count together): "
        "a dead back-end gives five within a second at the default concurrency, a healthy one rarely five in a row.",
    )
    circuit_open_seconds: float = Field(
        default=15,
        gt=0,
        description="How long a circuit first stays open before one worker probes: about a back-end's restart.",
    )
    circuit_max_open_seconds: float = Field(
        default=300,
        gt=0,
        description="Cap of the open interval, which doubles after each failed probe: a back-end that comes back "
        "is noticed within five minutes, and a dead one sees about one request per five minutes.",
    )
    # Retention (säilytysajat): the gateway is not a register and keeps personal data only while a
    # delivery needs it. gateway.outbox.retention applies these; each says why its default was chosen.
    purge_after_hours: float = Field(
        default=72,
        ge=0,
        description="Personal payloads of delivered and cancelled deliveries (and closed bookings' copies) are "
        "removed this long after the delivery settled: long enough to answer 'what exactly was sent' "
        "over a weekend, after which the register that received it is the place to ask.",
    )
    failed_purge_after_hours: float = Field(
        default=DEFAULT_FAILED_PURGE_HOURS,
        ge=0,
        description="Personal payloads of failed deliveries (a permanent error) are removed this long after the "
        "failure: two weeks leave an operator time to fix a mapping and replay it across holidays; "
        "later the source system must post the outcome again.",
    )
    consent_wait_hours: float = Field(
        default=DEFAULT_CONSENT_WAIT_HOURS,
        gt=0,
        description="A delivery held for consent whose action has no date of its own (a Kela booking "
        "window ends the wait itself) is cancelled if no consent arrives within this: a week covers "
        "a signed Y100 form reaching the unit, and no personal data waits indefinitely for one.",
    )
    consent_retention_hours: float = Field(
        default=720,
        ge=0,
        description="A revoked, expired or used-up consent keeps its consenter, guardian, form reference and "
        "free text this long (30 days, to answer the client's or Kela's questions about it); then only "
        "what the audit needs is kept (ids, client key, parties, categories, validity, status, times).",
    )
    statistics_link_days: int = Field(
        default=30,
        ge=0,
        description="Whole days after which the link from an outcome to its anonymous statistics event is "
        "cut (a day's events renumbered together): until then a correction replaces the event, after "
        "it the event stays as it was counted.",
    )
    # Käyttöloki and luovutusloki are kept for years: Finnish social and health care practice keeps
    # access and disclosure log data at least 12 years from their creation (Kanta's logs; the client
    # data act 703/2023 as we read it), long enough for a client's request and a supervisor's
    # inquiry about old events. 12 years and 3 leap days; the register keeper may lengthen it.
    audit_retention_days: int = Field(
        default=12 * 365 + 3,
        ge=1,
        description="Access and disclosure log rows older than this many days are deleted (the chain is anchored).",
    )


# Asymmetric signatures only: with a shared secret (HS*) anyone holding the "public" key could mint
# tokens, and ``none`` is no signature at all.
SIGNATURE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class OidcSettings(BaseModel):
    """Access tokens (JWT) of the county's OpenID Connect provider, accepted beside the gateway's own tokens.

    Off while ``issuer`` is unset. A token names an API client (``gateway clients create``) that
    must exist and be enabled; the client's source systems and the token's scopes decide the rest.
    """

    issuer: str | None = Field(default=None, description="The provider's issuer (the 'iss' claim); unset: off.")
    audience: str | None = Field(default=None, description="The 'aud' the gateway's tokens carry; required.")
    jwks_url: str | None = Field(
        default=None,
        description="The provider's key set; unset: 'jwks_uri' of <issuer>/.well-known/openid-configuration.",
    )
    algorithms: list[str] = Field(default=["RS256", "ES256"], min_length=1)
    ca_bundle: str | None = Field(default=None, description="CA bundle of the provider's TLS; unset: system CAs.")
    timeout_seconds: float = Field(default=5, gt=0)
    jwks_cache_seconds: float = Field(default=300, gt=0, description="How long a fetched key set is used as is.")
    jwks_min_refresh_seconds: float = Field(
        default=30, ge=0, description="Least time between fetches: a flood of unknown key ids asks the provider once."
    )
    leeway_seconds: float = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp, nbf and iat.")
    client_claims: list[str] = Field(
        default=["azp", "client_id"], min_length=1, description="Claims naming the API client; the first present wins."
    )
    scope_claims: list[str] = Field(
        default=["scope", "scp"], min_length=1, description="Claims with scopes: a space-separated string or a list."
    )
    scope_prefix: str = Field(
        default="", description="Stripped from the provider's scope names (e.g. 'gateway:'); others are then ignored."
    )
    user_claim: str = Field(default="sub", description="The claim naming the person of a person's token.")
    machine_claim: str | None = Field(
        default=None,
        description="A claim that marks a machine's token (e.g. 'idtyp'), besides 'sub' equal to the client.",
    )
    machine_values: list[str] = Field(default=["app"], description="Values of machine_claim that mean a machine.")

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        refused = sorted(set(algorithms) - SIGNATURE_ALGORITHMS)
        if refused:
            raise ValueError(
                f"not accepted: {', '.join(refused)}; use some of {', '.join(sorted(SIGNATURE_ALGORITHMS))}"
            )
        return algorithms

    @model_validator(mode="after")
    def _audience_with_issuer(self) -> OidcSettings:
        if self.issuer and not self.audience:
            raise ValueError("oidc.audience is required with oidc.issuer: a token for another service must not pass")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)


class WorkerMetricsSettings(BaseModel):
    """Where a worker running on its own (``gateway worker``) exposes its attempt counters and latencies."""

    port: int | None = Field(default=None, ge=1, le=65535, description="Prometheus port; unset: not exposed.")
    host: str = Field(default="127.0.0.1", description="Interface to listen on (0.0.0.0 in a container).")


class StatisticsSettings(BaseModel):
    """The anonymous statistics (``GATEWAY_STATISTICS__*``): see ``gateway.statistics.suppression``."""

    suppression_k: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Counts from 1 to k-1 (and shares and medians of fewer than k events) are never shown: "
        "5 is what Finnish statistics authorities commonly use, so that a figure does not point at a person.",
    )


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the SQLite file and the secret key live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite+aiosqlite:///<data_dir>/gateway.db."
    )
    mappings_dir: Path = DEFAULT_MAPPINGS_DIR
    mappings_poll_seconds: float = Field(
        default=2, gt=0, description="How often every process checks which mapping version is active."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Key for body fingerprints; generated into data_dir when unset."
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    token_cache_seconds: float = Field(
        default=10,
        ge=0,
        description="How long a checked token is trusted without asking the database (revocation lag).",
    )
    booking_wait_seconds: float = Field(
        default=5, gt=0, description="How long a booking request waits for Kela before it is queued (202)."
    )
    clock_skew_seconds: float = Field(
        default=300,
        ge=0,
        description="How far ahead of the gateway's clock a source system's contact and guidance times may be.",
    )
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base of links in API answers.")
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")
    worker: WorkerSettings = WorkerSettings()
    worker_metrics: WorkerMetricsSettings = WorkerMetricsSettings()
    lifecare: LifecareSettings = LifecareSettings()
    kanta: KantaSettings = KantaSettings()
    kela: KelaSettings = KelaSettings()
    oidc: OidcSettings = OidcSettings()
    statistics: StatisticsSettings = StatisticsSettings()

    @property
    def clock_skew(self) -> timedelta:
        return timedelta(seconds=self.clock_skew_seconds)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'gateway.db').resolve()}"
