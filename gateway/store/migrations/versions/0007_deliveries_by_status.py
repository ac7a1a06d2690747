"""an index on deliveries by status: queue gauges and operator lists read open rows only

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Delivered and cancelled rows pile up; a scrape of the queue gauges (and an operator's list of
held deliveries) must not read them. With (status, backend, created_at) the open statuses are a
range of the index, and the oldest pending delivery of a back-end is its first entry.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_status_backend_created", "deliveries", ["status", "backend", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_backend_created", "deliveries")
