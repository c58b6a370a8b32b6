"""Fewer index pages per issued ticket: every index a new ticket enters is one more page its transaction writes.

- `ix_tickets_day` (hall, day) goes: `uq_tickets_number` (hall, day, number) starts with the same columns.
- `ix_tickets_finished` (hall, service, status, finished_at), which every ticket entered at issue and moved in at
  each change of status, holds the tickets that ended only (`WHERE finished_at IS NOT NULL`): all the
  forecast's recent-services read asks of it. (Not `WHERE status = 'done'`: SQLite then re-prepares every
  statement that compares `status` to a parameter, at every run.)
- The remote tickets' unique keys (phone per service per day, check-in code) hold remote tickets only: NULLs
  never clashed, but every kiosk ticket still entered both.

Revision ID: 0021_lean_ticket_indexes
Revises: 0020_matter_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_lean_ticket_indexes"
down_revision = "0020_matter_links"
branch_labels = None
depends_on = None

FINISHED = sa.text("finished_at IS NOT NULL")
FINISHED_COLUMNS = ["hall_id", "service_id", "status", "finished_at"]
PHONE = sa.text("phone_hash IS NOT NULL")
CODE = sa.text("remote_code IS NOT NULL")
PHONE_COLUMNS = ["hall_id", "issued_service", "day", "phone_hash"]


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tickets_remote_phone", type_="unique")
        batch_op.drop_constraint("uq_tickets_remote_code", type_="unique")
        batch_op.drop_index("ix_tickets_day")
        batch_op.drop_index("ix_tickets_finished")
    op.create_index(
        "ix_tickets_finished", "tickets", FINISHED_COLUMNS, sqlite_where=FINISHED, postgresql_where=FINISHED
    )
    op.create_index(
        "uq_tickets_remote_phone", "tickets", PHONE_COLUMNS, unique=True, sqlite_where=PHONE, postgresql_where=PHONE
    )
    op.create_index("uq_tickets_remote_code", "tickets", ["remote_code"], unique=True, sqlite_where=CODE,
                    postgresql_where=CODE)  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_tickets_remote_code", table_name="tickets")
    op.drop_index("uq_tickets_remote_phone", table_name="tickets")
    op.drop_index("ix_tickets_finished", table_name="tickets")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_finished", FINISHED_COLUMNS, unique=False)
        batch_op.create_index("ix_tickets_day", ["hall_id", "day"], unique=False)
        batch_op.create_unique_constraint("uq_tickets_remote_code", ["remote_code"])
        batch_op.create_unique_constraint("uq_tickets_remote_phone", PHONE_COLUMNS)
