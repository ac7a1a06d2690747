"""an index on attempts.started_at, for each back-end's recent error rate and latency

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_attempts_started_at"), "attempts", ["started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_attempts_started_at"), "attempts")
