"""reports: stored period reports, job leases, alerts, hall settings, ledger index by kind

Revision ID: 0006_reports
Revises: 0007_track_complaints
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_reports"
down_revision = "0007_track_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "period_reports",
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hall_id", "kind", "period", name=op.f("pk_period_reports")),
    )
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("done_key", sa.String(length=40), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_active", ["hall_id", "cleared_at"], unique=False)
    op.create_table(
        "hall_settings",
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("hall_id", "name", name=op.f("pk_hall_settings")),
    )
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_kind", ["hall_id", "kind", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_kind")
    op.drop_table("hall_settings")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_active")
    op.drop_table("alerts")
    op.drop_table("job_leases")
    op.drop_table("period_reports")
