"""print jobs and printer states

Revision ID: 0003_print_jobs
Revises: 0005_notices
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_print_jobs"
down_revision = "0005_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reprint", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("track_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("printed_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
    )
    op.create_index("ix_print_jobs_pending", "print_jobs", ["kiosk_id", "status", "created_at"])
    op.create_index("ix_print_jobs_ticket", "print_jobs", ["ticket_id"])
    op.create_table(
        "printer_states",
        sa.Column("kiosk_id", sa.String(length=40), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("agent_sid", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("kiosk_id", name=op.f("pk_printer_states")),
    )


def downgrade() -> None:
    op.drop_table("printer_states")
    op.drop_index("ix_print_jobs_ticket", table_name="print_jobs")
    op.drop_index("ix_print_jobs_pending", table_name="print_jobs")
    op.drop_table("print_jobs")
