"""Rating reason tags and 追评; the complaint case's workflow (verified, resolved or dismissed, by whom).

Revision ID: 0007_track_complaints
Revises: 0003_print_jobs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_track_complaints"
down_revision = "0003_print_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ratings", schema=None) as b:
        b.add_column(sa.Column("tags", sa.Text(), nullable=True))
        b.add_column(sa.Column("followup_level", sa.Integer(), nullable=True))
        b.add_column(sa.Column("followup_comment", sa.Text(), nullable=True))
        b.add_column(sa.Column("followup_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("complaints", schema=None) as b:
        b.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
        b.add_column(sa.Column("verify_note", sa.Text(), nullable=True))
        b.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        b.add_column(sa.Column("answer", sa.Text(), nullable=True))
        b.add_column(sa.Column("handled_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as b:
        for name in ("handled_by", "answer", "closed_at", "verify_note", "verified_at"):
            b.drop_column(name)
    with op.batch_alter_table("ratings", schema=None) as b:
        for name in ("followup_at", "followup_comment", "followup_level", "tags"):
            b.drop_column(name)
