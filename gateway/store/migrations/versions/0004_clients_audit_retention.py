"""clients own source systems; access and disclosure logs chained; anonymous statistics; expiry

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Tokens created before clients existed are given to one client, ``existing-tokens``, which owns
every source system already seen, so that they keep working; split it with ``gateway clients``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from gateway.audit.chain import GENESIS, row_hash

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
MIGRATED_CLIENT = "existing-tokens"
DISCLOSURE_FIELDS = (
    "delivery_id",
    "outcome_id",
    "backend",
    "kind",
    "legal_basis",
    "consent_id",
    "disclosed_at",
    "actor",
    "subject_key",
)


def upgrade() -> None:
    _clients()
    _audit_logs()
    _retention()


def _clients() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("disabled_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_api_clients_name")),
    )
    op.create_table(
        "client_systems",
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("system", name=op.f("pk_client_systems")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["api_clients.id"], name=op.f("fk_client_systems_client_id_api_clients")
        ),
    )
    op.create_index(op.f("ix_client_systems_client_id"), "client_systems", ["client_id"])
    for table in ("api_tokens", "consents", "bookings"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("client_id", sa.String(36), nullable=True))

    bind = op.get_bind()
    has_data = any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None  # noqa: S608 - fixed names
        for table in ("api_tokens", "consents", "bookings", "outcomes")
    )
    if has_data:
        client_id = str(uuid.uuid4())
        bind.execute(
            sa.text("INSERT INTO api_clients (id, name, created_at) VALUES (:id, :name, :at)"),
            {"id": client_id, "name": MIGRATED_CLIENT, "at": _now(bind)},
        )
        systems = bind.execute(sa.text("SELECT DISTINCT source_system FROM outcomes")).scalars().all()
        for system in systems:
            bind.execute(
                sa.text("INSERT INTO client_systems (system, client_id) VALUES (:system, :client)"),
                {"system": system, "client": client_id},
            )
        for table in ("api_tokens", "consents", "bookings"):
            bind.execute(sa.text(f"UPDATE {table} SET client_id = :client"), {"client": client_id})  # noqa: S608
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("client_id", existing_type=sa.String(36), nullable=False)
        batch.create_foreign_key(batch.f("fk_api_tokens_client_id_api_clients"), "api_clients", ["client_id"], ["id"])
        batch.create_index(batch.f("ix_api_tokens_client_id"), ["client_id"])
    for table in ("consents", "bookings"):
        with op.batch_alter_table(table) as batch:
            batch.create_index(batch.f(f"ix_{table}_client_id"), ["client_id"])


def _audit_logs() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("accessed_at", STAMP, nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("client_name", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("user", sa.String(128), nullable=True),
        sa.Column("purpose", sa.String(200), nullable=True),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("subject_key", sa.String(64), nullable=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_accessed_at"), "access_log", ["accessed_at"])
    op.create_index(op.f("ix_access_log_subject_key"), "access_log", ["subject_key"])
    with op.batch_alter_table("disclosures") as batch:
        batch.add_column(sa.Column("subject_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
        batch.create_index(batch.f("ix_disclosures_subject_key"), ["subject_key"])
    # Disclosures made before the chain existed join it now, in the order they were made.
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE disclosures SET subject_key = "
            "(SELECT client_key FROM deliveries WHERE deliveries.id = disclosures.delivery_id)"
        )
    )
    table = sa.table(
        "disclosures",
        sa.column("id", BIG_ID),
        *(sa.column(name, STAMP if name == "disclosed_at" else sa.String) for name in DISCLOSURE_FIELDS),
    )
    prev = GENESIS
    for row in bind.execute(sa.select(table).order_by(table.c.id)).mappings():
        fields = {name: row[name] for name in DISCLOSURE_FIELDS}
        if isinstance(fields["disclosed_at"], str):
            fields["disclosed_at"] = datetime.fromisoformat(fields["disclosed_at"])
        if fields["disclosed_at"].tzinfo is None:
            fields["disclosed_at"] = fields["disclosed_at"].replace(tzinfo=UTC)
        digest = row_hash(prev, fields)
        bind.execute(
            sa.text("UPDATE disclosures SET prev_hash = :prev, row_hash = :hash WHERE id = :id"),
            {"prev": prev, "hash": digest, "id": row["id"]},
        )
        prev = digest


def _retention() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("expires_at", STAMP, nullable=True))
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("minimised_at", STAMP, nullable=True))
        batch.alter_column("consenter", existing_type=JSON, nullable=True)
    # The link from a statistics event to its outcome moves to the outcome, where retention cuts it.
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("statistics_event_id", BIG_ID, nullable=True))
    op.execute(
        "UPDATE outcomes SET statistics_event_id = "
        "(SELECT id FROM statistics_events WHERE statistics_events.outcome_id = outcomes.id)"
    )
    with op.batch_alter_table("statistics_events") as batch:
        batch.add_column(sa.Column("recorded_on", sa.Date(), nullable=True))
    op.execute("UPDATE statistics_events SET recorded_on = CAST(recorded_at AS DATE)")
    if op.get_bind().dialect.name == "sqlite":  # CAST(text AS DATE) is numeric on SQLite
        op.execute("UPDATE statistics_events SET recorded_on = date(recorded_at)")
    with op.batch_alter_table("statistics_events") as batch:
        batch.alter_column("recorded_on", existing_type=sa.Date(), nullable=False)
        batch.drop_constraint(batch.f("uq_statistics_events_outcome_id"), type_="unique")
        batch.drop_constraint(batch.f("fk_statistics_events_outcome_id_outcomes"), type_="foreignkey")
        batch.drop_column("outcome_id")
        batch.drop_column("recorded_at")


def _now(bind: sa.engine.Connection) -> datetime:
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now


def downgrade() -> None:
    with op.batch_alter_table("statistics_events") as batch:
        batch.add_column(sa.Column("outcome_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("recorded_at", STAMP, nullable=True))
    op.execute(
        "UPDATE statistics_events SET outcome_id = "
        "(SELECT id FROM outcomes WHERE outcomes.statistics_event_id = statistics_events.id)"
    )
    op.execute("DELETE FROM statistics_events WHERE outcome_id IS NULL")
    op.execute("UPDATE statistics_events SET recorded_at = recorded_on")
    with op.batch_alter_table("statistics_events") as batch:
        batch.alter_column("outcome_id", existing_type=sa.String(36), nullable=False)
        batch.alter_column("recorded_at", existing_type=STAMP, nullable=False)
        batch.create_unique_constraint(batch.f("uq_statistics_events_outcome_id"), ["outcome_id"])
        batch.create_foreign_key(
            batch.f("fk_statistics_events_outcome_id_outcomes"), "outcomes", ["outcome_id"], ["id"]
        )
        batch.drop_column("recorded_on")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("statistics_event_id")
    op.execute("DELETE FROM consents WHERE consenter IS NULL")
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("consenter", existing_type=JSON, nullable=False)
        batch.drop_column("minimised_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("disclosures") as batch:
        batch.drop_index(batch.f("ix_disclosures_subject_key"))
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("subject_key")
    op.drop_index(op.f("ix_access_log_subject_key"), "access_log")
    op.drop_index(op.f("ix_access_log_accessed_at"), "access_log")
    op.drop_table("access_log")
    for table in ("consents", "bookings"):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(batch.f(f"ix_{table}_client_id"))
            batch.drop_column("client_id")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_client_id"))
        batch.drop_constraint(batch.f("fk_api_tokens_client_id_api_clients"), type_="foreignkey")
        batch.drop_column("client_id")
    op.drop_index(op.f("ix_client_systems_client_id"), "client_systems")
    op.drop_table("client_systems")
    op.drop_table("api_clients")
