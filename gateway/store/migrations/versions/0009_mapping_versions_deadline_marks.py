"""mapping sets as versioned configuration; deadline marks; outcomes' non-personal planning facts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mapping_versions",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("content", JSON, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_mapping_versions")),
        sa.UniqueConstraint("label", name=op.f("uq_mapping_versions_label")),
    )
    op.create_table(
        "mapping_active",
        sa.Column("slot", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("activated_at", STAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["number"], ["mapping_versions.number"], name=op.f("fk_mapping_active_number_mapping_versions")
        ),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_mapping_active")),
    )
    op.create_table(
        "mapping_changes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("changed_at", STAMP, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("previous_number", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["number"], ["mapping_versions.number"], name=op.f("fk_mapping_changes_number_mapping_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mapping_changes")),
    )
    op.create_index(op.f("ix_mapping_changes_changed_at"), "mapping_changes", ["changed_at"])
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("met_at", STAMP, nullable=True))
        batch.add_column(sa.Column("met_by", sa.String(128), nullable=True))
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("planning_facts", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("planning_facts")
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_column("met_by")
        batch.drop_column("met_at")
    op.drop_index(op.f("ix_mapping_changes_changed_at"), "mapping_changes")
    op.drop_table("mapping_changes")
    op.drop_table("mapping_active")
    op.drop_table("mapping_versions")
