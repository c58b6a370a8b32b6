"""appointments: bookings, slot places and no-show blocks; remote tickets' columns (PROTOCOL v1.2)

Revision ID: 0015_appointments
Revises: 0014_parking
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_appointments"
down_revision = "0014_parking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("share", sa.String(length=6), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("id_masked", sa.String(length=18), nullable=True),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("missed_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_appointments_code")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_slot", ["hall_id", "service_id", "start"], unique=False)
        batch_op.create_index("ix_appointments_status", ["hall_id", "status", "start"], unique=False)
        batch_op.create_index("ix_appointments_id_hash", ["id_hash"], unique=False)
        batch_op.create_index("ix_appointments_phone_hash", ["phone_hash"], unique=False)
    op.create_table(
        "appointment_slots",
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("public_taken", sa.Integer(), nullable=False),
        sa.Column("staff_taken", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("hall_id", "service_id", "start", name=op.f("pk_appointment_slots")),
    )
    op.create_table(
        "person_blocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hall_id", sa.String(length=40), nullable=False),
        sa.Column("service_id", sa.String(length=40), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("id_masked", sa.String(length=18), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=True),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lift_reason", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_blocks")),
    )
    with op.batch_alter_table("person_blocks", schema=None) as batch_op:
        batch_op.create_index("ix_person_blocks_id_hash", ["id_hash"], unique=False)
        batch_op.create_index("ix_person_blocks_phone_hash", ["phone_hash"], unique=False)
        batch_op.create_index("ix_person_blocks_hall", ["hall_id", "until"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appointment_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("appointment_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("remote_code", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("check_in_by", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("near_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_tickets_remote_code"), ["remote_code"])
        batch_op.create_unique_constraint("uq_tickets_remote_phone", ["hall_id", "issued_service", "day", "phone_hash"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tickets_remote_phone", type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_tickets_remote_code"), type_="unique")
        for column in ("near_at", "phone_hash", "phone", "check_in_by", "remote_code", "appointment_at"):
            batch_op.drop_column(column)
        batch_op.drop_column("appointment_id")
    with op.batch_alter_table("person_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_person_blocks_hall")
        batch_op.drop_index("ix_person_blocks_phone_hash")
        batch_op.drop_index("ix_person_blocks_id_hash")
    op.drop_table("person_blocks")
    op.drop_table("appointment_slots")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_phone_hash")
        batch_op.drop_index("ix_appointments_status")
        batch_op.drop_index("ix_appointments_slot")
        batch_op.drop_index("ix_appointments_id_hash")
    op.drop_table("appointments")
