"""An index for the results rated since a time (the overview's 30-day satisfaction, read every 10 s for every
hall): without it the query read every matter of the hall. Partial on `IS NOT NULL`, like the tickets' (0021).

Revision ID: 0023_matters_rated_index
Revises: 0022_mask_stored_ids
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_matters_rated_index"
down_revision = "0022_mask_stored_ids"
branch_labels = None
depends_on = None

RATED = sa.text("result_rated_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_matters_hall_rated", "matters", ["hall_id", "result_rated_at"], sqlite_where=RATED, postgresql_where=RATED
    )


def downgrade() -> None:
    op.drop_index("ix_matters_hall_rated", table_name="matters")
