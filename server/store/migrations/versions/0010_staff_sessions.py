"""staff_sessions: server-side staff sessions (logout, password change, disabling and idleness end them)

Revision ID: 0010_staff_sessions
Revises: 0017_matters
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_staff_sessions"
down_revision = "0017_matters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_staff_sessions_username", ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_sessions_username")
    op.drop_table("staff_sessions")
