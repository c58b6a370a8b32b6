"""kiosk credentials (token kiosk id, enrollment codes, enrolled devices) and idempotent ticket requests

Revision ID: 0004_kiosk_devices
Revises: 0008_queue_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_kiosk_devices"
down_revision = "0008_queue_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kiosk_id", sa.String(length=40), nullable=True))
    op.create_table(
        "kiosk_enrollments",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_enrollments")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_kiosk_enrollments_code_hash")),
    )
    op.create_table(
        "kiosk_devices",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("enrollment_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_devices")),
    )
    op.create_table(
        "ticket_requests",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("sealed_token", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ahead", sa.Integer(), nullable=True),
        sa.Column("est_wait_s", sa.Integer(), nullable=True),
        sa.Column("served_now", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_ticket_requests")),
    )


def downgrade() -> None:
    op.drop_table("ticket_requests")
    op.drop_table("kiosk_devices")
    op.drop_table("kiosk_enrollments")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("kiosk_id")
