"""Tickets sent to a named counter read from a partial index (call-next's candidates, their ahead counts).

Revision ID: 0016_sent_index
Revises: 0015_appointments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_sent_index"
down_revision = "0015_appointments"
branch_labels = None
depends_on = None

COLUMNS = ["target_counter", "status", "hall_id", "priority", "order_at", "seq"]
SENT = sa.text("target_counter IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_tickets_sent", "tickets", COLUMNS, unique=False, sqlite_where=SENT, postgresql_where=SENT)


def downgrade() -> None:
    op.drop_index("ix_tickets_sent", table_name="tickets")
