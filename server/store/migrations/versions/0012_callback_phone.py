"""A bad rating's call-back number: the phone the resident left for the supervisor's call-back (optional).

Revision ID: 0012_callback_phone
Revises: 0010_staff_sessions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_callback_phone"
down_revision = "0010_staff_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as b:
        b.add_column(sa.Column("callback_phone", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as b:
        b.drop_column("callback_phone")
