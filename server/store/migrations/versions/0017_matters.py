"""matters: what outlives the visit (办件: 承诺件, 全程代办, 上门服务; PROTOCOL v1.2)

Revision ID: 0017_matters
Revises: 0013_outbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_matters"
down_revision = "0013_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matters",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("owner_counter", sa.String(length=40), nullable=True),
        sa.Column("proxy", sa.Boolean(), nullable=False),
        sa.Column("home_visit", sa.Boolean(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("result_ready_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("applicant_name", sa.String(length=64), nullable=True),
        sa.Column("applicant_phone", sa.String(length=32), nullable=True),
        sa.Column("applicant_id_hash", sa.String(length=64), nullable=True),
        sa.Column("applicant_id_masked", sa.String(length=24), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("result_level", sa.Integer(), nullable=True),
        sa.Column("result_comment", sa.Text(), nullable=True),
        sa.Column("result_rated_at", sa.DateTime(), nullable=True),
        sa.Column("pickup_ticket", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matters")),
        sa.UniqueConstraint("number", name=op.f("uq_matters_number")),
    )
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.create_index("ix_matters_hall_status", ["hall_id", "status", "due_at"], unique=False)
        batch_op.create_index("ix_matters_ticket", ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("matters", schema=None) as batch_op:
        batch_op.drop_index("ix_matters_ticket")
        batch_op.drop_index("ix_matters_hall_status")
    op.drop_table("matters")
