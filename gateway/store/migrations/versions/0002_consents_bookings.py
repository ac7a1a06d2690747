"""consent registry, bookings; deliveries about consents and matched to clients

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("consenter", JSON, nullable=False),
        sa.Column("guardian", JSON, nullable=True),
        sa.Column("parties", JSON, nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("data_categories", JSON, nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("form_reference", sa.String(length=200), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("used_by_delivery", sa.String(length=36), nullable=True),
        sa.Column("used_at", STAMP, nullable=True),
        sa.Column("revoked_at", STAMP, nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("recorded_by", JSON, nullable=False),
        sa.Column("given_at", STAMP, nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_consents_idempotency_key")),
    )
    op.create_index(op.f("ix_consents_client_key"), "consents", ["client_key"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=True),
        sa.Column("delivery_id", sa.String(length=36), nullable=True),
        sa.Column("request", JSON, nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_bookings_idempotency_key")),
    )
    op.create_index(op.f("ix_bookings_client_key"), "bookings", ["client_key"], unique=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("outcome_id", existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column("origin_consent_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("consent_categories", JSON, nullable=True))
        batch.create_index(batch.f("ix_deliveries_origin_consent_id"), ["origin_consent_id"], unique=False)
        batch.create_index(batch.f("ix_deliveries_client_key"), ["client_key"], unique=False)
    with op.batch_alter_table("disclosures") as batch:
        batch.alter_column("outcome_id", existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("disclosures") as batch:
        batch.alter_column("outcome_id", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index(batch.f("ix_deliveries_client_key"))
        batch.drop_index(batch.f("ix_deliveries_origin_consent_id"))
        batch.drop_column("consent_categories")
        batch.drop_column("client_key")
        batch.drop_column("origin_consent_id")
        batch.alter_column("outcome_id", existing_type=sa.String(length=36), nullable=False)
    op.drop_index(op.f("ix_bookings_client_key"), table_name="bookings")
    op.drop_table("bookings")
    op.drop_index(op.f("ix_consents_client_key"), table_name="consents")
    op.drop_table("consents")
