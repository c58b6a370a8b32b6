"""The waiting queue read from one index: ahead counts and call-next heads without touching the table.

Revision ID: 0008_queue_index
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0008_queue_index"
down_revision = "0001"
branch_labels = None
depends_on = None

QUEUE = ["hall_id", "status", "service_id", "target_counter", "priority", "order_at", "seq"]


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_queue")
        batch_op.create_index("ix_tickets_waiting", QUEUE, unique=False)
        # the recent average service time: the last finished tickets of one service
        batch_op.create_index("ix_tickets_finished", ["hall_id", "service_id", "status", "finished_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_finished")
        batch_op.drop_index("ix_tickets_waiting")
        batch_op.create_index("ix_tickets_queue", ["hall_id", "status", "service_id", "order_at"], unique=False)
