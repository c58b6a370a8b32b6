"""一次性告知 notices, and a ticket's link to the first visit for the same matter

Revision ID: 0005_notices
Revises: 0004_kiosk_devices
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_notices"
down_revision = "0004_kiosk_devices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("counter_id", sa.String(length=40), nullable=False),
        sa.Column("clerk", sa.String(length=64), nullable=True),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("redeemed_by", sa.String(length=32), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("code", name=op.f("uq_notices_code")),
    )
    op.create_index("ix_notices_ticket", "notices", ["ticket_id"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeat_of", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("repeat_of")
    op.drop_index("ix_notices_ticket", table_name="notices")
    op.drop_table("notices")
