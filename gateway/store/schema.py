"""The tables. Migrations in ``migrations/versions`` create exactly these (a test compares them).

Personal data lives in few places: ``deliveries.payload``, kept while a delivery needs it and
purged after the retention period; the consent registry (a consent names its consenter for as
long as it is in force); and a booking's request while it is open. Every other table holds
codes, ids, keyed hashes, states and times.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gateway.store.types import JsonType, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("source_system", String(64), nullable=False),
    Column("source_outcome_id", String(128), nullable=False),
    Column("revision", Integer, nullable=False),
    # HMAC of the canonical body under the gateway's secret: recognises a resend without keeping
    # the body, and cannot be reversed to a hetu by guessing.
    Column("fingerprint", String(64), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("contact_date", Date, nullable=False),
    Column("unit", String(64), nullable=False),
    Column("statistics_only", Boolean, nullable=False),
    Column("mapping_version", String(64), nullable=False),
    Column("plan", JsonType, nullable=False),
    Column("response", JsonType, nullable=False),
    # Unique: the revisions of one source outcome form one chain, never a fork.
    Column("supersedes", String(36), ForeignKey("outcomes.id"), nullable=True, unique=True),
    # The outcome's anonymous statistics event: the link lives here, not in the event, so that a
    # correction can replace the event and retention can cut the link, leaving the event anonymous.
    Column("statistics_event_id", BigInteger().with_variant(Integer, "sqlite"), nullable=True),
    # What planning read from the outcome, minus everything personal (no hetu, name, phone, free
    # text, birth date): a new mapping version is dry-run against these to show which plans change.
    Column("planning_facts", JsonType, nullable=True),
    UniqueConstraint("source_system", "source_outcome_id", "revision"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("outcome_id", String(36), ForeignKey("outcomes.id"), nullable=True, index=True),
    # A delivery about a consent itself (registering it with Kela, a FHIR Consent) names it here.
    Column("origin_consent_id", String(36), nullable=True, index=True),
    # HMAC of the client's hetu: matches deliveries held for consent to a consent that arrives later.
    Column("client_key", String(64), nullable=True, index=True),
    Column("action_key", String(128), nullable=False),
    Column("backend", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("payload", JsonType, nullable=True),
    Column("payload_digest", String(64), nullable=False),
    Column("document_version", Integer, nullable=False, server_default="1"),
    Column("supersedes", String(36), ForeignKey("deliveries.id"), nullable=True),
    Column("consent_party", String(32), nullable=True),
    Column("consent_categories", JsonType, nullable=True),
    Column("consent_id", String(36), nullable=True),
    Column("status", String(24), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    # When the attempt in flight was claimed (its real start, should its worker die).
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("backend_refs", JsonType, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("purged_at", UtcDateTime, nullable=True),
    # A delivery held for consent is cancelled at this moment if no consent has arrived.
    Column("expires_at", UtcDateTime, nullable=True),
    # The retry budget is time: when the current run of transient failures began, and how much of
    # the budget it has spent (attempts made while the back-end's circuit was open spend nothing).
    Column("failing_since", UtcDateTime, nullable=True),
    Column("retry_spent_seconds", Float, nullable=False, server_default="0"),
    Index("ix_deliveries_claim", "backend", "status", "next_attempt_at"),
    Index("ix_deliveries_status_backend_created", "status", "backend", "created_at"),
    UniqueConstraint("outcome_id", "action_key"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("worker", String(64), nullable=False),
    # Indexed: the operators' back-end health reads the last minutes of attempts.
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("duration_ms", Integer, nullable=False),
    Column("result", String(16), nullable=False),
    Column("backend_status", String(64), nullable=True),
    Column("message", Text, nullable=True),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("outcome_id", String(36), ForeignKey("outcomes.id"), nullable=False, index=True),
    Column("action_key", String(128), nullable=True),
    Column("rule_id", String(64), nullable=False),
    Column("applies_to", String(32), nullable=False),
    Column("due", Date, nullable=False),
    Column("description", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    # A supervisor's mark that the hand-over was dealt with in time (or at all): it leaves the open list.
    Column("met_at", UtcDateTime, nullable=True),
    Column("met_by", String(128), nullable=True),
)

statistics_events = Table(
    "statistics_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("contact_date", Date, nullable=False, index=True),
    Column("unit", String(64), nullable=False),
    Column("main_reason", String(64), nullable=False),
    Column("additional_reasons", JsonType, nullable=False),
    Column("contacted_by", String(32), nullable=False),
    Column("authority_kind", String(32), nullable=True),
    Column("channel", String(32), nullable=False),
    Column("ended_how", JsonType, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("led_to_client_relationship", Boolean, nullable=False),
    Column("anonymous", Boolean, nullable=False),
    # Day granularity: an exact time could be matched back to the outcome that made the event.
    Column("recorded_on", Date, nullable=False),
)

disclosures = Table(
    "disclosures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", String(36), ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("outcome_id", String(36), nullable=True),
    Column("backend", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("consent_id", String(36), nullable=True),
    Column("disclosed_at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    # HMAC of the client's hetu: answers "who received my data" without storing the hetu.
    Column("subject_key", String(64), nullable=True, index=True),
    # Tamper evidence: each row's hash covers its fields and the previous row's hash.
    Column("prev_hash", String(64), nullable=True),
    Column("row_hash", String(64), nullable=True),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("accessed_at", UtcDateTime, nullable=False, index=True),
    Column("client_id", String(36), nullable=False),
    Column("client_name", String(128), nullable=False),
    # The token's name or the identity provider's subject; ``user`` is the person, when known.
    Column("actor", String(128), nullable=False),
    Column("user", String(128), nullable=True),
    Column("purpose", String(200), nullable=True),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("subject_key", String(64), nullable=True, index=True),
    Column("route", String(200), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

# Where each audit chain now starts, once retention has deleted its oldest rows: the hash of the
# last deleted row (the first remaining row must link to it) and its id. Without it a deleted head
# of the chain could not be told from a retention sweep.
audit_anchors = Table(
    "audit_anchors",
    metadata,
    Column("chain", String(32), primary_key=True),
    Column("anchor_hash", String(64), nullable=False),
    Column("last_removed_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("removed_rows", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("swept_at", UtcDateTime, nullable=False),
)

# One circuit breaker per back-end, in the database so that every worker process and the console
# see the same state, and N workers make one probe, not N.
backend_circuits = Table(
    "backend_circuits",
    metadata,
    Column("backend", String(16), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("opened_at", UtcDateTime, nullable=True),
    # While open: when one worker may try a probe (half-open); the probe's claim and its expiry.
    Column("probe_at", UtcDateTime, nullable=True),
    Column("probe_owner", String(64), nullable=True),
    Column("probe_expires_at", UtcDateTime, nullable=True),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("last_failure_at", UtcDateTime, nullable=True),
)

# Every operator action on the queues: who, what, when, why, and which deliveries it moved.
operator_actions = Table(
    "operator_actions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("acted_at", UtcDateTime, nullable=False, index=True),
    Column("client_id", String(36), nullable=False),
    Column("client_name", String(128), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("user", String(128), nullable=True),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("selection", JsonType, nullable=False),
    Column("delivery_ids", JsonType, nullable=False),
    Column("moved", Integer, nullable=False),
)

# Mapping sets as versioned configuration: every uploaded set, whole, numbered 1, 2, ...; ``label``
# is the content version an outcome records (declared version + content hash).
mapping_versions = Table(
    "mapping_versions",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("label", String(64), nullable=False, unique=True),
    Column("content", JsonType, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("comment", Text, nullable=True),
)

# Which version plans outcomes now: one row, swapped in one transaction; every process polls it.
mapping_active = Table(
    "mapping_active",
    metadata,
    Column("slot", String(16), primary_key=True),
    Column("number", Integer, ForeignKey("mapping_versions.number"), nullable=False),
    Column("activated_at", UtcDateTime, nullable=False),
)

# Every change to the mappings: who, what, when (loaded, uploaded, activated, rolled back).
mapping_changes = Table(
    "mapping_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("changed_at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("action", String(16), nullable=False),
    Column("number", Integer, ForeignKey("mapping_versions.number"), nullable=False),
    Column("previous_number", Integer, nullable=True),
    Column("comment", Text, nullable=True),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
)

# A source system belongs to exactly one client: only that client's tokens speak for it.
client_systems = Table(
    "client_systems",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("client_id", String(36), ForeignKey("api_clients.id"), nullable=False, index=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("client_id", String(36), ForeignKey("api_clients.id"), nullable=False, index=True),
    Column("scopes", JsonType, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

consents = Table(
    "consents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("client_key", String(64), nullable=False, index=True),
    # Null once a revoked or expired consent is minimised: the audit keeps the rest.
    Column("consenter", JsonType, nullable=True),
    Column("guardian", JsonType, nullable=True),
    Column("parties", JsonType, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("data_categories", JsonType, nullable=False),
    Column("form", String(16), nullable=False),
    Column("form_reference", String(200), nullable=True),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=True),
    Column("status", String(16), nullable=False),
    Column("used_by_delivery", String(36), nullable=True),
    Column("used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revocation_reason", Text, nullable=True),
    Column("recorded_by", JsonType, nullable=False),
    Column("given_at", UtcDateTime, nullable=False),
    Column("source", String(128), nullable=False),
    Column("idempotency_key", String(160), nullable=True, unique=True),
    Column("fingerprint", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("client_id", String(36), nullable=True, index=True),
    Column("minimised_at", UtcDateTime, nullable=True),
)

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("client_key", String(64), nullable=False, index=True),
    Column("consent_id", String(36), nullable=True),
    Column("delivery_id", String(36), nullable=True),
    Column("request", JsonType, nullable=True),
    Column("result", JsonType, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("idempotency_key", String(160), nullable=True, unique=True),
    Column("fingerprint", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("client_id", String(36), nullable=True, index=True),
)
