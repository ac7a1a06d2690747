"""revisions of an outcome form one chain; a claim remembers when its attempt started

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Two corrections that both supersede the same revision would fork the chain: at most one may.
    with op.batch_alter_table("outcomes") as batch:
        batch.create_unique_constraint(batch.f("uq_outcomes_supersedes"), ["supersedes"])
    # When the current attempt was claimed: an attempt abandoned by a dead worker is recorded with
    # the time it really started, in the same transaction that reclaims it.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claimed_at", STAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_at")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_constraint(batch.f("uq_outcomes_supersedes"), type_="unique")
