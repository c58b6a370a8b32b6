"""Matters read by period: accepted in a month (及时办结率) and due in a month (the overdue_matter deductions).

Revision ID: 0019_matter_periods
Revises: 0016_sent_index
"""

from __future__ import annotations

from alembic import op

revision = "0019_matter_periods"
down_revision = "0016_sent_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_matters_hall_accepted", "matters", ["hall_id", "accepted_at"], unique=False)
    op.create_index("ix_matters_hall_due", "matters", ["hall_id", "due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_matters_hall_due", table_name="matters")
    op.drop_index("ix_matters_hall_accepted", table_name="matters")
