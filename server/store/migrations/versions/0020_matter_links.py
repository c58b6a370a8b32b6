"""Matters' links (PROTOCOL v1.2): the 领取 ticket names its matter, the receipt's QR link is a matter's own

Revision ID: 0020_matter_links
Revises: 0019_matter_periods
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_matter_links"
down_revision = "0019_matter_periods"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pickup_of", sa.String(length=32), nullable=True))
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("track_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_matters_track_hash", ["track_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.drop_index("ix_matters_track_hash")
        batch_op.drop_column("track_hash")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("pickup_of")
