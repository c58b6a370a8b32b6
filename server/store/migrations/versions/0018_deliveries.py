"""outbox_delivery (PROTOCOL v1.2: each outbound event to each receiver); complaint_appeals (申诉); user_halls

Revision ID: 0018_deliveries
Revises: 0011_anonymous_quota
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_deliveries"
down_revision = "0011_anonymous_quota"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_delivery",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_at", sa.DateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_answer", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_delivery")),
        sa.UniqueConstraint("event_id", "target", name="uq_outbox_delivery_event"),
    )
    with op.batch_alter_table("outbox_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_delivery_due", ["status", "next_at"], unique=False)
        batch_op.create_index("ix_outbox_delivery_subject", ["target", "subject", "id"], unique=False)
        batch_op.create_index("ix_outbox_delivery_hall", ["hall_id", "created_at"], unique=False)
    op.create_table(
        "complaint_appeals",
        sa.Column("complaint_id", sa.String(length=32), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaint_appeals")),
    )
    with op.batch_alter_table("complaint_appeals", schema=None) as batch_op:
        batch_op.create_index("ix_complaint_appeals_hall", ["hall_id", "filed_at"], unique=False)
    op.create_table(
        "user_halls",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("username", "hall_id", name=op.f("pk_user_halls")),
    )


def downgrade() -> None:
    op.drop_table("user_halls")
    with op.batch_alter_table("complaint_appeals", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_appeals_hall")
    op.drop_table("complaint_appeals")
    with op.batch_alter_table("outbox_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_delivery_hall")
        batch_op.drop_index("ix_outbox_delivery_subject")
        batch_op.drop_index("ix_outbox_delivery_due")
    op.drop_table("outbox_delivery")
