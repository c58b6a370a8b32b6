"""parking (挂起): why a ticket is parked, since when and by which counter (PROTOCOL v1.2)

Revision ID: 0014_parking
Revises: 0018_deliveries
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_parking"
down_revision = "0018_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("park_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("parked_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("parked_counter", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("parked_counter")
        batch_op.drop_column("parked_at")
        batch_op.drop_column("park_kind")
