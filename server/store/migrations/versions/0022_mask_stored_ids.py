"""ID card numbers already stored in free text are masked, as the columns now mask what is written to them.

Notes, comments, reasons, a ledger line's detail and a 一次性告知 list of missing items mask an ID number on the way
in (`server/store/models.py`: FreeString, FreeText, FreeJSON; `engine.privacy.mask_ids`), now also one written in
groups. What an earlier version stored is masked here, once, in place. The ledger's lines are rewritten for this
only: a redaction of personal data, each line keeping what it says.

Revision ID: 0022_mask_stored_ids
Revises: 0021_lean_ticket_indexes
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from server.engine.privacy import mask_ids

revision = "0022_mask_stored_ids"
down_revision = "0021_lean_ticket_indexes"
branch_labels = None
depends_on = None

# table: (its key, its free-text columns, those of them that hold JSON)
FREE: dict[str, tuple[str, tuple[str, ...], frozenset[str]]] = {
    "alerts": ("id", ("detail",), frozenset({"detail"})),
    "complaint_appeals": ("complaint_id", ("reason", "decision_note"), frozenset()),
    "complaints": ("id", ("comment", "verify_note", "answer"), frozenset()),
    "counters": ("id", ("away_reason",), frozenset()),
    "ledger": ("id", ("detail",), frozenset({"detail"})),
    "matters": ("id", ("note", "reason", "result_comment"), frozenset()),
    "notices": ("id", ("missing", "note"), frozenset({"missing"})),
    "person_blocks": ("id", ("lift_reason",), frozenset()),
    "ratings": ("id", ("comment", "followup_comment"), frozenset()),
    "tickets": ("id", ("note", "missing"), frozenset({"missing"})),
}
PAGE = 1000


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_ids(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def upgrade() -> None:
    conn = op.get_bind()
    for name, (key, columns, json_columns) in FREE.items():
        table = sa.table(
            name, sa.column(key), *(sa.column(c, sa.JSON() if c in json_columns else sa.Text()) for c in columns)
        )
        last: Any = None
        while True:  # a page at a time, in key order: a year's ledger is not read into memory at once
            query = sa.select(table).order_by(table.c[key]).limit(PAGE)
            if last is not None:
                query = query.where(table.c[key] > last)
            rows = conn.execute(query).mappings().all()
            if not rows:
                break
            for row in rows:
                changed = {c: _masked(row[c]) for c in columns if row[c] is not None and _masked(row[c]) != row[c]}
                if changed:
                    conn.execute(table.update().where(table.c[key] == row[key]).values(**changed))
            last = rows[-1][key]


def downgrade() -> None:
    pass  # what was masked stays masked
