"""anonymous quota: tickets without a kiosk or staff credential, counted per hall, service and day

Revision ID: 0011_anonymous_quota
Revises: 0012_callback_phone
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_anonymous_quota"
down_revision = "0012_callback_phone"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anonymous_quota",
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hall_id", "service_id", "day", name=op.f("pk_anonymous_quota")),
    )


def downgrade() -> None:
    op.drop_table("anonymous_quota")
