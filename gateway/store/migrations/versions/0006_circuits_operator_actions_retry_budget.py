"""circuit breakers per back-end, the operator action log, a retry budget measured in time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "backend_circuits",
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opened_at", STAMP, nullable=True),
        sa.Column("probe_at", STAMP, nullable=True),
        sa.Column("probe_owner", sa.String(64), nullable=True),
        sa.Column("probe_expires_at", STAMP, nullable=True),
        sa.Column("changed_at", STAMP, nullable=False),
        sa.Column("last_success_at", STAMP, nullable=True),
        sa.Column("last_failure_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("backend", name=op.f("pk_backend_circuits")),
    )
    op.create_table(
        "operator_actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("acted_at", STAMP, nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("client_name", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("user", sa.String(128), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("selection", JSON, nullable=False),
        sa.Column("delivery_ids", JSON, nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
    )
    op.create_index(op.f("ix_operator_actions_acted_at"), "operator_actions", ["acted_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("failing_since", STAMP, nullable=True))
        batch.add_column(sa.Column("retry_spent_seconds", sa.Float(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("retry_spent_seconds")
        batch.drop_column("failing_since")
    op.drop_index(op.f("ix_operator_actions_acted_at"), "operator_actions")
    op.drop_table("operator_actions")
    op.drop_table("backend_circuits")
