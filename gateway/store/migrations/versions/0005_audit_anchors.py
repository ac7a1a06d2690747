"""audit chains remember where they start after a retention sweep (audit_anchors)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A retention sweep deletes the oldest rows of the access and disclosure logs; the row after them
still links to the last deleted row's hash. ``audit_anchors`` keeps that hash per chain, so that
verification can tell a sweep from a deleted head of the chain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
        sa.Column("last_removed_id", BIG_ID, nullable=False),
        sa.Column("removed_rows", BIG_ID, nullable=False),
        sa.Column("swept_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_anchors")),
    )


def downgrade() -> None:
    op.drop_table("audit_anchors")
